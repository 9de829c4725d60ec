"""The engine: rollouts, run directories, retries, resume, concurrency and the live progress bar."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import agentgym
from agentgym import Message
from agentgym.errors import ConfigError
from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.simple import NoopPolicy, OraclePolicy, RandomPolicy
from agentgym.engine import arun, load_trajectories, rollout
from agentgym.testing import StubOpenAIServer


async def test_oracle_solves_and_noop_does_not():
    traj = await rollout(agentgym.make("toy/maze"), OraclePolicy(), seed=4)
    assert traj.success and traj.termination == "done" and traj.reward == 1.0
    assert traj.turns == len(traj.rewards) - 1 and traj.task_id == "maze-4-4"
    noop = await rollout(agentgym.make("toy/maze", max_turns=5), NoopPolicy(), seed=4)
    assert not noop.success and noop.termination == "max_turns" and noop.turns == 5
    assert noop.channel_totals()["format"] == -5


async def test_run_writes_run_directory(tmp_path):
    s = await arun("toy/maze", RandomPolicy(seed=1), episodes=12, concurrency=4, out=tmp_path, progress=False,
                   env_kwargs={"size": 2})
    trajs = load_trajectories(tmp_path / "trajectories.jsonl")
    assert sorted(t.episode for t in trajs) == list(range(12))
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("env", "model", "episodes", "success_rate", "success_ci95", "mean_reward", "mean_turns", "errors", "channels"):
        assert key in summary
    assert summary["episodes"] == 12 and summary["success_rate"] == s.success_rate == sum(t.success for t in trajs) / 12
    lo, hi = summary["success_ci95"]
    assert 0 <= lo <= s.success_rate <= hi <= 1
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"size": 2}
    with pytest.raises(ConfigError, match="resume"):
        await arun("toy/maze", RandomPolicy(), episodes=1, out=tmp_path, progress=False)


class ForgetfulOracle(OraclePolicy):
    """The oracle on odd-numbered episodes, an empty plan (so a failure) on even ones."""

    def __init__(self):
        self.n = 0

    async def begin_episode(self, env):
        self.n += 1
        scripted = await super().begin_episode(env)
        if self.n % 2 == 0:
            scripted.plan = []
        return scripted


def _bar_lines(err):
    """The states tqdm drew on stderr (it redraws with carriage returns)."""
    return [ln for ln in err.replace("\r", "\n").split("\n") if "ep" in ln]


async def test_progress_bar_shows_done_total_success_and_rate(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # tqdm would cut the postfix to the terminal width
    monkeypatch.delenv("LINES", raising=False)
    s = await arun("toy/maze", OraclePolicy(), episodes=5, concurrency=2, progress=True, env_kwargs={"size": 2})
    bars = _bar_lines(capsys.readouterr().err)
    assert bars, "progress=True drew no bar on stderr"
    final = bars[-1]
    assert s.success_rate == 1.0
    assert "5/5" in final and "success 1.00" in final and "errors 0" in final and "tools " in final, final
    assert re.search(r"ep/s \d+\.\d\d", final) and re.search(r"\d+(\.\d+)?ep/s", final), final

    s = await arun("toy/maze", ForgetfulOracle(), episodes=4, concurrency=1, max_turns=8, progress=True,
                   env_kwargs={"size": 2})
    final = (_bar_lines(capsys.readouterr().err) or [""])[-1]
    assert s.success_rate == 0.5 and "4/4" in final and "success 0.50" in final, final

    await arun("toy/maze", OraclePolicy(), episodes=2, progress=False, env_kwargs={"size": 2})
    assert capsys.readouterr().err == ""


async def test_progress_bar_counts_resumed_episodes(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    await arun("toy/maze", OraclePolicy(), episodes=3, out=tmp_path, progress=False, env_kwargs={"size": 2})
    await arun("toy/maze", OraclePolicy(), episodes=5, out=tmp_path, resume=True, progress=True,
               env_kwargs={"size": 2})
    bars = _bar_lines(capsys.readouterr().err)
    assert bars and "3/5" in bars[0] and "5/5" in bars[-1], bars  # starts at the 3 already done


class Exploding:
    name = "exploding"

    async def act(self, messages, tools):
        if len(messages) > 4:
            raise RuntimeError("model crashed")
        return Message.assistant("x")


class Slow:
    name = "slow"

    async def act(self, messages, tools):
        await asyncio.sleep(10)


async def test_failures_are_recorded_not_raised(tmp_path):
    s = await arun("toy/maze", Exploding(), episodes=3, out=tmp_path, progress=False)
    assert s.errors == 3 and "model crashed" in s.first_error
    t = await rollout(agentgym.make("toy/maze"), Slow(), seed=0, timeout=0.2)
    assert t.termination == "timeout" and "0.2" in t.error


@pytest.mark.parametrize("transport", ["direct", "aiohttp", "httpx"])
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_retries_transient_errors_then_succeeds(status, transport):
    with StubOpenAIServer(fail_first=3, fail_status=status) as server:
        policy = OpenAIPolicy("stub", base_url=server.url, transport=transport)
        assert policy.transport == transport
        t = await rollout(agentgym.make("toy/maze", max_turns=2), policy, seed=0)
        assert t.termination == "max_turns" and t.error is None
        assert len(server.requests) == 3 + 2
        assert t.usage.completion_tokens == 16
        sent = server.requests[-1]
        assert sent["tools"][1]["function"]["name"] == "move"
        assert sent["messages"][2]["tool_calls"][0]["type"] == "function"
        await policy.aclose()


async def test_timeouts_are_retried_then_reported():
    with StubOpenAIServer(latency=2.0) as server:
        policy = OpenAIPolicy("stub", base_url=server.url, timeout=0.2)
        t = await rollout(agentgym.make("toy/maze", max_turns=2), policy, seed=0, retries=1)
        assert t.termination == "policy_error" and "gave up after 2 attempts" in t.error and "Timeout" in t.error
        assert len(server.requests) == 2
        await policy.aclose()


@pytest.mark.parametrize("transport", ["direct", "aiohttp", "httpx"])
def test_one_policy_serves_several_blocking_runs(transport):
    with StubOpenAIServer() as server:
        policy = OpenAIPolicy("stub", base_url=server.url, transport=transport)
        for _ in range(2):  # each agentgym.run has its own event loop and closes the policy at the end
            s = agentgym.run("toy/maze", policy, episodes=2, max_turns=2, progress=False)
            assert s.errors == 0 and s.episodes == 2
        assert len(server.requests) == 8


def test_default_transport_and_bad_transport():
    assert OpenAIPolicy("m", base_url="http://127.0.0.1:1/v1").transport == "direct"  # agentgym depends on openai[aiohttp]
    with pytest.raises(ConfigError, match="transport must be one of auto, direct, aiohttp, httpx"):
        OpenAIPolicy("m", base_url="http://127.0.0.1:1/v1", transport="curl")


async def test_fatal_http_error_is_not_retried():
    with StubOpenAIServer(fail_first=10, fail_status=401) as server:
        t = await rollout(agentgym.make("toy/maze"), OpenAIPolicy("stub", base_url=server.url), seed=0)
        assert t.termination == "policy_error" and "401" in t.error and len(server.requests) == 1


async def test_unreachable_base_url_is_refused_then_errored_episodes_resume(tmp_path):
    from agentgym.testing import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ConfigError, match=rf"cannot connect to {dead}: connection refused"):
        await arun("toy/maze", OpenAIPolicy("stub", base_url=dead), episodes=3, out=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # refused before anything was written
    with StubOpenAIServer(fail_first=6, fail_status=500) as server:  # answers, then fails 3 episodes x 2 attempts
        s = await arun("toy/maze", OpenAIPolicy("stub", base_url=server.url), episodes=3, out=tmp_path,
                       progress=False, retries=1, max_turns=2, concurrency=1)
        assert s.errors == 3 and f"InternalServerError from {server.url}" in s.first_error
        s2 = await arun("toy/maze", OpenAIPolicy("stub", base_url=server.url), episodes=3, out=tmp_path,
                        progress=False, resume=True, max_turns=2)
    assert s2.errors == 0 and s2.episodes == 3
    path = tmp_path / "trajectories.jsonl"
    every = load_trajectories(path, latest=False)  # nothing is lost: the failed attempts stay in the file
    assert sum(t.is_error for t in every) == 3 and len(every) == 6
    latest = load_trajectories(path)  # but each episode reads back once, as its redone record
    assert sorted(t.episode for t in latest) == [0, 1, 2] and not any(t.error for t in latest)


def test_missing_api_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match="MY_KEY"):
        OpenAIPolicy("gpt", api_key_env="MY_KEY")


async def test_concurrency_is_bounded_and_reached():
    with StubOpenAIServer(latency=0.3) as server:
        s = await arun("toy/maze", OpenAIPolicy("stub", base_url=server.url), episodes=12, concurrency=4,
                       max_turns=3, progress=False)
    assert s.errors == 0 and len(server.requests) == 36
    assert server.max_in_flight == 4  # never more than `concurrency`, and the engine does overlap requests


KILL_SCRIPT = """
import asyncio, sys, agentgym
from agentgym import Message

class SlowOracle(agentgym.OraclePolicy):
    async def begin_episode(self, env):
        inner = await super().begin_episode(env)
        class P:
            name = "oracle"
            async def act(self, messages, tools):
                await asyncio.sleep(0.05)
                return await inner.act(messages, tools)
        return P()

asyncio.run(agentgym.arun("toy/maze", SlowOracle(), episodes=40, concurrency=4, out=sys.argv[1],
                          resume=True, progress=False, env_kwargs={"size": 2}))
"""


def test_resume_after_kill_redoes_nothing_and_loses_nothing(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, str(script), str(out)])
    path = out / "trajectories.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not path.exists() or len(path.read_bytes().splitlines()) < 8):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with open(path, "ab") as f:
        f.write(b'{"schema_version": 1, "episode": 39, "env_')  # a torn line, as if killed mid-write
    first = {t.episode: t.model_dump_json() for t in load_trajectories(path)}
    assert 8 <= len(first) < 40
    subprocess.run([sys.executable, str(script), str(out)], check=True, timeout=120)
    final = load_trajectories(path)
    episodes = [t.episode for t in final]
    assert sorted(episodes) == list(range(40))  # each exactly once
    for t in final:  # the finished ones were kept as they were
        if t.episode in first:
            assert t.model_dump_json() == first[t.episode]
    assert all(t.success for t in final)
    assert json.loads((out / "summary.json").read_text())["episodes"] == 40
