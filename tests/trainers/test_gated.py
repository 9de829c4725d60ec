"""Gated Reward Accumulation vs direct accumulation, on channel lists and on real maze trajectories."""

import math

import pytest
from pydantic import ValidationError

from agentgym.trainers.gated import OUTCOME, DirectReward, GatedReward, Level, ShapingConfig, shape_episode

STEPS = [{"progress": 1.0, "format": 0.0}, {"progress": 0.0}, {"progress": 1.0, "format": -1.0}]


def test_below_threshold_zeroes_every_step_reward():
    g = GatedReward.two_level("progress", threshold=1.0)
    assert g(0.0, STEPS) == 0.0
    assert g.step_rewards(0.0, STEPS) == [0.0, 0.0, 0.0]
    assert g(0.5, STEPS) == 0.5  # R = r_outcome


def test_above_threshold_sums_step_rewards():
    g = GatedReward.two_level("progress", threshold=1.0, step_weight=0.5)
    assert g(1.0, STEPS) == pytest.approx(1.0 + 0.5 * 2)
    assert g.step_rewards(1.0, STEPS) == [0.5, 0.0, 0.5]


def test_strict_comparison():
    assert GatedReward.two_level("progress", threshold=1.0, strict=True)(1.0, STEPS) == 1.0
    assert GatedReward.two_level("progress", threshold=1.0, strict=False)(1.0, STEPS) == 3.0


def test_minus_infinity_equals_direct_accumulation():
    levels = [Level(channel=OUTCOME, threshold=-math.inf), Level(channel="progress", weight=0.3)]
    gated, direct = GatedReward(levels=levels), DirectReward(levels=[Level(channel=OUTCOME, threshold=1.0),
                                                                     Level(channel="progress", weight=0.3)])
    for outcome in (-1.0, 0.0, 0.4, 1.0):
        assert gated(outcome, STEPS) == pytest.approx(direct(outcome, STEPS)) == pytest.approx(outcome + 0.6)


def test_three_levels_lower_counts_only_if_every_higher_passes():
    g = GatedReward(levels=[
        Level(channel=OUTCOME, threshold=0.5, weight=10.0),
        Level(channel="tests", threshold=1.0),
        Level(channel="format", weight=1.0, reduce="sum"),
    ])
    ch = [{"tests": 1.0, "format": 0.5}, {"format": 0.5}]
    assert g(1.0, ch) == pytest.approx(10 + 1 + 1)   # every gate open
    assert g(0.0, ch) == 0.0                          # top gate closed: only the outcome (0) counts
    ch_fail = [{"tests": 0.0, "format": 0.5}, {"format": 0.5}]
    assert g(1.0, ch_fail) == pytest.approx(10 + 0)   # second gate closed: format ignored
    assert [c for c, _, ok in g.breakdown(1.0, ch_fail)] == [OUTCOME, "tests", "format"]
    assert [ok for _, _, ok in g.breakdown(1.0, ch_fail)] == [True, True, False]


def test_per_trajectory_application_on_real_maze_episodes():
    import agentgym
    from agentgym import rollout
    from agentgym.policies.simple import OraclePolicy, RandomPolicy
    import asyncio

    async def episodes():
        solved = await rollout(agentgym.make("toy/maze", size=3), OraclePolicy(), seed=4)
        farmed = await rollout(agentgym.make("toy/maze", size=3, max_turns=6), RandomPolicy(seed=1), seed=4)
        return solved, farmed

    solved, farmed = asyncio.run(episodes())
    assert solved.success and not farmed.success
    cfg_g, cfg_d = ShapingConfig(shaping="gated", step_weight=0.1), ShapingConfig(shaping="dra", step_weight=0.1)
    progress = lambda t: sum(c.get("progress", 0.0) for c in t.channels)  # noqa: E731
    assert shape_episode(cfg_g.build(), solved.reward, solved.channels) == pytest.approx(1 + 0.1 * progress(solved))
    assert shape_episode(cfg_g.build(), farmed.reward, farmed.channels) == farmed.reward == 0.0
    assert shape_episode(cfg_d.build(), farmed.reward, farmed.channels) == pytest.approx(0.1 * progress(farmed))
    assert shape_episode(ShapingConfig().build(), solved.reward, solved.channels) == solved.reward


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError, match="treshold"):
        ShapingConfig(shaping="gated", treshold=1.0)
