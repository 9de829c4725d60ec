"""The CLI refuses nonsense before a run starts: bad numbers, bad env argument values, an oracle that is not there."""

import os
import signal
import subprocess
import sys
import time

import pytest

import agentgym
from agentgym.cli import main
from agentgym.engine import arun
from agentgym.env import ToolEnv
from agentgym.envs.maze import MazeEnv
from agentgym.errors import ConfigError
from agentgym.policies.simple import OraclePolicy
from agentgym.registry import _unregister
from agentgym.testing import StubOpenAIServer
from agentgym.tools import tool


@pytest.mark.parametrize("flag, value, message", [
    ("--episodes", "-5", "--episodes: must be an integer >= 1, got -5"),
    ("--episodes", "0", "--episodes: must be an integer >= 1, got 0"),
    ("--episodes", "two", "--episodes: must be an integer >= 1, got 'two'"),
    ("--concurrency", "0", "--concurrency: must be an integer >= 1, got 0"),
    ("--max-turns", "-2", "--max-turns: must be an integer >= 1, got -2"),
    ("--timeout", "0", "--timeout: must be a number of seconds > 0"),
    ("--timeout", "-1", "--timeout: must be a number of seconds > 0"),
    ("--timeout", "nan", "--timeout: must be a number of seconds > 0"),
    ("--timeout", "inf", "--timeout: must be a number of seconds > 0"),
    ("--retries", "-1", "--retries: must be an integer >= 0, got -1"),
    ("--seed", "-3", "--seed: must be an integer >= 0, got -3"),
    ("--max-tokens", "0", "--max-tokens: must be an integer >= 1, got 0"),
    ("--temperature", "-0.5", "--temperature: must be a number >= 0"),
])
def test_bad_numbers_are_refused_before_anything_runs(flag, value, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["eval", "toy/maze", "--policy", "oracle", f"{flag}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    if flag == "--timeout":
        assert "omit --timeout" in err  # 0 is not a spelling of "no limit"
    assert not (tmp_path / "runs").exists()


def test_zero_retries_is_allowed(tmp_path):
    assert main(["eval", "toy/maze", "--policy", "oracle", "--episodes", "1", "--retries", "0", "--env-arg", "size=2",
                 "--out", str(tmp_path / "r"), "--no-progress"]) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(episodes=0), "episodes must be >= 1"),
    (dict(episodes=-5), "episodes must be >= 1"),
    (dict(seeds=[]), "seeds is empty"),
    (dict(episodes=2, concurrency=0), "concurrency must be >= 1"),
    (dict(episodes=2, timeout=0), "timeout must be > 0"),
    (dict(episodes=2, timeout=-1), "timeout must be > 0"),
    (dict(episodes=2, max_turns=-2), "max_turns must be >= 1"),
    (dict(episodes=2, retries=-1), "retries must be >= 0"),
])
async def test_python_arun_refuses_the_same_values(kwargs, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        await arun("toy/maze", OraclePolicy(), out=tmp_path / "r", progress=False, **kwargs)
    assert not (tmp_path / "r").exists()


def test_bad_env_arg_value_fails_once_before_the_run_dir(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=1", "--episodes", "5", "--out", str(out),
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("maze size must be between 2 and 100") == 1, err
    assert "--env-arg" in err
    assert not out.exists()


async def test_python_bad_env_kwarg_value_fails_before_the_run_dir(tmp_path):
    with pytest.raises(ConfigError, match="maze size must be between 2 and 100"):
        await arun("toy/maze", OraclePolicy(), episodes=3, out=tmp_path / "r", progress=False, env_kwargs={"size": 1})
    assert not (tmp_path / "r").exists()


class NoOracle(ToolEnv):
    """A guessing game whose class never implements oracle()."""

    async def _reset(self, *, seed, task):
        return "Guess a number."

    @tool
    def guess(self, number: int) -> str:
        """Guess.

        Args:
            number: the guess.
        """
        return "lower"


class OracleSaysNone(MazeEnv):
    async def oracle(self):
        return None


@pytest.fixture
def oracle_less_envs():
    agentgym.register("test/no-oracle", NoOracle, max_turns=3, override=True)
    agentgym.register("test/none-oracle", OracleSaysNone, max_turns=3, override=True, kwargs={"size": 2})
    yield
    _unregister("test/no-oracle")
    _unregister("test/none-oracle")


@pytest.mark.parametrize("env_id, message", [
    ("test/no-oracle", "test/no-oracle has no oracle"),
    ("test/none-oracle", "test/none-oracle has no oracle for seed 0"),
])
def test_oracle_policy_on_env_without_oracle_is_refused_before_the_run(env_id, message, oracle_less_envs, tmp_path,
                                                                         capsys):
    out = tmp_path / "r"
    rc = main(["eval", env_id, "--policy", "oracle", "--episodes", "4", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "--policy random" in err, err
    assert not out.exists()
    assert main(["eval", env_id, "--policy", "noop", "--episodes", "1", "--out", str(out), "--no-progress"]) == 0


async def test_python_oracle_without_oracle_is_refused(oracle_less_envs, tmp_path):
    with pytest.raises(ConfigError, match="has no oracle"):
        await arun("test/no-oracle", OraclePolicy(), episodes=2, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_eval_help_shows_defaults():
    out = subprocess.run([sys.executable, "-m", "agentgym.cli", "eval", "--help"], capture_output=True, text=True).stdout
    flat = " ".join(out.split())
    for text in ("default: 8", "default: 10", "default: 4", "default: openai", "--allow-errors"):
        assert text in flat, (text, out)


def _ctrl_c_reaches_it() -> None:
    """The child as a foreground command in a terminal: SIGINT at its default. A test run started in the
    background (`make test &`, nohup) ignores SIGINT, and children inherit that, so Ctrl-C would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupt_names_the_run_directory_and_the_resume_command(tmp_path):
    out = tmp_path / "run"
    with StubOpenAIServer(latency=0.5) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentgym.cli", "eval", "toy/maze", "--model", "stub", "--base-url", server.url,
             "--episodes", "50", "--concurrency", "2", "--out", str(out), "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OPENAI_API_KEY": "x"},
            preexec_fn=_ctrl_c_reaches_it)
        deadline = time.time() + 60
        while time.time() < deadline and len(server.requests) < 2:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"--out {out}" in err and "--resume" in err and "--model stub" in err, err
    assert "Unclosed client session" not in err, err


async def test_absurd_episode_counts_are_refused_before_any_list_is_built(tmp_path):
    with pytest.raises(ConfigError, match="episodes must be >= 1 and <= 1,000,000"):
        await arun("toy/maze", OraclePolicy(), episodes=10**12, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


class CountsTasks:
    """Records how many asyncio tasks exist while episodes are played."""

    name = "counts-tasks"

    def __init__(self):
        self.most = 0

    async def act(self, messages, tools):
        import asyncio

        self.most = max(self.most, len(asyncio.all_tasks()))
        return agentgym.Message.assistant("nothing")


async def test_run_keeps_concurrency_workers_not_one_task_per_episode():
    policy = CountsTasks()
    s = await arun("toy/maze", policy, episodes=300, concurrency=4, max_turns=1, progress=False,
                   env_kwargs={"size": 2})
    assert s.episodes == 300 and s.errors == 0
    assert policy.most <= 4 + 3, policy.most  # the workers, the test's own task and a to_thread helper at most


def test_resume_needs_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "toy/maze", "--policy", "oracle", "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_resume_of_a_directory_without_a_run_says_it_starts_one(tmp_path, capsys):
    out = tmp_path / "typo"
    assert main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=2", "--episodes", "1", "--resume",
                 "--out", str(out), "--no-progress"]) == 0
    assert f"{out} holds no run yet: starting a new one" in capsys.readouterr().err


def test_env_arg_given_twice_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=3", "--env-arg", "size=5"]) == 2
    assert "--env-arg size is given twice (3, then 5)" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_list_with_unknown_tag_says_so(capsys):
    assert main(["list", "--tag", "no-such-tag"]) == 2
    err = capsys.readouterr().err
    assert "no environment has tag or namespace 'no-such-tag'" in err and "toy" in err
