"""``agentgym.run(..., workers=N)`` / ``agentgym eval --workers N``: episodes spread over processes,
one run directory, the same per-seed results as one process; a killed worker's episodes are
``infra_error`` (or replayed) while the run goes on."""

import asyncio
import json
import multiprocessing
import os
import signal

import pytest

import agentgym
from agentgym.cli import main
from agentgym.engine import arun, load_trajectories
from agentgym.envs.maze import MazeEnv
from agentgym.errors import ConfigError
from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.simple import OraclePolicy
from agentgym.registry import _unregister
from agentgym.stub_server import StubOpenAIServer


def _per_seed(trajs):
    """What an episode did, seed by seed (tool-call ids and timings aside)."""
    out = {}
    for t in trajs:
        actions = [[(c.name, c.arguments) for c in m.tool_calls or []] for m in t.messages if m.role == "assistant"]
        out[t.seed] = (t.episode, t.termination, t.turns, t.reward, t.success, t.rewards, t.channels, actions,
                       [m.content for m in t.messages if m.role != "assistant"])
    return out


def _summary(out):
    data = json.loads((out / "summary.json").read_text())
    data.pop("wall_time", None)
    data.pop("episodes_per_s", None)
    data.pop("cpu_s", None)
    return data


async def test_oracle_over_two_workers_equals_one_process_and_resumes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    s1 = await arun("toy/maze", OraclePolicy(), episodes=6, concurrency=3, out=one, progress=False,
                    env_kwargs={"size": 4})
    s2 = await arun("toy/maze", OraclePolicy(), episodes=4, concurrency=3, out=two, progress=False,
                    env_kwargs={"size": 4}, workers=2)
    assert s2.episodes == 4
    s2 = await arun("toy/maze", OraclePolicy(), episodes=6, concurrency=3, out=two, progress=False,
                    env_kwargs={"size": 4}, workers=2, resume=True)  # resume: episodes 4 and 5 only
    assert s1.success_rate == 1.0 and s2.episodes == 6
    lines = (two / "trajectories.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["episode"] for x in lines) == list(range(6))  # one file, each episode once
    assert _per_seed(load_trajectories(one / "trajectories.jsonl")) == _per_seed(load_trajectories(two / "trajectories.jsonl"))
    summary_one, summary_two = _summary(one), _summary(two)
    assert summary_one == summary_two
    assert json.loads((two / "config.json").read_text())["resumes"][0]["workers"] == 2


async def test_openai_policy_over_two_workers_gives_the_same_episodes(tmp_path):
    with StubOpenAIServer(deterministic=True) as server:
        runs = {}
        for workers in (1, 2):
            out = tmp_path / f"w{workers}"
            policy = OpenAIPolicy("stub", base_url=server.url)
            s = await arun("toy/maze", policy, episodes=6, concurrency=4, max_turns=5, out=out, progress=False,
                           env_kwargs={"size": 3}, workers=workers)
            assert s.errors == 0
            runs[workers] = _per_seed(load_trajectories(out / "trajectories.jsonl"))
        assert len(server.requests) == 2 * sum(v[2] for v in runs[1].values())  # every turn asked the server once
    assert runs[1] == runs[2]
    assert sum(v[2] for v in runs[1].values()) > 6  # the stub really played (several turns per episode)


class DyingMaze(MazeEnv):
    """A maze whose worker process dies (SIGKILL) at the first step of seed 2, once per marker file.

    In the run's own process (which plays while the workers start) it never dies, and it steps slowly,
    so the episodes from seed 2 on go to the workers."""

    def __init__(self, marker: str = "", **kwargs):
        super().__init__(**kwargs)
        self.marker = marker

    async def step(self, action):
        if multiprocessing.parent_process() is None:
            await asyncio.sleep(1.0)
        elif self.seed == 2 and self.marker and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return await super().step(action)


class WhereMaze(MazeEnv):
    """A maze that records the pid of the process playing it (first info) and steps in 0.3 s."""

    async def reset(self, *, seed=None, task=None):
        first = await super().reset(seed=seed, task=task)
        first.info["pid"] = os.getpid()
        return first

    async def step(self, action):
        await asyncio.sleep(0.3)
        return await super().step(action)


async def test_this_process_plays_while_the_workers_start_then_hands_over(tmp_path):
    agentgym.register("test/where-maze", WhereMaze, kwargs={"size": 3}, override=True)
    try:
        s = await arun("test/where-maze", OraclePolicy(), episodes=10, concurrency=2, out=tmp_path, progress=False,
                       workers=2)
    finally:
        _unregister("test/where-maze")
    assert s.errors == 0 and s.success_rate == 1.0
    pids = {t.episode: t.infos[0]["pid"] for t in load_trajectories(tmp_path / "trajectories.jsonl")}
    assert pids[0] == pids[1] == os.getpid()  # no waiting for the workers to start
    assert set(pids.values()) - {os.getpid()}  # and the workers took over once ready
    assert pids[9] != os.getpid()


@pytest.fixture
def dying_env():
    agentgym.register("test/dying-maze", DyingMaze, kwargs={"size": 3}, override=True)
    yield "test/dying-maze"
    _unregister("test/dying-maze")


@pytest.mark.parametrize("infra_retries", [0, 1])
async def test_a_killed_worker_ends_its_episode_as_infra_error_and_the_run_goes_on(tmp_path, dying_env, infra_retries):
    out = tmp_path / "run"
    marker = tmp_path / "killed-once"
    s = await arun(dying_env, OraclePolicy(), episodes=5, concurrency=2, out=out, progress=False, workers=2,
                   env_kwargs={"marker": str(marker)}, infra_retries=infra_retries, warn_errors=False)
    assert marker.exists()  # a worker really died
    trajs = {t.seed: t for t in load_trajectories(out / "trajectories.jsonl")}
    assert sorted(trajs) == [0, 1, 2, 3, 4]
    if infra_retries == 0:  # one episode in flight per worker: only seed 2's is lost
        assert trajs[2].termination == "infra_error" and trajs[2].cause == "worker"
        assert "killed by signal 9" in trajs[2].error
        assert s.errors == 1 and s.errored_episodes == [2]
    else:  # replayed on a fresh worker
        assert trajs[2].termination == "done" and trajs[2].success
        assert trajs[2].timings["infra_retries"] == 1.0
        assert s.errors == 0
    assert all(trajs[k].success for k in (0, 1, 3, 4))


async def test_workers_refuse_what_cannot_reach_a_process(tmp_path):
    with pytest.raises(ConfigError, match="does not pickle"):
        await arun(lambda: MazeEnv(size=2), OraclePolicy(), episodes=2, workers=2, progress=False)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
            await arun("toy/maze", OraclePolicy(), episodes=2, workers=bad, progress=False)
    assert not list(tmp_path.iterdir())


def test_cli_eval_workers(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["eval", "toy/maze", "--policy", "oracle", "--episodes", "4", "--workers", "2", "--no-progress",
                 "--env-arg", "size=3", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    trajs = load_trajectories(out / "trajectories.jsonl")
    assert sorted(t.episode for t in trajs) == [0, 1, 2, 3] and all(t.success for t in trajs)
    assert json.loads((out / "config.json").read_text())["workers"] == 2
    capsys.readouterr()
    assert main(["eval", "toy/maze", "--policy", "oracle", "--workers", "2", "--executor", "ray",
                 "--out", str(tmp_path / "x")]) != 0
    assert "--workers spreads local envs" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_openai_policy_pickles_settings_not_its_client():
    import pickle

    policy = OpenAIPolicy("m", base_url="http://127.0.0.1:1/v1", temperature=0.5, max_tokens=7)
    policy.context_length, policy._context_known = 4096, True
    copy = pickle.loads(pickle.dumps(policy))
    assert (copy.model, copy.base_url, copy.sampling, copy.context_length) == ("m", "http://127.0.0.1:1/v1",
                                                                              {"temperature": 0.5, "max_tokens": 7}, 4096)
    assert copy._client is None and copy._openai is None  # the direct transport needs no SDK where the copy runs
    url, headers = copy.wire_spec()
    assert url == "http://127.0.0.1:1/v1/" and headers["Authorization"] == "Bearer not-needed"
    sdk = pickle.loads(pickle.dumps(OpenAIPolicy("m", base_url="http://127.0.0.1:1/v1", transport="httpx")))
    assert sdk._openai is policy._sdk


def test_a_worker_on_the_direct_transport_does_not_import_the_sdk():
    import pickle
    import subprocess
    import sys

    blob = pickle.dumps(OpenAIPolicy("m", base_url="http://127.0.0.1:1/v1"))
    code = ("import pickle, sys; p = pickle.loads(sys.stdin.buffer.read()); "
            "print(p.wire_spec()[0], 'openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, check=True)
    assert out.stdout.decode().split() == ["http://127.0.0.1:1/v1/", "False"]


def test_a_script_without_a_main_guard_runs_once_with_workers(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text("import agentgym\nfrom agentgym.policies.simple import OraclePolicy\nprint('ran', flush=True)\n"
                      "s = agentgym.run('toy/maze', OraclePolicy(), episodes=4, concurrency=2, progress=False, "
                      "workers=2, env_kwargs={'size': 3})\nprint(s.success_rate, s.episodes)\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ran", "1.0", "4"]  # the workers did not re-run the script
