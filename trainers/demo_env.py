"""Deprecated location: ``demo/lamps`` lives in :mod:`agentgym.environments.demo.lamps` (registered by its entry point).

    from agentgym.environments.demo.lamps import LampsEnv      # was: agentgym.trainers.demo_env
"""

from agentgym.environments.demo.lamps import COLORS, ROW, LampsEnv, register_envs  # noqa: F401

__all__ = ["LampsEnv", "register_envs"]
