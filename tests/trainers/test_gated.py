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
    assert shape_episode(cfg_g.build(), solved.reward, solved.channels, success=True) == pytest.approx(
        1 + 0.1 * progress(solved))
    assert shape_episode(cfg_g.build(), farmed.reward, farmed.channels, success=False) == farmed.reward == 0.0
    assert shape_episode(cfg_d.build(), farmed.reward, farmed.channels, success=False) == pytest.approx(
        0.1 * progress(farmed))
    assert shape_episode(ShapingConfig().build(), solved.reward, solved.channels) == solved.reward


def test_unknown_keys_are_rejected():
    with pytest.raises(ValidationError, match="treshold"):
        ShapingConfig(shaping="gated", treshold=1.0)


# --------------------------------------------------------------------------- issue 10, item 4
def _textworld_like(won: bool, steps: int = 7):
    """Dense TextWorld: score deltas are the env reward, ``outcome`` is 1 only in a won game's last step."""
    channels = [{"format": 0.0, "admissible": 1.0, "score_delta": 1.0, "outcome": 0.0} for _ in range(steps)]
    if won:
        channels[-1]["outcome"] = 1.0
    return float(steps - (0 if won else 1)), channels


def test_gate_reads_the_outcome_not_the_summed_env_reward():
    shaping = ShapingConfig(shaping="gated", step_channel="admissible", step_weight=0.05).build()
    reward, channels = _textworld_like(won=False)
    assert reward == 6.0  # an unwon game scoring 6/7 ...
    assert shape_episode(shaping, reward, channels, success=False) == 0.0   # ... opens no gate, returns 0
    reward, channels = _textworld_like(won=True)
    assert shape_episode(shaping, reward, channels, success=True) == pytest.approx(1.0 + 0.05 * 7)


def test_outcome_is_the_last_outcome_channel_else_success():
    from agentgym.trainers.gated import episode_outcome

    assert episode_outcome([{"outcome": 0.0}, {"progress": 1.0}, {"outcome": 0.5}], success=False) == 0.5
    assert episode_outcome([{"progress": 1.0}], success=True) == 1.0
    assert episode_outcome([{"progress": 1.0}], success=False) == 0.0
    g = GatedReward.two_level("progress", threshold=1.0, step_weight=0.1)
    # no outcome channel: a high env reward without success does not open the gate
    assert shape_episode(g, 5.0, [{"progress": 1.0}] * 3, success=False) == 0.0
    assert shape_episode(g, 1.0, [{"progress": 1.0}] * 3, success=True) == pytest.approx(1.3)


def test_gates_compare_with_a_float_tolerance():
    parts = [{"tests": 0.7}, {"tests": 0.2}, {"tests": 0.1}]
    assert sum(p["tests"] for p in parts) < 1.0  # 0.9999999999999999
    g = GatedReward(levels=[Level(channel="tests", threshold=1.0), Level(channel="format")])
    assert [ok for _, _, ok in g.breakdown(0.0, parts + [{"format": 2.0}])] == [True, True]
    assert g(0.0, parts + [{"format": 2.0}]) == pytest.approx(3.0)
    strict = GatedReward(levels=[Level(channel="tests", threshold=1.0), Level(channel="format")], strict=True)
    assert strict(0.0, parts + [{"format": 2.0}]) == pytest.approx(1.0)  # strict: a sum of 1 is not above 1
    assert not g.passes(0.999, 1.0)


def test_a_misspelt_channel_is_an_error_before_training(tmp_path):
    from agentgym.errors import ConfigError
    from agentgym.trainers.config import load_config
    from agentgym.trainers.run import train

    config = load_config({"env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 6},
                          "output_dir": str(tmp_path / "run"), "model": {"path": str(tmp_path / "no-model-needed")},
                          "reward": {"shaping": "gated", "step_channel": "progres", "step_weight": 0.1},
                          "trl": {"num_generations": 4, "per_device_train_batch_size": 8, "max_steps": 1}},
                         build_trl=False)
    with pytest.raises(ConfigError, match=r"`progres`.*Did you mean `progress`"):
        train(config)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_maze_progress_pays_a_detour_no_more_than_the_optimal_path():
    import asyncio
    import json

    import agentgym
    from agentgym.types import Message, ToolCall

    def move(d):
        return Message.assistant(tool_calls=[ToolCall(name="move", arguments=json.dumps({"direction": d}))])

    back = {"north": "south", "south": "north", "east": "west", "west": "east"}

    async def totals(seed):
        env = agentgym.make("toy/maze", size=3, max_turns=40)
        await env.reset(seed=seed)
        path = [json.loads(m.tool_calls[0].arguments)["direction"] for m in await env.oracle()]
        optimal = 0.0
        for d in path:
            optimal += (await env.step(move(d))).channels.get("progress", 0.0)
        await env.reset(seed=seed)
        detour = 0.0
        for d in path[:1] + [back[path[0]], path[0]] * 3 + path[1:]:  # step forward, back, forward ... then finish
            res = await env.step(move(d))
            detour += res.channels.get("progress", 0.0)
        assert res.done and res.success
        return optimal, detour

    for seed in range(4):
        optimal, detour = asyncio.run(totals(seed))
        assert detour <= optimal, f"seed {seed}: a detour earns {detour} progress, the optimal path {optimal}"


def _group_advantages(returns, group, scale):
    """TRL's GRPO advantages: return - group mean, divided by the group's std (``group``) or not (``none``)."""
    import statistics

    out = []
    for i in range(0, len(returns), group):
        g = returns[i:i + group]
        mean, std = statistics.fmean(g), statistics.stdev(g)
        out += [(r - mean) / (std + 1e-4) if scale == "group" else r - mean for r in g]
    return out


def test_gate_priority_survives_a_saturated_group():
    from pathlib import Path

    from agentgym.trainers.config import load_config

    root = Path(__file__).resolve().parents[2] / "configs"
    for path in sorted(root.glob("*.yaml")):
        cfg = load_config(path, build_trl=False)
        if cfg.reward.shaping == "none":
            continue
        scale = cfg.grpo_args(build=False).get("scale_rewards", "group")
        assert scale in ("none", "batch"), f"{path.name}: gated shaping with scale_rewards={scale}"
        shaping = cfg.reward.build()
        turns = cfg.env.max_turns
        # four solved episodes that differ only in their step rewards (channel values in a unit range) ...
        solved = [shaping(1.0, [{cfg.reward.step_channel: v}] * turns) for v in (1.0, 0.0, 0.0, 0.0)]
        # ... vs one success (with no step reward) among failures
        mixed = [shaping(1.0, [{cfg.reward.step_channel: 0.0}] * turns)] + [shaping(0.0, [])] * 3
        saturated = max(abs(a) for a in _group_advantages(solved, 4, scale))
        success_vs_failure = _group_advantages(mixed, 4, scale)[0]
        assert saturated < success_vs_failure, path.name


def test_group_scaling_is_rejected_with_gated_shaping():
    from agentgym.errors import ConfigError
    from agentgym.trainers.config import load_config

    base = {"env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 6}, "model": {"path": "x"},
            "reward": {"shaping": "gated", "step_channel": "progress", "step_weight": 0.1},
            "trl": {"num_generations": 4, "per_device_train_batch_size": 8}}
    assert load_config(base, build_trl=False).grpo_args(build=False)["scale_rewards"] == "none"  # the default
    with pytest.raises(ConfigError, match="scale_rewards"):
        load_config({**base, "trl": {**base["trl"], "scale_rewards": "group"}}, build_trl=False)
    with pytest.raises(ConfigError, match="step_weight"):
        load_config({**base, "reward": {**base["reward"], "step_weight": 0.2}}, build_trl=False)
