"""Where a training run's envs live: this process, an env server, or Ray actors.

    env: {id: toy/maze, kwargs: {size: 2}}              # local (default): agentgym.make in this process
    env: {remote: http://10.0.0.5:8000}                 # `agentgym serve` elsewhere: RemoteEnv sessions
    executor: ray                                       # envs held by Ray actors (agentgym[ray])
    ray: {address: auto, actors: 8}

    source = EnvSource(config)          # starts or joins Ray for `executor: ray`
    make_env = source.factory()         # zero-argument env factory: rollouts, held-out eval, task split
    ...
    source.close()                      # kills the Ray actors (a RemoteEnv closes its own session)

Every env is driven through the same Env contract, so GRPO, ARPO (``fork``), gated rewards and
the held-out evaluation run unchanged; a lost server session or a dead Ray actor ends its
episode as ``infra_error``, which the trainer drops from its group's baseline and the loss.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from agentgym.env import Env
from agentgym.registry import make

from .config import TrainConfig


class EnvSource:
    """The env factory of a :class:`TrainConfig` (``env.remote`` / ``executor`` / local)."""

    def __init__(self, config: TrainConfig):
        config.check_env_source()
        self.config, self.pool = config, None
        env = config.env
        self.kind = "remote" if env.remote else config.executor
        self.token = os.environ.get(env.token_env) or None if env.remote else None
        self.max_turns = config.env_max_turns()  # with `remote`: the server's (and env.id filled from it)
        if self.kind == "ray":
            from agentgym.executors import RayEnvPool

            ray = config.ray
            self.pool = RayEnvPool(env.id, env.kwargs, actors=ray.actors, address=ray.address, num_cpus=ray.num_cpus,
                                   cpus_per_actor=ray.cpus_per_actor, max_turns=self.max_turns)

    @property
    def env_id(self) -> str:
        return str(self.config.env.id)

    def factory(self) -> Callable[[], Env]:
        """A zero-argument factory of fresh envs at the run's turn limit."""
        env, max_turns = self.config.env, self.max_turns
        if self.kind == "remote":
            from agentgym.remote import RemoteEnv

            url, token = env.remote, self.token
            return lambda: RemoteEnv(url, token, max_turns=max_turns)
        if self.pool is not None:
            return self.pool.factory()
        env_id, kwargs = env.id, dict(env.kwargs)
        return lambda: make(env_id, max_turns=max_turns, **kwargs)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def __enter__(self) -> EnvSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["EnvSource"]
