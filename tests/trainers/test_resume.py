"""`agentgym train --resume`: the `before` evaluation, the learning-rate schedule, the replay buffer and ARPO's RNG survive."""

import json
import random

import pytest
import torch
import yaml


def _config(tiny_dir, out, max_steps):
    return {"algo": "grpo", "output_dir": str(out), "model": {"path": str(tiny_dir)},
            "env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 2},
            "tasks": {"train_seeds": [0, 50], "eval_seeds": [900, 904]},
            "rollout": {"max_new_tokens": 12, "max_completion_length": 96},
            "replay": {"enabled": True},
            "trl": {"num_generations": 2, "per_device_train_batch_size": 4, "max_steps": max_steps, "save_steps": 1,
                    "learning_rate": 1e-3, "lr_scheduler_type": "linear", "max_completion_length": 96}}


class _Both:
    """Two transformers callbacks as one (train() takes a single metrics callback)."""

    def __init__(self, *callbacks):
        self.callbacks = callbacks

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            for c in self.callbacks:
                getattr(c, name)(*args, **kwargs)
        return call


def test_resume_keeps_before_and_restores_the_lr_schedule(tiny_dir, tmp_path, monkeypatch):
    from agentgym.trainers.config import load_config
    from agentgym.trainers.training import train

    from transformers import TrainerCallback

    from agentgym.trainers import training as run

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    used = {}  # step -> the learning rate the optimizer really applies in that step
    real_metrics_callback = run.metrics_callback

    class RecordLr(TrainerCallback):
        def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
            used[state.global_step + 1] = optimizer.param_groups[0]["lr"]

    monkeypatch.setattr(run, "metrics_callback", lambda path: _Both(real_metrics_callback(path), RecordLr()))
    out = tmp_path / "run"
    first = train(load_config(_config(tiny_dir, out, 2)), progress=False)
    assert "before" in first
    assert (out / "checkpoint-2" / "agentgym_rollout.json").exists()
    resumed = train(load_config(_config(tiny_dir, out, 3)), resume=True, progress=False)
    assert resumed["train"]["steps"] == 3
    assert resumed.get("before") == first["before"], "the resumed summary lost the `before` evaluation"
    assert json.loads((out / "summary.json").read_text())["before"] == first["before"]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    lr = [r["learning_rate"] for r in rows if r.get("step") == 3 and "learning_rate" in r]
    assert lr and lr[0] > 0.0, f"learning rate on the first resumed step: {lr}"
    # the optimizer really applies it: linear decay over 3 steps gives 1e-3 × (3 - 2) / 3 at step 3
    assert used[3] == pytest.approx(1e-3 / 3), used


def test_rollout_state_round_trips_through_a_checkpoint(tmp_path):
    from agentgym.trainers.checkpoint import load_rollout_state, save_rollout_state
    from agentgym.trainers.episodes import EpisodeRecord
    from agentgym.trainers.grpo import AgentRollout
    from agentgym.trainers.schedule import ReplayConfig
    from agentgym.types import Message

    def rollout():
        return AgentRollout("toy/maze", {"size": 2}, max_turns=2, replay=ReplayConfig(enabled=True), seed=3)

    a = rollout()
    win = EpisodeRecord(prompt_ids=[1, 2], completion_ids=[3, 4, 5], logprobs=[-0.1, 0.0, -0.7], env_mask=[1, 0, 1],
                        nodes=[7, 7, 8], reward=1.0, success=True, channels=[{"progress": 1.0}], turns=1,
                        key="[0, null]", messages=[Message.assistant("hi")], shaped=1.1)
    a.replay.update("[0, null]", [win], [1.1])
    a.replay.fill("[0, null]", [win], [0.0])
    a.rng.random()
    save_rollout_state(a, tmp_path)
    b = rollout()
    load_rollout_state(b, tmp_path)
    assert b.rng.random() == a.rng.random()
    (item, reward), = b.replay.store["[0, null]"]
    assert reward == 1.1 and item.logprobs == win.logprobs and item.messages[0].content == "hi"
    assert item.completion_ids == win.completion_ids and item.channels == win.channels and item.replayed
    assert b.replay.replayed == a.replay.replayed == 1
