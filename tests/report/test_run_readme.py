"""A train run directory's README.md is agentgym's report (not TRL's model card) and report.html sits next to it."""

from __future__ import annotations

import shutil

from report_fixtures import train_run

from agentgym.report import finish_run


def test_finish_run_replaces_trls_model_card(tmp_path):
    run = train_run(tmp_path / "grpo")
    (run / "README.md").write_text("---\nlibrary_name: transformers\n---\nThis model is a fine-tuned version of [None](...)")
    paths = finish_run(run)
    text = paths["readme"].read_text()
    assert "fine-tuned version of [None]" not in text and text.startswith("# GRPO on toy/maze")
    assert "| before training | 0.0% | 0.0%–7.1% | 50 |" in text
    assert "**no learning signal**" in text and "start from an SFT checkpoint" in text
    assert "`report.html`" in text and paths["report"].exists()


def test_demo_run_lists_its_three_stages(tmp_path, report_runs):
    run = tmp_path / "demo"
    shutil.copytree(report_runs["train"], run)
    import json

    s = json.loads((run / "summary.json").read_text())
    s = {"env": "demo/lamps", "base": s["before"], "sft": {**s["before"], "success_rate": 0.266},
         "grpo": {**s["after"], "success_rate": 0.461, "success_ci95": [0.377, 0.547]}}
    (run / "summary.json").write_text(json.dumps(s))
    text = finish_run(run)["readme"].read_text()
    rows = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ") and "%" in line][1:]
    assert rows == ["| random init", "| after SFT", "| after SFT + GRPO"]
    assert "26.6% before, 46.1% after training" in text
