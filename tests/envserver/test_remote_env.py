"""RemoteEnv implements the Env contract over a real server: families work unchanged (oracle solves,
fork replays identically), runs go through ``agentgym.arun``, dropped connections resume, a
server that is gone or a worker that dies ends the episode as an infra failure, and OpenEnv's
own client drives the same server."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

import agentgym
from agentgym import Message, OraclePolicy
from agentgym.engine import load_trajectories
from agentgym.remote import RemoteEnv, RemoteEnvError, ServerUnreachableError, SessionLostError

from envserver_servers import running_server

FAMILIES = {
    "toy/maze": ({"size": 3}, 0),
    "tools/calc": ({}, 0),
    "search/kb": ({"kb_scale": 0.25}, 0),
    "textworld/cooking": ({"n_games": 2}, 1),   # in a worker process: the engine is not thread-safe
}


@pytest.mark.parametrize("env_id", sorted(FAMILIES))
async def test_families_work_through_the_server_unchanged(env_id):
    env_args, workers = FAMILIES[env_id]
    with running_server(env_id, env_args=env_args, workers=workers, ttl=60) as (url, app):
        local = agentgym.make(env_id, **env_args)
        remote = RemoteEnv(url)
        assert remote.spec.id == env_id and [t.name for t in remote.tools] == [t.name for t in local.tools]
        lf, rf = await local.reset(seed=5), await remote.reset(seed=5)
        assert [m.content for m in rf.messages] == [m.content for m in lf.messages]
        plan = await remote.oracle()
        assert plan, f"{env_id}: the oracle is reachable through the server"
        half = len(plan) // 2
        for action in plan[:half]:
            await remote.step(action)
        twin = await remote.fork()
        for action in plan[half:]:
            a, b = await remote.step(action), await twin.step(action)
            assert [m.content for m in a.messages] == [m.content for m in b.messages]
        assert a.done and a.success and b.success
        assert (await remote.state())["step_count"] == len(plan)
        await twin.close()
        await remote.close()
        await local.close()
        summary = await agentgym.arun(lambda: RemoteEnv(url), OraclePolicy(), episodes=4, concurrency=4,
                                      progress=False)
        assert summary.success_rate == 1.0 and summary.errors == 0
        for _ in range(100):
            if not app.state.manager.sessions:
                break
            await asyncio.sleep(0.05)
        assert app.state.manager.sessions == {}


async def test_dropped_connection_is_resumed_and_the_step_applied_once(maze_server):
    url, app = maze_server
    env = RemoteEnv(url)
    await env.reset(seed=4)
    plan = await env.oracle()
    await env.step(plan[0])
    await env._ws.close()            # the connection drops between calls ...
    await env.step(plan[1])          # ... the next call reconnects to the same session
    env._seq -= 1                    # a step whose reply was lost: retried with the same seq
    await env.step(plan[1])
    state = await env.state()
    assert state["step_count"] == 2 and state["session_id"] == env.session_id
    for action in plan[2:]:
        result = await env.step(action)
    assert result.success
    await env.close()


async def test_server_gone_is_a_clear_infra_error():
    with running_server("toy/maze") as (url, app):
        env = RemoteEnv(url, retries=1)
        await env.reset(seed=0)
    with pytest.raises(SessionLostError, match="could not resume"):
        await env.step(Message.assistant("look"))
    with pytest.raises(ServerUnreachableError, match="no env server answers"):
        RemoteEnv("http://127.0.0.1:9/")
    with pytest.raises(RemoteEnvError, match="starts with http"):
        RemoteEnv("ftp://x")


async def test_expired_session_is_session_lost():
    with running_server("toy/maze", ttl=0.3) as (url, app):
        env = RemoteEnv(url, heartbeat=60)   # no heartbeat within the lease
        await env.reset(seed=0)
        await env._ws.close()
        await asyncio.sleep(1.5)
        with pytest.raises(SessionLostError, match="expired"):
            await env.step(Message.assistant("look"))


async def test_killed_worker_ends_its_episodes_as_infra_errors_and_the_run_goes_on(tmp_path):
    with running_server("toy/maze", env_args={"size": 4}, workers=2, ttl=60) as (url, app):
        host = app.state.host

        class KillOnce:
            """An oracle that kills the worker hosting its session at the first action of episode 0."""
            name = "kill-once"

            def __init__(self):
                self.killed = False

            async def begin_episode(self, env):
                plan = await env.oracle()
                parent = self

                class Actor:
                    async def act(self, messages, tools):
                        if not parent.killed and len(messages) > 3:
                            parent.killed = True
                            os.kill(host.where[env.session_id].proc.pid, signal.SIGKILL)
                        return plan[(len([m for m in messages if m.role == "assistant"]))]
                return Actor()

        summary = await agentgym.arun(lambda: RemoteEnv(url), KillOnce(), episodes=6, concurrency=3,
                                      progress=False, warn_errors=False, infra_retries=0)
        assert summary.episodes == 6
        # the sessions of the killed worker (episodes running there then) fail; every other one succeeds
        assert 1 <= summary.errors <= 3 and round(summary.success_rate * 6) == 6 - summary.errors
        assert summary.terminations.get("infra_error") == summary.errors  # not a policy's failure, not reward 0
        assert "died" in summary.first_error and "killed by signal 9" in summary.first_error
        health = app.state.manager.stats()
        assert health["sessions"] == 0
        # the next session gets a fresh worker
        env = RemoteEnv(url)
        assert (await env.reset(seed=1)).messages and all(host.alive())
        await env.close()
        # with the engine's bounded retry (the default), the lost episodes are replayed with their seeds
        summary = await agentgym.arun(lambda: RemoteEnv(url), KillOnce(), episodes=6, concurrency=3,
                                      progress=False, warn_errors=False, out=tmp_path / "run")
        assert summary.errors == 0 and summary.success_rate == 1.0, summary.first_error
        retried = [t for t in load_trajectories(tmp_path / "run" / "trajectories.jsonl")
                   if t.timings.get("infra_retries")]
        assert retried and all(t.success for t in retried)


async def test_openenv_client_drives_an_agentgym_server(maze_server):
    from openenv.core.generic_client import GenericEnvClient  # agentgym[dev] installs it

    url, app = maze_server
    client = GenericEnvClient(base_url=url)
    async with client:
        first = await client.reset(seed=2)
        assert first.done is False and "maze" in first.observation["messages"][0]["content"]
        env = agentgym.make("toy/maze", size=3)
        await env.reset(seed=2)
        for action in await env.oracle():
            result = await client.step(action.to_openai())
        assert result.done is True and result.reward == 1.0 and result.observation["success"] is True
        state = await client.state()
        assert state["step_count"] == len(await env.oracle())
    for _ in range(100):
        if not app.state.manager.sessions:
            break
        await asyncio.sleep(0.02)
    assert app.state.manager.sessions == {}  # OpenEnv's close message released the session
