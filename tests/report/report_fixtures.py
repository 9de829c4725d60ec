"""Builders of hand-made run directories for the report tests (a module of its own: test modules
cannot import a conftest by name, every tests/*/conftest.py is the module ``conftest``)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from agentgym.engine import TrajectoryWriter
from agentgym.types import Message, TokenInfo, ToolCall, Trajectory, Usage

DIFF = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG (red pixels), written without any imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def crafted_run(root: Path) -> Path:
    """Three hand-made episodes of a SWE-like env: a diff, a screenshot, token records, an error."""
    root.mkdir(parents=True)
    (root / "shots").mkdir()
    (root / "shots" / "step1.png").write_bytes(tiny_png())
    call = ToolCall(id="call_1", name="submit", arguments=json.dumps({"patch": DIFF}))
    swe = Trajectory(
        episode=0, env_id="swe/tasks", task_id="calc-1", seed=0, model="m",
        messages=[Message.system("fix the bug"), Message.user("add() subtracts"), Message.assistant(tool_calls=[call]),
                  Message.tool("tests pass\n" + DIFF, tool_call_id="call_1", name="submit")],
        rewards=[0.0, 1.0], channels=[{}, {"outcome": 1.0, "format": 0.0}],
        infos=[{}, {"screenshot": "shots/step1.png", "resolved": True}],
        reward=1.0, success=True, turns=1, usage=Usage(prompt_tokens=40, completion_tokens=12))
    tokens = Trajectory(
        episode=1, env_id="swe/tasks", task_id="calc-2", seed=1, model="m",
        messages=[Message.user("go"), Message(role="assistant", content="ok",
                                              tokens=TokenInfo(prompt_ids=[1, 2, 3], completion_ids=[7, 8, 9], logprobs=[-0.1, -0.2, -0.3])),
                  Message.user("again"), Message(role="assistant", content="done",
                                                  tokens=TokenInfo(prompt_ids=[1, 2, 3, 7, 8, 9, 4, 5], completion_ids=[6], logprobs=[-0.5]))],
        rewards=[0.0, 0.0, 0.0], channels=[{}, {}, {}], reward=0.0, success=False, turns=2, termination="max_turns")
    broken = Trajectory(episode=2, env_id="swe/tasks", task_id="calc-3", seed=2, model="m", termination="timeout",
                        error="episode exceeded 5.0 s\n  while the sandbox ran", messages=[Message.user("go")], rewards=[0.0])
    writer = TrajectoryWriter(root / "trajectories.jsonl")
    for t in (swe, tokens, broken):
        writer.write(t)
    writer.close()
    return root


def train_run(root: Path, steps: int = 12) -> Path:
    """A train run whose every group had the same reward (frac_reward_zero_std = 1, loss 0)."""
    root.mkdir(parents=True)
    with open(root / "metrics.jsonl", "w") as f:
        for s in range(1, steps + 1):
            f.write(json.dumps({"step": s, "loss": 0.0, "reward": 0.0, "frac_reward_zero_std": 1.0, "kl": 0.0,
                                "entropy": 2.0 - s / 100, "agentgym/success": 0.0, "agentgym/tool_calls": 3.0}) + "\n")
    ci = [0.0, 0.071]
    (root / "summary.json").write_text(json.dumps({
        "env": "toy/maze", "algo": "grpo", "before": {"episodes": 50, "success_rate": 0.0, "success_ci95": ci,
                                                      "mean_reward": 0.0, "mean_turns": 30, "mean_tool_calls": 30},
        "after": {"episodes": 50, "success_rate": 0.0, "success_ci95": ci, "mean_reward": 0.0, "mean_turns": 30,
                  "mean_tool_calls": 30}}))
    return root
