"""A run never lies about errors: the summary, the CLI's exit status and agentgym.run all name them."""

import json
import logging

import pytest

import agentgym
from agentgym.cli import main
from agentgym.engine import arun
from agentgym.envs.maze import MazeEnv
from agentgym.policies.simple import NoopPolicy, OraclePolicy
from agentgym.registry import _unregister
from agentgym.summary import summarize
from agentgym.types import Trajectory


class FlakyMaze(MazeEnv):
    """A maze whose reset fails on odd seeds, as an env bug or a dead sandbox would."""

    async def _reset(self, *, seed, task):
        if seed % 2:
            raise RuntimeError(f"flaky reset on seed {seed}")
        return await super()._reset(seed=seed, task=task)


@pytest.fixture
def flaky_env():
    agentgym.register("test/flaky-maze", FlakyMaze, max_turns=10, override=True, kwargs={"size": 2})
    yield "test/flaky-maze"
    _unregister("test/flaky-maze")


def test_eval_exits_nonzero_naming_count_and_first_error(flaky_env, tmp_path, capsys):
    rc = main(["eval", flaky_env, "--policy", "oracle", "--episodes", "4", "--out", str(tmp_path / "r"), "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "2 of 4 episodes errored" in err and "flaky reset on seed 1" in err, err
    assert "--allow-errors" in err and "--resume" in err and str(tmp_path / "r") in err
    first_lines = "\n".join(out.splitlines()[:2])
    assert "2 of 4 episodes errored" in first_lines and "flaky reset on seed 1" in first_lines, out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["errors"] == 2 and summary["errored_episodes"] == [1, 3]


def test_allow_errors_exits_zero_but_still_reports(flaky_env, tmp_path, capsys):
    rc = main(["eval", flaky_env, "--policy", "oracle", "--episodes", "4", "--out", str(tmp_path / "r"),
               "--no-progress", "--allow-errors"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "2 of 4 episodes errored" in out.splitlines()[0] and "2 of 4 episodes errored" in err


def test_clean_run_has_no_error_lines(tmp_path, capsys):
    assert main(["eval", "toy/maze", "--policy", "oracle", "--episodes", "3", "--env-arg", "size=2",
                 "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "errored" not in out and "errored" not in err


def test_python_run_warns_naming_errored_episodes_and_first_error(flaky_env, caplog):
    with caplog.at_level(logging.WARNING, logger="agentgym"):
        s = agentgym.run(flaky_env, OraclePolicy(), episodes=4, concurrency=2, progress=False)
    assert s.errors == 2 and s.errored_episodes == [1, 3] and "flaky reset on seed 1" in s.first_error
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "\n" not in warnings[0]  # one line
    assert "2 of 4 episodes errored" in warnings[0] and "1, 3" in warnings[0]
    assert "flaky reset on seed 1" in warnings[0]


async def test_clean_python_run_warns_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="agentgym"):
        s = await arun("toy/maze", OraclePolicy(), episodes=2, progress=False, env_kwargs={"size": 2})
    assert s.errors == 0 and s.errored_episodes == [] and not caplog.records


def test_table_leads_with_errors_and_first_error():
    trajs = [Trajectory(episode=0, env_id="e", seed=0, termination="done", success=True),
             Trajectory(episode=1, env_id="e", seed=1, termination="error", error="ValueError: bad\n  File x.py"),
             Trajectory(episode=2, env_id="e", seed=2, termination="max_turns")]
    lines = summarize(trajs, env="e", model="m").table().splitlines()
    assert "1 of 3 episodes errored" in lines[0] and "episode 1" in lines[0]
    assert "ValueError: bad" in lines[1]


def test_table_labels_interval_and_terminations():
    trajs = [Trajectory(episode=i, env_id="e", seed=i, termination="done", success=True) for i in range(20)]
    table = summarize(trajs, env="e", model="m").table()
    assert "95% CI" in table
    assert "done=20" not in table and "20 done" in table, table


async def test_noop_run_summary_names_max_turns_as_a_count():
    s = await arun("toy/maze", NoopPolicy(), episodes=2, progress=False, max_turns=2, env_kwargs={"size": 2})
    assert "2 max_turns" in s.table() and "errored" not in s.table()
