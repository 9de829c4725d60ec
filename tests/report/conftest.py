"""Run directories for the report tests: real eval runs (toy/maze, oracle vs random), a run with
SWE-style diffs, a recorded screenshot and token records, and a train run with no learning signal."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import crafted_run, tiny_png, train_run

import agentgym
from agentgym.policies.simple import OraclePolicy, RandomPolicy


@pytest.fixture
def png():
    """``tiny_png`` as a fixture (test modules cannot import a conftest by name)."""
    return tiny_png


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    runs = {"random": base / "maze-random", "oracle": base / "maze-oracle"}
    agentgym.run("toy/maze", RandomPolicy(seed=0), episodes=12, concurrency=4, out=runs["random"], progress=False,
                 warn_errors=False)
    agentgym.run("toy/maze", OraclePolicy(), episodes=12, concurrency=4, out=runs["oracle"], progress=False)
    runs["crafted"] = crafted_run(base / "crafted")
    runs["train"] = train_run(base / "train")
    return runs
