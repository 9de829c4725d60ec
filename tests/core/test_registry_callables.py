"""Envs registered as callables (lambdas, partials) are found through ``registry.factory(id)`` —
their ``entry_point`` string names no importable attribute — and unseeded runs record the seed drawn."""

import functools

import pytest

import agentgym
from agentgym.envs.maze import MazeEnv
from agentgym.info import env_info
from agentgym.policies.simple import OraclePolicy
from agentgym.registry import _unregister
from agentgym.user_envs import resolve_env


@pytest.fixture
def ids():
    made = []
    yield made
    for i in made:
        _unregister(i)


async def test_info_describes_an_env_registered_as_a_lambda_or_partial(ids):
    agentgym.register("test/lam-maze", lambda size=3: MazeEnv(size=size), override=True)
    agentgym.register("test/part-maze", functools.partial(MazeEnv, size=2), override=True)
    ids += ["test/lam-maze", "test/part-maze"]
    lam = await env_info("test/lam-maze")
    assert [(a.name, a.default) for a in lam.arguments] == [("size", 3)]
    assert lam.example and lam.example_note == "reset(seed=0)", lam.example_note  # built and reset, not "cannot load"
    part = await env_info("test/part-maze")
    assert ("size", 2) in [(a.name, a.default) for a in part.arguments]
    assert part.example and part.example_note == "reset(seed=0)", part.example_note


def test_a_module_attribute_registered_as_a_partial_keeps_its_id(tmp_path, monkeypatch, ids):
    (tmp_path / "partial_envs_mod.py").write_text(
        "import functools, agentgym\nfrom agentgym.envs.maze import MazeEnv\n"
        "small_maze = functools.partial(MazeEnv, size=2)\n"
        "agentgym.register('test/small-partial', small_maze, override=True)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ids += ["test/small-partial", "partial_envs_mod/small_maze"]
    assert resolve_env("partial_envs_mod:small_maze") == "test/small-partial"  # not a second id for the same factory


async def test_an_unseeded_rollout_and_run_record_the_seed_the_env_drew(tmp_path):
    env = agentgym.make("toy/maze", size=3)
    traj = await agentgym.rollout(env, OraclePolicy())
    assert isinstance(traj.seed, int) and traj.seed == env.seed
    replay = await agentgym.rollout(env, OraclePolicy(), seed=traj.seed)
    assert [m.content for m in replay.messages] == [m.content for m in traj.messages]
    await env.close()
