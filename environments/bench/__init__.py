"""Benchmark envs (namespace ``bench/``): small tool tasks with known reward pathologies (:mod:`.farm`).

Registered through the ``agentgym.environments`` entry point::

    env = agentgym.make("bench/farm", coin=0.2)      # step rewards that can be farmed forever
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers the ``bench/*`` ids (the entry point of group ``agentgym.environments``; idempotent)."""
    from .farm import register_envs as register_farm

    register_farm()
