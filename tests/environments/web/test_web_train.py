"""Multi-turn GRPO on web/shop end to end: configs/web-grpo-cpu.yaml (WebAgent-R1 settings) with a
tiny model and small overrides; every episode runs in real Chromium on its own database copy."""


import pytest

pytest.importorskip("trl", reason="training needs trl (pip install 'agentgym[train]')")

from agentgym.trainers.config import load_config  # noqa: E402
from train_smoke import CONFIGS, shrunk_config, train_cli  # noqa: E402

pytestmark = pytest.mark.slow


def test_web_configs_use_webagent_r1_settings():
    for name in ("web-grpo-cpu", "web-grpo-gpu"):
        cfg = load_config(CONFIGS / f"{name}.yaml", build_trl=name.endswith("cpu"))
        assert cfg.env.id.startswith("web/") and cfg.env.max_turns == 15       # 15 steps
        assert cfg.reward.shaping == "none"                                     # the env's binary reward
        assert cfg.env.kwargs["history"] == "diff"         # short context without rewriting history
        assert cfg.trl["beta"] == 0.0 and cfg.trl["epsilon_high"] > cfg.trl["epsilon"]


def test_grpo_trains_on_web_shop(tmp_path):
    out = tmp_path / "run"
    cfg = shrunk_config("web-grpo-cpu", out, completion=160)
    cfg["env"] = {**cfg["env"], "max_turns": 2, "kwargs": {**cfg["env"]["kwargs"], "max_obs_chars": 400}}
    summary, trained = train_cli(cfg, tmp_path)
    assert summary["train"]["steps"] == 2 and summary["before"]["episodes"] == 2 and summary["after"]["episodes"] == 2
    assert summary["before"]["errors"] == 0 and summary["after"]["errors"] == 0, summary
    assert len(trained) == 2 and all(m.get("agentgym/errors", 0) == 0 for m in trained), trained
    assert (out / "model" / "config.json").exists()
