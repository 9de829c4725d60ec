"""`agentgym train` in a real subprocess: one GRPO bar with its figures instead of TRL's per-step dicts,
warnings in train.log, the no-signal warning with what to do, a short end table naming the files, and
agentgym's README.md + report.html in the run directory (not TRL's model card)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("trl", reason="training needs trl (pip install 'agentgym[train]')")


@pytest.mark.train
def test_train_terminal_run_dir_readme_and_report(tmp_path):
    out = tmp_path / "run"
    cfg = {"algo": "grpo", "output_dir": str(out), "model": {"tiny": {"hidden_size": 32, "layers": 1, "vocab_size": 512}},
           "env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 2},
           "tasks": {"train_seeds": [0, 50], "eval_seeds": [900, 902]},
           "rollout": {"max_new_tokens": 8, "max_completion_length": 64},
           "trl": {"num_generations": 2, "per_device_train_batch_size": 2, "max_steps": 5, "logging_steps": 1,
                   "save_strategy": "no", "max_completion_length": 64}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120"}
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", "train", str(tmp_path / "c.yaml")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = proc.stdout + proc.stderr
    assert "{'loss'" not in shown and "'completions/mean_length'" not in shown  # TRL's per-step dicts
    assert "Warning" not in shown.replace("warning: no learning signal", "")     # FutureWarnings and friends
    assert "GRPO: 100%" in proc.stderr and "5/5" in proc.stderr and "zero-std 1" in proc.stderr
    assert "eval before: 100%" in proc.stderr and "eval after: 100%" in proc.stderr  # one bar per stage
    assert proc.stderr.count("warning: no learning signal for 5 steps") == 1 and "SFT checkpoint" in proc.stderr
    assert "held-out before training" in proc.stdout
    assert f"{out / 'report.html'}" in proc.stdout and f"{out / 'train.log'}" in proc.stdout
    log = (out / "train.log").read_text()
    assert "completions/mean_length" in log and "FutureWarning" in log
    readme = (out / "README.md").read_text()
    assert readme.startswith("# GRPO on toy/maze") and "fine-tuned version" not in readme
    assert "**no learning signal**" in readme
    assert "no learning signal" in (out / "report.html").read_text()
    from agentgym.report import load_run
    from agentgym.report.render import _token_pieces

    run = load_run(out)  # the held-out episodes after training, with their token records
    assert run.groups[0]["episodes"] == 2 and run.episodes["tokens"][0] > 0
    _token_pieces(run)  # decoded with the run's own tokenizer (model/) for the token-mask view
    first = run.trajectories[0]
    assert first["prompt_ids"] and len(first["prompt_pieces"]) == len(first["prompt_ids"])
    assert all(len(t["completion_pieces"]) == len(t["completion_ids"]) for t in first["tokens"])
