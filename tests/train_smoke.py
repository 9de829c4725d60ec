"""Short training runs for tests, through the real `agentgym train` command (entry-point plugins included).

    cfg = shrunk_config("web-grpo-cpu", tmp_path / "run", completion=160)   # a shipped config, 2 GRPO steps
    cfg["env"]["max_turns"] = 2
    summary, steps = train_cli(cfg, tmp_path)      # summary.json and the metrics rows of training steps
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from agentgym.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TINY_MODEL = {"tiny": {"hidden_size": 64, "layers": 2, "vocab_size": 1024}}


def shrunk_config(name: str, out: Path, *, completion: int, max_new_tokens: int = 16) -> dict[str, Any]:
    """``configs/<name>.yaml`` cut down to 2 GRPO steps of a tiny model on 2 train and 2 eval seeds."""
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    cfg.update(output_dir=str(out), model=TINY_MODEL,
               tasks={"split": "seed", "train_seeds": [0, 4], "eval_seeds": [900, 902]},
               rollout={"max_new_tokens": max_new_tokens, "max_completion_length": completion})
    cfg["trl"] = {**cfg["trl"], "num_generations": 2, "per_device_train_batch_size": 4, "max_steps": 2,
                  "save_steps": 2, "max_completion_length": completion}
    return cfg


def train_cli(cfg: dict[str, Any], tmp_path: Path, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs ``agentgym train`` on ``cfg`` (asserting exit code 0); returns ``summary.json`` and the
    metrics rows of the training steps."""
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["train", str(path), "--no-progress", *extra]) == 0
    out = Path(cfg["output_dir"])
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return json.loads((out / "summary.json").read_text()), [m for m in metrics if "agentgym/success" in m]
