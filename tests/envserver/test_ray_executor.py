"""The Ray executor on a local Ray instance (num_cpus=2, 127.0.0.1, no dashboard): episodes run on
envs held by Ray actors through ``agentgym.arun`` unchanged; fork works across the actor boundary;
an actor that dies ends its episodes as ``infra_error`` while the run goes on."""

from __future__ import annotations

import ray  # agentgym[ray]

import agentgym
from agentgym import OraclePolicy
from agentgym.executors import RayEnv, RayEnvPool


async def test_episodes_run_on_ray_actors(local_ray):
    pool = RayEnvPool("toy/maze", {"size": 3}, actors=2)
    try:
        summary = await agentgym.arun(pool.factory(), OraclePolicy(), episodes=8, concurrency=4, progress=False)
        assert summary.success_rate == 1.0 and summary.errors == 0
        pids = set(ray.get([a.pid.remote() for a in pool.actors]))
        assert len(pids) == 2 and all(isinstance(p, int) for p in pids)

        env = RayEnv(pool)
        await env.reset(seed=3)
        plan = await env.oracle()
        await env.step(plan[0])
        twin = await env.fork()
        for action in plan[1:]:
            a, b = await env.step(action), await twin.step(action)
            assert [m.content for m in a.messages] == [m.content for m in b.messages]
        assert a.success and b.success
        await twin.close()
        await env.close()
        replies = ray.get([a.handle.remote("state", "gone", {}) for a in pool.actors])
        assert [(ok, p["code"]) for ok, p in replies] == [(False, "SESSION_NOT_FOUND")] * 2
    finally:
        pool.shutdown()


async def test_dead_actor_is_an_infra_error_and_the_run_goes_on(local_ray):
    pool = RayEnvPool("toy/maze", {"size": 2}, actors=2)
    victim = pool.actors[0]

    class KillFirst:
        name = "kill-first"

        def __init__(self):
            self.killed = False

        async def begin_episode(self, env):
            plan = await env.oracle()
            parent = self

            class Actor:
                async def act(self, messages, tools):
                    if not parent.killed and env.actor is victim:
                        parent.killed = True
                        ray.kill(victim)
                    return plan[len([m for m in messages if m.role == "assistant"])]
            return Actor()

    try:
        summary = await agentgym.arun(pool.factory(), KillFirst(), episodes=6, concurrency=2, progress=False,
                                      warn_errors=False, infra_retries=0)
        assert summary.episodes == 6 and summary.errors >= 1
        assert summary.terminations.get("infra_error") == summary.errors
        assert "Ray actor" in summary.first_error
        assert round(summary.success_rate * 6) == 6 - summary.errors  # the other actor's episodes all succeed
    finally:
        pool.shutdown()


def test_the_local_ray_instance_listens_on_loopback_only(local_ray):
    """Ray turns _node_ip_address="127.0.0.1" into the host's routable address unless told otherwise
    (agentgym.executors.init_ray does): every socket its processes listen on must be on loopback."""
    import ipaddress

    import psutil

    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    listening = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(local_ray in part for part in proc.info["cmdline"] or []):
                listening += [c.laddr for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.Error:
            continue
    assert len(listening) >= 2  # GCS and raylet at least
    exposed = [a for a in listening if not ipaddress.ip_address(a.ip.removeprefix("::ffff:")).is_loopback]
    assert exposed == []
