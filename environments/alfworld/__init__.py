"""ALFWorld household tasks on the ``alfworld`` package's real TextWorld-PDDL engine.

Env ids: ``alfworld/all`` and one per task type — ``alfworld/pick_and_place``,
``alfworld/look_at_obj_in_light``, ``alfworld/pick_clean_then_place``,
``alfworld/pick_heat_then_place``, ``alfworld/pick_cool_then_place``,
``alfworld/pick_two_obj_and_place``. Official games when ``$ALFWORLD_DATA`` is set, else
problems generated offline (and cached) from the wheel's domain, grammar and floor plans::

    env = agentgym.make("alfworld/pick_cool_then_place", split="test")
    env = agentgym.make("alfworld/all", source="official", split="valid_unseen")
"""

from __future__ import annotations

ENTRY_POINT = "agentgym.environments.alfworld.env:AlfWorldEnv"

TASKS = {
    "all": "All six ALFWorld task types (seed % 6 picks the type).",
    "pick_and_place": "Put an object in/on a receptacle.",
    "look_at_obj_in_light": "Pick up an object and examine it under a lamp.",
    "pick_clean_then_place": "Clean an object in the sink, then place it.",
    "pick_heat_then_place": "Heat an object in the microwave, then place it.",
    "pick_cool_then_place": "Cool an object in the fridge, then place it.",
    "pick_two_obj_and_place": "Put two instances of an object in/on a receptacle.",
}


def register_envs() -> None:
    """Registers the ALFWorld env ids (entry point ``agentgym.environments``)."""
    import agentgym

    for name, description in TASKS.items():
        agentgym.register(f"alfworld/{name}", ENTRY_POINT, description=f"ALFWorld: {description}", max_turns=50,
                          tags=["alfworld", "text-game", "tools"], requirements=["textworld", "alfworld"],
                          kwargs={"task_type": name})


__all__ = ["register_envs", "TASKS"]
