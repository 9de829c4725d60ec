"""GRPO with gated rewards on one SWE task, end to end: the example configs validate, a tiny model trains a few steps."""

import json

import pytest

pytest.importorskip("trl", reason="training needs trl (pip install 'agentgym[train]')")

from agentgym.trainers.config import load_config  # noqa: E402
from train_smoke import CONFIGS, shrunk_config, train_cli  # noqa: E402
from agentgym.trainers.gated import episode_outcome, shape_episode  # noqa: E402

from agentgym.environments.swe.rows import load_tasks  # noqa: E402



def test_swe_configs_gate_step_rewards_on_a_submitted_patch():
    cpu = load_config(CONFIGS / "swe-gra-cpu.yaml")
    gpu = load_config(CONFIGS / "swe-gra-gpu.yaml", build_trl=False)
    assert cpu.env.id == gpu.env.id == "swe/tasks" and gpu.env.kwargs["sandbox"] == "docker"
    shaping = cpu.reward.build()
    busy = [{"format": 0.0, "tool_ok": 1.0, "tested": 1.0}] * 6
    # no submit: outcome 0 is below the gate, the busy steps count for nothing
    assert shape_episode(shaping, 0.0, busy + [{"outcome": 0.0}], success=False) == pytest.approx(0.0)
    # a failing non-empty patch opens the gate; a resolved one still outranks it with every step reward
    failed = shape_episode(shaping, 0.1, busy + [{"outcome": 0.1, "tool_ok": 1.0}], success=False)
    resolved = shape_episode(shaping, 1.0, [{"outcome": 1.0, "tool_ok": 1.0}], success=True)
    assert 0.1 < failed < 0.25 and resolved > failed + 0.7
    assert episode_outcome([{"outcome": 0.05}], success=False) == 0.05


def test_grpo_trains_on_one_swe_task(bwrap_backend, tmp_path):
    task = load_tasks(None)[4]  # semverlite-5, a one-line fix
    rows = tmp_path / "one.jsonl"
    rows.write_text(json.dumps(task.to_row()) + "\n")
    out = tmp_path / "run"
    cfg = shrunk_config("swe-gra-cpu", out, completion=96)
    cfg["eval"] = {"before": False, "after": True}
    cfg["env"] = {"id": "swe/tasks", "max_turns": 2,
                  "kwargs": {"tasks": str(rows), "sandbox": bwrap_backend, "max_output_chars": 400}}
    summary, trained = train_cli(cfg, tmp_path)
    assert summary["train"]["steps"] == 2 and summary["after"]["episodes"] == 2
    assert len(trained) == 2 and all(m["agentgym/errors"] == 0 for m in trained if "agentgym/errors" in m)
    assert (out / "model" / "config.json").exists()
