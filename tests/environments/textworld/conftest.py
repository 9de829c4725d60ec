"""Small, cached TextWorld games shared by the textworld tests (generated once per cache)."""

import pytest

# One small configuration per challenge: a cold cache generates each game once (~2-5 s).
SMALL = {
    "textworld/simple": {},
    "textworld/cooking": dict(recipe=2, take=1, go=6, open=True, cook=True, cut=True),
    "textworld/coin_collector": dict(level=5),
    "textworld/treasure_hunter": dict(level=5),
    "textworld/custom": dict(world_size=3, nb_objects=5, quest_length=3),
}


@pytest.fixture(scope="session")
def textworld_games():
    """Makes sure game 0 of each small configuration is in the cache; returns the configs."""
    pytest.importorskip("textworld", reason="textworld is not installed: pip install 'agentgym[textworld]'")
    from agentgym.environments.textworld.games import GameSettings, ensure_game

    for env_id, kw in SMALL.items():
        ensure_game(GameSettings(challenge=env_id.split("/")[1], **kw), 0, "train")
    return SMALL
