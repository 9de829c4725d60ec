"""Deprecated location: ``bench/farm`` lives in :mod:`agentgym.environments.bench.farm` (registered by its entry point).

    from agentgym.environments.bench.farm import FarmEnv       # was: agentgym.trainers.bench_envs
"""

from agentgym.environments.bench.farm import COIN, COLORS, FarmEnv, register_envs  # noqa: F401

__all__ = ["FarmEnv", "register_envs", "COLORS", "COIN"]
