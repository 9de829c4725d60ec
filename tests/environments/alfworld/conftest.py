"""One generated ALFWorld problem per task type, shared by the alfworld tests."""

import pytest

TASKS = ["pick_and_place", "look_at_obj_in_light", "pick_clean_then_place", "pick_heat_then_place",
         "pick_cool_then_place", "pick_two_obj_and_place"]


@pytest.fixture(scope="session")
def alfworld_problems():
    """Generates (or finds in the cache) problem 0 of every task type; returns {task: game dir}."""
    pytest.importorskip("alfworld", reason="alfworld is not installed: pip install 'agentgym[textworld]'")
    pytest.importorskip("fast_downward", reason="fast-downward-textworld is needed by the alfworld engine")
    from agentgym.environments.alfworld.env import SHORT_NAMES
    from agentgym.environments.alfworld.generator import ensure_problem

    return {t: ensure_problem(SHORT_NAMES[t], 0, "train") for t in TASKS}
