"""Training on envs that live elsewhere: ``env: {remote: URL}`` (an env server) and ``executor: ray``
(Ray actors). Two real GRPO steps with the tiny model each; every episode of the rollouts and the
held-out evaluations runs on the remote side, and nothing is left open afterwards."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("trl", reason="training needs agentgym[train]")

import agentgym  # noqa: E402
from agentgym.envs.maze import MazeEnv  # noqa: E402
from agentgym.errors import ConfigError  # noqa: E402
from agentgym.remote import SessionLostError  # noqa: E402
from agentgym.executors import RayEnv  # noqa: E402
from agentgym.trainers.config import load_config  # noqa: E402
from agentgym.trainers.training import train  # noqa: E402

from envserver_servers import running_server  # noqa: E402


def _config(out, env):
    return {"algo": "grpo", "output_dir": str(out), "model": {"tiny": {"hidden_size": 64, "layers": 2, "vocab_size": 1024}},
            "env": env, "tasks": {"train_seeds": [0, 12], "eval_seeds": [900, 902], "split": "seed"},
            "rollout": {"max_new_tokens": 12, "max_completion_length": 64},
            "trl": {"num_generations": 2, "per_device_train_batch_size": 4, "max_steps": 2, "save_steps": 10,
                    "max_completion_length": 64}}


class FlakyMaze(MazeEnv):
    """toy/maze whose serving side fails on seed 1 (as a sandbox or browser dying would)."""

    async def step(self, action):
        if self._seed == 1:
            raise SessionLostError("the sandbox behind this session died")
        return await super().step(action)


def test_grpo_trains_on_a_served_env_and_drops_its_infra_errors(tmp_path, monkeypatch):
    from agentgym import registry

    registry.list_envs()  # a private copy of the registry: the test's env does not outlive it
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    agentgym.register("test/flaky-maze", FlakyMaze, override=True)
    with running_server("test/flaky-maze", env_args={"size": 2}, ttl=30.0, max_sessions=64) as (url, app):
        config = load_config({**_config(tmp_path / "run", {"remote": url, "max_turns": 2}),
                              "tasks": {"train_seeds": [0, 2], "eval_seeds": [900, 902], "split": "seed"}})
        assert config.env.id == "test/flaky-maze"  # named by the server
        summary = train(config, progress=False)
        stats = app.state.manager.stats()
    assert summary.env == "test/flaky-maze" and summary.train.steps == 2
    assert summary.before.episodes == summary.after.episodes == 2 and summary.before.errors == 0
    # 2 steps x 4 episodes + 2 x 2 held-out episodes all ran as server sessions ...
    assert stats["created"] >= 2 * 4 + 2 * 2
    # ... and every one was closed by its client, none left to expire
    assert stats["sessions"] == 0 and stats["closed"] == stats["created"] and stats["expired"] == 0
    # each step's batch holds seed 0's group and seed 1's, whose episodes all ended as infra errors: counted,
    # and kept out of the loss (which stays finite) rather than scored as reward 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    errors = [r["agentgym/errors"] for r in rows if "agentgym/errors" in r]
    assert errors and all(e == 2.0 for e in errors), errors
    assert all(math.isfinite(r["loss"]) for r in rows if "loss" in r)


def test_remote_env_config_errors_say_what_to_do(tmp_path):
    with running_server("toy/maze", env_args={"size": 2}) as (url, _):
        with pytest.raises(ConfigError, match="serves toy/maze, not `env.id` tools/calc"):
            load_config(_config(tmp_path, {"id": "tools/calc", "remote": url}))
        with pytest.raises(ConfigError, match="agentgym serve ENV_ID --env-arg"):
            load_config(_config(tmp_path, {"remote": url, "kwargs": {"size": 3}}))
        with pytest.raises(ConfigError, match="already hosts the envs"):
            load_config({**_config(tmp_path, {"remote": url}), "executor": "ray"})
    with pytest.raises(ConfigError, match="needs `id`"):
        load_config(_config(tmp_path, {"max_turns": 2}))
    from agentgym.remote import ServerUnreachableError

    with pytest.raises(ServerUnreachableError, match="agentgym serve"):
        load_config(_config(tmp_path, {"remote": url}))  # that server is gone now


def test_grpo_trains_with_envs_in_ray_actors(tmp_path, local_ray, monkeypatch):
    import ray

    seen: list[object] = []
    real_reset = RayEnv._reset

    async def spy(self, **kw):
        seen.append(self.actor)
        return await real_reset(self, **kw)

    monkeypatch.setattr(RayEnv, "_reset", spy)
    config = load_config({**_config(tmp_path / "run", {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 2}),
                          "executor": "ray", "ray": {"actors": 2, "cpus_per_actor": 0.25}, "eval": {"before": False}})
    summary = train(config, progress=False)
    assert summary.train.steps == 2 and summary.after.episodes == 2 and summary.after.errors == 0
    assert len(seen) >= 2 * 4 + 2 and len({id(a) for a in seen}) == 2  # both actors held episodes
    with pytest.raises(ray.exceptions.RayActorError):  # the run killed its actors when it ended
        ray.get(seen[0].pid.remote(), timeout=120)
