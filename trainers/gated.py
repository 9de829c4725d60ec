"""Reward shaping: Gated Reward Accumulation (G-RA) and direct accumulation (D-RA).

Envs declare named step signals in ``StepResult.channels`` (``format``, ``tool_ok``,
``progress``, ``outcome`` ...). A shaping rule turns one episode's channels and final
reward into a scalar return:

* **D-RA** (direct): ``R = r_outcome + Σ_t Σ_c w_c · r_{t,c}`` — step rewards always count,
  so a policy can farm them without finishing the task.
* **G-RA** two-level: ``R = r_outcome + Σ_t r_t · 𝟙[r_outcome ≥ τ]`` — step rewards count
  only once the long-term (outcome) reward passes its threshold.
* **G-RA** multi-level: levels ordered by priority; level ``i``'s reward counts only if every
  higher level ``j < i`` passes its threshold: ``R̃⁽ⁱ⁾ = R⁽ⁱ⁾ · ∏_{j<i} 𝟙[R⁽ʲ⁾ ≥ τⱼ]``.

    shaping = GatedReward(levels=[Level(channel="outcome", threshold=1.0),
                                  Level(channel="progress", weight=0.1)])
    shaped = shaping(final_reward=traj.reward, channels=traj.channels)

With ``threshold = -inf`` every gate is open, which equals D-RA. ``strict=True`` uses ``>``.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

OUTCOME = "__outcome__"  # a level that reads the episode's final reward rather than a step channel


class Level(BaseModel):
    """One reward level: a channel summed over the episode (or the outcome), its weight and gate.

    Attributes:
        channel: step-channel name, or ``"__outcome__"`` for the episode's final reward.
        weight: multiplier of this level's reward in the return.
        threshold: the gate this level must pass for *lower* levels to count (None: no gate).
        reduce: how step values combine into the level's value (``sum`` | ``mean`` | ``max`` | ``last``).
    """

    model_config = ConfigDict(extra="forbid")

    channel: str
    weight: float = 1.0
    threshold: float | None = None
    reduce: Literal["sum", "mean", "max", "last"] = "sum"

    def value(self, final_reward: float, channels: Sequence[dict[str, float]]) -> float:
        if self.channel == OUTCOME:
            return float(final_reward)
        values = [float(step[self.channel]) for step in channels if self.channel in step]
        if not values:
            return 0.0
        if self.reduce == "sum":
            return sum(values)
        if self.reduce == "mean":
            return sum(values) / len(values)
        if self.reduce == "max":
            return max(values)
        return values[-1]


class GatedReward(BaseModel):
    """Multi-level gated accumulation (levels in priority order, highest first).

    Example (two-level G-RA on an env with an ``outcome`` and a ``progress`` channel)::

        g = GatedReward.two_level(step_channel="progress", threshold=1.0, step_weight=0.1)
        g(final_reward=0.0, channels=[{"progress": 1.0}, {"progress": 1.0}])   # -> 0.0
        g(final_reward=1.0, channels=[{"progress": 1.0}, {"progress": 1.0}])   # -> 1.2
    """

    model_config = ConfigDict(extra="forbid")

    levels: list[Level] = Field(min_length=1)
    strict: bool = False  # True: a gate passes on value > threshold instead of >=

    @classmethod
    def two_level(cls, step_channel: str, threshold: float = 1.0, step_weight: float = 1.0,
                  strict: bool = False) -> GatedReward:
        """``R = r_outcome + Σ_t w·r_t · 𝟙[r_outcome ≥ τ]``."""
        return cls(levels=[Level(channel=OUTCOME, threshold=threshold),
                           Level(channel=step_channel, weight=step_weight)], strict=strict)

    def passes(self, value: float, threshold: float | None) -> bool:
        if threshold is None or threshold == -math.inf:
            return True
        return value > threshold if self.strict else value >= threshold

    def breakdown(self, final_reward: float, channels: Sequence[dict[str, float]]) -> list[tuple[str, float, bool]]:
        """Per level: (channel, weighted value, whether it counted)."""
        out = []
        open_gate = True
        for level in self.levels:
            value = level.value(final_reward, channels)
            out.append((level.channel, level.weight * value, open_gate))
            open_gate = open_gate and self.passes(value, level.threshold)
        return out

    def __call__(self, final_reward: float, channels: Sequence[dict[str, float]]) -> float:
        return sum(v for _, v, counted in self.breakdown(final_reward, channels) if counted)

    def step_rewards(self, final_reward: float, channels: Sequence[dict[str, float]]) -> list[float]:
        """Per-step shaped rewards of the non-outcome levels (zeroed where a gate is closed)."""
        counted = {c: ok for c, _, ok in self.breakdown(final_reward, channels)}
        steps = []
        for step in channels:
            steps.append(sum(level.weight * float(step.get(level.channel, 0.0)) for level in self.levels
                             if level.channel != OUTCOME and counted[level.channel]))
        return steps


class DirectReward(GatedReward):
    """D-RA: the same levels with every gate open (``R = Σ_levels w·value``)."""

    def passes(self, value: float, threshold: float | None) -> bool:
        return True


class ShapingConfig(BaseModel):
    """YAML section ``reward``: ``shaping: none | gated | dra`` plus the levels.

    ``none`` uses the env's episode reward as is. ``gated``/``dra`` default to the two-level
    form over ``step_channel`` (e.g. ``progress``) gated by the outcome at ``threshold``.
    """

    model_config = ConfigDict(extra="forbid")

    shaping: Literal["none", "gated", "dra"] = "none"
    step_channel: str = "progress"
    step_weight: float = 0.1
    threshold: float = 1.0
    strict: bool = False
    levels: list[Level] | None = None

    def build(self) -> GatedReward | None:
        if self.shaping == "none":
            return None
        levels = self.levels or [Level(channel=OUTCOME, threshold=self.threshold),
                                 Level(channel=self.step_channel, weight=self.step_weight)]
        cls = GatedReward if self.shaping == "gated" else DirectReward
        return cls(levels=levels, strict=self.strict)


def shape_episode(shaping: GatedReward | None, final_reward: float, channels: Sequence[dict[str, float]]) -> float:
    """The training return of one episode under ``shaping`` (the raw reward when None)."""
    return float(final_reward) if shaping is None else shaping(final_reward, channels)


__all__ = ["Level", "GatedReward", "DirectReward", "ShapingConfig", "shape_episode", "OUTCOME"]
