"""Rollout state that lives outside TRL's checkpoint: the replay buffer and the rollout's RNG (ARPO branching).

TRL/transformers checkpoints hold the model, optimizer, scheduler and the torch/numpy/python RNGs;
an :class:`~agentgym.trainers.grpo.AgentRollout` also keeps a replay buffer of past successes and its
own ``random.Random`` (ARPO's branching coin). Both go to ``checkpoint-N/agentgym_rollout.json`` so
``--resume`` continues the same run.

    callback = RolloutStateCallback(rollout)          # writes the file into every checkpoint
    load_rollout_state(rollout, "runs/x/checkpoint-40")   # before trainer.train(resume_from_checkpoint=...)
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from agentgym.types import Message, Trajectory

from .episodes import EpisodeRecord

STATE_FILE = "agentgym_rollout.json"
STATE_VERSION = 1


def _record_to_json(record: EpisodeRecord) -> dict[str, Any]:
    skip = ("messages", "trajectory")
    data = {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name not in skip}
    data["messages"] = [m.model_dump(mode="json", exclude_none=True) for m in record.messages]
    if record.trajectory is not None:
        data["trajectory"] = record.trajectory.model_dump(mode="json")
    return data


def _record_from_json(data: dict[str, Any]) -> EpisodeRecord:
    """Reads what :func:`_record_to_json` wrote (checkpoints of earlier versions too: no trajectory, old terminations)."""
    data = dict(data)
    messages = [Message.model_validate(m) for m in data.pop("messages", [])]
    traj = data.pop("trajectory", None)
    if data.get("termination") == "error":
        data["termination"] = "infra_error"
    known = {f.name for f in dataclasses.fields(EpisodeRecord)}
    return EpisodeRecord(**{k: v for k, v in data.items() if k in known}, messages=messages,
                         trajectory=Trajectory.model_validate(traj) if traj is not None else None)


def rollout_state(rollout: Any) -> dict[str, Any]:
    """The JSON-able state of ``rollout``: RNG, and the replay buffer when it has one."""
    version, internal, gauss = rollout.rng.getstate()
    state: dict[str, Any] = {"version": STATE_VERSION, "rng": [version, list(internal), gauss], "replay": None}
    if getattr(rollout, "replay", None) is not None:
        state["replay"] = {"replayed": rollout.replay.replayed,
                           "store": {key: [[_record_to_json(item), reward] for item, reward in kept]
                                     for key, kept in rollout.replay.store.items()}}
    return state


def save_rollout_state(rollout: Any, directory: str | os.PathLike) -> Path:
    """Writes ``directory/agentgym_rollout.json`` atomically; returns its path."""
    path = Path(directory) / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rollout_state(rollout)))
    tmp.replace(path)
    return path


def load_rollout_state(rollout: Any, directory: str | os.PathLike) -> bool:
    """Restores what :func:`save_rollout_state` wrote (False when the checkpoint has no such file)."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return False
    state = json.loads(path.read_text())
    version, internal, gauss = state["rng"]
    rollout.rng.setstate((version, tuple(internal), gauss))
    replay = state.get("replay")
    if replay is not None and getattr(rollout, "replay", None) is not None:
        rollout.replay.replayed = replay["replayed"]
        rollout.replay.store.clear()
        for key, kept in replay["store"].items():
            for item, reward in kept:
                rollout.replay.store.setdefault(key, _new_deque(rollout)).append((_record_from_json(item), reward))
    return True


def _new_deque(rollout: Any):
    import collections

    return collections.deque(maxlen=rollout.replay.config.capacity)


def rollout_state_callback(rollout: Any):
    """A transformers callback saving the rollout state into each ``checkpoint-N`` TRL writes."""
    from transformers import TrainerCallback

    class RolloutStateCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            directory = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if directory.is_dir() and state.is_world_process_zero:
                save_rollout_state(rollout, directory)

    return RolloutStateCallback()


def lr_schedule_callback():
    """A transformers callback that re-applies the LR schedule at the resumed step.

    A checkpoint stores the optimizer's last learning rate; resuming with a longer ``max_steps`` (or any
    schedule that ended at 0) would run the first resumed step at that stale rate (0.0 after a linear
    decay). This sets every parameter group to ``base_lr × schedule(step)`` of the *current* schedule.
    """
    from transformers import TrainerCallback

    class LrScheduleOnResume(TrainerCallback):
        def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
            lambdas = getattr(lr_scheduler, "lr_lambdas", None)
            if state.global_step == 0 or optimizer is None or lambdas is None:
                return
            step = lr_scheduler.last_epoch
            lrs = [base * fn(step) for base, fn in zip(lr_scheduler.base_lrs, lambdas)]
            for group, lr in zip(optimizer.param_groups, lrs):
                group["lr"] = lr
            lr_scheduler._last_lr = lrs

    return LrScheduleOnResume()


__all__ = ["save_rollout_state", "load_rollout_state", "rollout_state", "rollout_state_callback",
           "lr_schedule_callback", "STATE_FILE"]
