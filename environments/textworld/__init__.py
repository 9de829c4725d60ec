"""TextWorld games generated offline by tw-make's own generator, cached, with walkthrough oracles.

Env ids: ``textworld/simple``, ``textworld/cooking``, ``textworld/coin_collector``,
``textworld/treasure_hunter``, ``textworld/custom``. Difficulty options are constructor
keyword arguments (see :class:`GameSettings`)::

    env = agentgym.make("textworld/coin_collector", level=10, split="test")
    env = agentgym.make("textworld/simple", rewards="sparse", goal="brief", tools=False)

``agentgym textworld pregen --env textworld/cooking --n 50`` fills the cache ahead of a run.
"""

from __future__ import annotations

from typing import Any

ENTRY_POINT = "agentgym.environments.textworld.env:TextWorldEnv"

ENVS: dict[str, dict[str, Any]] = {
    "textworld/simple": dict(
        description="tw-simple: a six-room house; find the food and put it on the stove (rewards/goal options).",
        max_turns=50, challenge="simple"),
    "textworld/cooking": dict(
        description="tw-cooking (FTWP): read the recipe, gather and prepare ingredients, cook the meal.",
        max_turns=50, challenge="cooking"),
    "textworld/coin_collector": dict(
        description="tw-coin_collector: navigate rooms to find and take the coin (level 1-300).",
        max_turns=50, challenge="coin_collector"),
    "textworld/treasure_hunter": dict(
        description="tw-treasure_hunter: find the right object among distractors (level 1-30).",
        max_turns=50, challenge="treasure_hunter"),
    "textworld/custom": dict(
        description="tw-make custom: random world with world_size rooms, nb_objects objects, quest_length.",
        max_turns=50, challenge="custom"),
}


def register_envs() -> None:
    """Registers the TextWorld env ids (entry point ``agentgym.environments``)."""
    import agentgym

    for env_id, kw in ENVS.items():
        kw = dict(kw)
        agentgym.register(env_id, ENTRY_POINT, description=kw.pop("description"), max_turns=kw.pop("max_turns"),
                          tags=["textworld", "text-game", "tools"], requirements=["textworld"], kwargs=kw)


__all__ = ["register_envs", "ENVS"]
