"""Train from saved trajectories: an eval run of a local model already holds every token GRPO needs.

An eval run with :class:`~agentgym.policies.hf.HFPolicy` writes, per episode, the first prompt's
ids and each turn's sampled ids, sampling logprobs and the env tokens after it (``Trajectory.prompt_ids``
/ ``tokens``). :class:`SavedRollout` is a TRL ``rollout_func`` that serves those episodes instead of
sampling: consecutive groups of ``num_generations`` prompts name one seed, and get that seed's saved
episodes (cycled when there are fewer). Failed episodes keep ``error``, so the trainer leaves them out
of the baseline and the loss, as with live rollouts.

    summary = agentgym.run("toy/maze", HFPolicy(model, tok), seeds=[0] * 8 + [1] * 8, out="runs/eval")
    rollout = SavedRollout(load_trajectories("runs/eval/trajectories.jsonl"))
    trainer = make_trainer_class()(model, reward_funcs=[episode_return], args=grpo_args,
                                   train_dataset=rollout.dataset(), processing_class=tok, rollout_func=rollout)
    trainer.train()
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable

from agentgym.types import Trajectory

from .episodes import EpisodeRecord
from .grpo import AgentRollout, parse_task_prompt, task_dataset


class SavedRollout:
    """A ``rollout_func`` replaying saved local-model trajectories, grouped by seed.

    Args:
        trajectories: trajectories with token records (``Trajectory.tokens``), e.g. from
            :func:`agentgym.load_trajectories` on an ``HFPolicy`` eval run.
        max_completion_length: cut completions to this many tokens (default: the trainer's).
    """

    def __init__(self, trajectories: Iterable[Trajectory], *, max_completion_length: int | None = None):
        self.by_seed: dict[int | None, list[Trajectory]] = {}
        for t in trajectories:
            if not t.tokens:
                raise ValueError(f"episode {t.episode} (seed {t.seed}) has no token records: train from a run of a "
                                 "local policy (HFPolicy), whose trajectories carry prompt_ids and tokens")
            self.by_seed.setdefault(t.seed, []).append(t)
        if not self.by_seed:
            raise ValueError("no trajectories to train from")
        self._cycles = {seed: itertools.cycle(ts) for seed, ts in self.by_seed.items()}
        self.max_completion_length = max_completion_length
        self.last_records: list[EpisodeRecord] = []
        self.last_nodes: list[list[int]] | None = None

    def dataset(self):
        """One task prompt per saved seed (TRL repeats each ``num_generations`` times)."""
        return task_dataset(sorted(s for s in self.by_seed if s is not None))

    def __call__(self, prompts: list, trainer: Any) -> dict[str, list]:
        budget = self.max_completion_length or trainer.max_completion_length
        pad = getattr(trainer.processing_class, "pad_token_id", None) or 0
        records = []
        for prompt in prompts:
            seed, _ = parse_task_prompt(prompt)
            if seed not in self._cycles:
                raise ValueError(f"no saved trajectory for seed {seed}: saved seeds are {sorted(self._cycles)}")
            traj = next(self._cycles[seed]).model_copy(deep=True)  # token_view may mark a cut as max_length
            records.append(EpisodeRecord.of(traj, key=str(seed), pad_id=pad, max_completion_length=budget))
        self.last_records = records
        for name, value in AgentRollout.metrics(records).items():
            trainer._log_metric(f"agentgym/{name}", value)
        return AgentRollout.to_trl(records)


__all__ = ["SavedRollout"]
