"""Multi-turn GRPO on web/shop end to end: configs/web-grpo-cpu.yaml (WebAgent-R1 settings) with a
tiny model and small overrides; every episode runs in real Chromium on its own database copy."""

import argparse
import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("trl", reason="training needs trl (pip install 'agentgym[train]')")

from agentgym.trainers.config import load_config  # noqa: E402

pytestmark = pytest.mark.slow
CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_web_configs_use_webagent_r1_settings():
    for name in ("web-grpo-cpu", "web-grpo-gpu"):
        cfg = load_config(CONFIGS / f"{name}.yaml", build_trl=name.endswith("cpu"))
        assert cfg.env.id.startswith("web/") and cfg.env.max_turns == 15       # 15 steps
        assert cfg.reward.shaping == "none"                                     # the env's binary reward
        assert cfg.env.kwargs["history"] == "diff"         # short context without rewriting history
        assert cfg.trl["beta"] == 0.0 and cfg.trl["epsilon_high"] > cfg.trl["epsilon"]


def test_grpo_trains_on_web_shop(tmp_path):
    from agentgym.trainers.cli import add_parser

    out = tmp_path / "run"
    cfg = yaml.safe_load((CONFIGS / "web-grpo-cpu.yaml").read_text())
    cfg.update(output_dir=str(out), model={"tiny": {"hidden_size": 64, "layers": 2, "vocab_size": 1024}},
               tasks={"split": "seed", "train_seeds": [0, 4], "eval_seeds": [900, 902]},
               rollout={"max_new_tokens": 16, "max_completion_length": 160})
    cfg["env"] = {**cfg["env"], "max_turns": 2, "kwargs": {**cfg["env"]["kwargs"], "max_obs_chars": 400}}
    cfg["trl"] = {**cfg["trl"], "num_generations": 2, "per_device_train_batch_size": 4, "max_steps": 2,
                  "save_steps": 2, "max_completion_length": 160}
    config = tmp_path / "web.yaml"
    config.write_text(yaml.safe_dump(cfg))
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", str(config), "--no-progress"])
    assert args.func(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train"]["steps"] == 2 and summary["before"]["episodes"] == 2 and summary["after"]["episodes"] == 2
    assert summary["before"]["errors"] == 0 and summary["after"]["errors"] == 0, summary
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    trained = [m for m in metrics if "agentgym/success" in m]
    assert len(trained) == 2 and all(m.get("agentgym/errors", 0) == 0 for m in trained), trained
    assert (out / "model" / "config.json").exists()
