"""ScalingInter-RL horizon schedule and the ARPO-GUI replay buffer for all-failed groups.

    horizon = HorizonSchedule(rounds=[4, 8, 12], every=50)
    horizon.max_turns(step=120)       # -> 12; a pure function of the global step, so resume-safe

    replay = ReplayBuffer(capacity=8, min_reward=0.1)
    replay.add(key, record)            # keeps successes per task, FIFO
    group = replay.fill(key, group, rewards)   # replaces one rollout of an all-failed group

Replayed rollouts are trained against their stored sampling logprobs (:func:`replay_old_logprobs`);
the buffer is saved with every checkpoint (``trainers/checkpoint.py``).
"""

from __future__ import annotations

import collections
import statistics
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class HorizonSchedule(BaseModel):
    """``stage = min(step // every, len(rounds) - 1)``; ``max_turns = rounds[stage]``."""

    model_config = ConfigDict(extra="forbid")

    rounds: list[PositiveInt] = Field(min_length=1)   # each <= the env's max_turns (checked by the config loader)
    every: int = Field(gt=0)

    def max_turns(self, step: int) -> int:
        return self.rounds[min(max(step, 0) // self.every, len(self.rounds) - 1)]


class ReplayConfig(BaseModel):
    """YAML section ``replay`` (ARPO-GUI defaults)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    capacity: int = Field(8, ge=1)
    min_reward: float = 0.1      # a success worth keeping
    max_std: float = 0.05        # a group counts as all-failed when std < max_std ...
    max_mean: float = 0.2        # ... and mean < max_mean


class ReplayBuffer:
    """Per-task FIFO of successful rollouts, used to rescue groups whose rewards are all ~0."""

    def __init__(self, config: ReplayConfig | None = None):
        self.config = config or ReplayConfig(enabled=True)
        self.store: dict[str, collections.deque] = {}
        self.replayed = 0

    def add(self, key: str, item: Any, reward: float) -> None:
        """Keeps ``item`` when ``reward > min_reward``; an item already buffered (a replayed one) is not re-added."""
        if reward <= self.config.min_reward:
            return
        kept = self.store.setdefault(key, collections.deque(maxlen=self.config.capacity))
        if any(item is old for old, _ in kept):
            return
        kept.append((item, reward))

    def fill(self, key: str, group: list[Any], rewards: list[float]) -> tuple[list[Any], list[float]]:
        """Returns the group with its first rollout replaced by the newest buffered success when all failed.

        The replayed item gets ``item.replayed = True``: an older policy sampled it, so the trainer uses its
        stored sampling logprobs as the old policy's (:func:`replay_old_logprobs`), not the current policy's.
        """
        if not group or not self.store.get(key):
            return group, rewards
        std = statistics.pstdev(rewards) if len(rewards) > 1 else 0.0
        if std < self.config.max_std and statistics.fmean(rewards) < self.config.max_mean:
            item, reward = self.store[key][-1]
            try:
                item.replayed = True
            except AttributeError:  # a plain value (tests): nothing to mark
                pass
            self.replayed += 1
            return [item, *group[1:]], [reward, *rewards[1:]]
        return group, rewards

    def update(self, key: str, group: Sequence[Any], rewards: Sequence[float]) -> None:
        """Buffers the group's successes (after :meth:`fill`: the replayed rollout is already in the buffer)."""
        for item, r in zip(group, rewards):
            self.add(key, item, r)


def replay_old_logprobs(output: dict[str, Any], replayed: Sequence[bool]) -> int:
    """Makes replayed rows of a TRL batch use their stored sampling logprobs as ``old_per_token_logps``.

    TRL's ratio is ``exp(logp_now - logp_old)``; without ``old_per_token_logps`` it takes the current
    policy's, a ratio of 1 — wrong for a rollout an older policy sampled. Fresh rows keep TRL's old
    logprobs when it computed them, else their own sampling logprobs (the same policy). Returns the
    number of replayed rows.
    """
    import torch

    n = sum(bool(r) for r in replayed)
    sampling = output.get("sampling_per_token_logps")
    if not n or sampling is None or len(replayed) != sampling.shape[0]:
        return 0
    old = output.get("old_per_token_logps")
    rows = torch.tensor([bool(r) for r in replayed], device=sampling.device).unsqueeze(1)
    output["old_per_token_logps"] = torch.where(rows, sampling, sampling if old is None else old)
    return n


__all__ = ["HorizonSchedule", "ReplayConfig", "ReplayBuffer", "replay_old_logprobs"]
