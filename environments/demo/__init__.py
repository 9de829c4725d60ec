"""``demo/lamps``: the tiny two-step tool task the CPU training demo learns (:mod:`.lamps`).

Registered through the ``agentgym.environments`` entry point, like every bundled family::

    env = agentgym.make("demo/lamps")
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers ``demo/lamps`` (the entry point of group ``agentgym.environments``; idempotent)."""
    from .lamps import register_envs as register_lamps

    register_lamps()
