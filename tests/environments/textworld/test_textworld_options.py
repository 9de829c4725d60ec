"""tw-simple's ``rewards`` (dense | balanced | sparse) and ``goal`` (detailed | brief | none) options.

Game 0 of three configurations, all cached under the agentgym cache: the default (dense, detailed)
shared with the other textworld tests, plus (sparse, none) and (balanced, brief). The generator draws
the same house for the same seed whatever the options, so the games differ only in their quests
(which steps score) and in the objective text shown first.
"""

import pytest

import agentgym
from agentgym import OraclePolicy

pytestmark = pytest.mark.textworld

CONFIGS = {
    "dense-detailed": {},  # the defaults: rewards="dense", goal="detailed"
    "sparse-none": dict(rewards="sparse", goal="none"),
    "balanced-brief": dict(rewards="balanced", goal="brief"),
}


@pytest.fixture(scope="module")
def simple_games():
    """Generates (once per cache, ~2-8 s each) game 0 of each configuration; returns their GameInfo."""
    pytest.importorskip("textworld", reason="textworld is not installed: pip install 'agentgym[textworld]'")
    from agentgym.environments.textworld.games import GameSettings, ensure_game

    games = {name: ensure_game(GameSettings(challenge="simple", **kw), 0, "train") for name, kw in CONFIGS.items()}
    assert len({g.path for g in games.values()}) == len(games)  # the options are part of the cache key
    return games


def preamble(observation: str) -> str:
    """What the game prints before the first room header (``-= Bedroom =-``): the objective, if any."""
    assert "-= " in observation, observation
    return observation.split("-= ", 1)[0].strip()


async def play(name):
    async with agentgym.make("textworld/simple", **CONFIGS[name]) as env:
        first = await env.reset(seed=0)
        instruction = env.task.instruction
        traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
    return first.messages[-1].content, instruction, traj


async def test_rewards_option_sets_which_walkthrough_steps_score(simple_games):
    plans = {name: g.walkthrough for name, g in simple_games.items()}
    assert len({tuple(p) for p in plans.values()}) == 1, plans  # same house, same plan
    max_score = {name: g.max_score for name, g in simple_games.items()}
    assert max_score["sparse-none"] == 1 < max_score["balanced-brief"] < max_score["dense-detailed"], max_score

    scored = {}
    for name in CONFIGS:
        _, _, traj = await play(name)
        assert traj.success and traj.termination == "done", (name, traj.messages[-1].content)  # the oracle wins
        assert traj.infos[-1]["max_score"] == max_score[name]
        assert sum(traj.rewards) == pytest.approx(max_score[name])  # dense env reward: the score deltas
        steps = traj.rewards[1:]  # one per walkthrough command (the first entry is the reset)
        assert len(steps) == len(simple_games[name].walkthrough) and steps[-1] > 0, (name, traj.rewards)
        scored[name] = sum(r > 0 for r in steps[:-1])  # intermediate steps that changed the score
    assert scored["sparse-none"] == 0, scored                   # sparse: the win is the only reward
    assert 0 < scored["balanced-brief"] < scored["dense-detailed"], scored
    assert scored["dense-detailed"] == max_score["dense-detailed"] - 1, scored   # every sub-goal pays 1


async def test_goal_option_sets_the_objective_in_the_first_observation(simple_games):
    food = simple_games["dense-detailed"].walkthrough[-1].removeprefix("put ").removesuffix(" on stove")
    texts = {}
    for name in CONFIGS:
        first, instruction, _ = await play(name)
        texts[name] = (preamble(first), instruction)
        assert instruction == simple_games[name].objective
    detailed, brief, none = texts["dense-detailed"], texts["balanced-brief"], texts["sparse-none"]
    # detailed: the whole plan spelled out, step by step
    assert detailed[0] and detailed[0] == detailed[1], detailed
    assert food in detailed[0] and "stove" in detailed[0] and len(detailed[0]) > 3 * len(brief[0]), detailed
    # brief: one high-level sentence, no steps
    assert brief[0] == brief[1] == f"The dinner is almost ready! It's only missing a grilled {food}.", brief
    # none: no objective at all; the first observation opens on the room
    assert none == ("", ""), none
