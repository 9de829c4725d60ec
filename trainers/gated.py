"""Reward shaping: Gated Reward Accumulation (G-RA) and direct accumulation (D-RA).

Envs declare named step signals in ``StepResult.channels`` (``format``, ``tool_ok``,
``progress``, ``outcome`` ...). A shaping rule turns one episode's outcome and channels
into a scalar return. The **outcome** (``r_outcome`` below, level ``"__outcome__"``) is the
env's ``outcome`` channel (its last value in the episode) when the env emits one, else 1/0
from ``success`` — never the sum of the env's rewards, which for dense-reward envs
(TextWorld's score deltas) would let an unwon game open the gate:

* **D-RA** (direct): ``R = r_outcome + Σ_t Σ_c w_c · r_{t,c}`` — step rewards always count,
  so a policy can farm them without finishing the task.
* **G-RA** two-level: ``R = r_outcome + Σ_t r_t · 𝟙[r_outcome ≥ τ]`` — step rewards count
  only once the long-term (outcome) reward passes its threshold.
* **G-RA** multi-level: levels ordered by priority; level ``i``'s reward counts only if every
  higher level ``j < i`` passes its threshold: ``R̃⁽ⁱ⁾ = R⁽ⁱ⁾ · ∏_{j<i} 𝟙[R⁽ʲ⁾ ≥ τⱼ]``.

    shaping = GatedReward(levels=[Level(channel="outcome", threshold=1.0),
                                  Level(channel="progress", weight=0.1)])
    shaped = shape_episode(shaping, traj.reward, traj.channels, success=traj.success)

With ``threshold = -inf`` every gate is open, which equals D-RA. ``strict=True`` uses ``>``.
Gates compare with a float tolerance (``GATE_TOLERANCE``): 0.7 + 0.2 + 0.1 passes a gate at 1.0.

**Reward scaling.** GRPO's ``scale_rewards="group"`` divides by each group's std: in a group
where every episode succeeded, step-reward differences alone would get advantages of ±1, as
large as success vs failure, undoing the gate's priority. Gated configs therefore use
``scale_rewards="none"`` (or ``"batch"``); :func:`check_scaling` enforces it, and
``ShapingConfig`` keeps the largest step total (``step_weight × max_turns``, channels in
[-1, 1]) below the outcome gap, so a success always outranks a failure in a group.
"""

from __future__ import annotations

import difflib
import math
from typing import Any, Iterable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field

from agentgym.errors import ConfigError

OUTCOME = "__outcome__"  # the level that reads the episode's outcome (see episode_outcome) rather than a step channel
OUTCOME_CHANNEL = "outcome"
GATE_TOLERANCE = 1e-6   # relative: sums of step floats (0.7 + 0.2 + 0.1 = 0.9999999999999999) pass a gate at 1.0
GATED_SCALINGS = ("none", "batch")  # GRPO reward scalings that keep the gate's priority (see module docstring)


def episode_outcome(channels: Sequence[dict[str, float]], success: bool | None) -> float:
    """The episode's outcome: the last ``outcome`` channel value it emitted, else ``float(success)``.

        episode_outcome([{"admissible": 1.0, "outcome": 0.0}], success=False)   # -> 0.0 (whatever the score)
    """
    for step in reversed(channels):
        if OUTCOME_CHANNEL in step:
            return float(step[OUTCOME_CHANNEL])
    if success is None:
        raise ValueError("the episode emitted no `outcome` channel and its success is unknown: pass success=")
    return float(bool(success))


class Level(BaseModel):
    """One reward level: a channel summed over the episode (or the outcome), its weight and gate.

    Attributes:
        channel: step-channel name, or ``"__outcome__"`` for the episode's outcome (:func:`episode_outcome`).
        weight: multiplier of this level's reward in the return.
        threshold: the gate this level must pass for *lower* levels to count (None: no gate).
        reduce: how step values combine into the level's value (``sum`` | ``mean`` | ``max`` | ``last``).
    """

    model_config = ConfigDict(extra="forbid")

    channel: str
    weight: float = 1.0
    threshold: float | None = None
    reduce: Literal["sum", "mean", "max", "last"] = "sum"

    def value(self, outcome: float, channels: Sequence[dict[str, float]]) -> float:
        if self.channel == OUTCOME:
            return float(outcome)
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
        g(outcome=0.0, channels=[{"progress": 1.0}, {"progress": 1.0}])   # -> 0.0
        g(outcome=1.0, channels=[{"progress": 1.0}, {"progress": 1.0}])   # -> 1.2
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
        """``value >= threshold`` (``>`` when strict), up to :data:`GATE_TOLERANCE` relative to the threshold."""
        if threshold is None or threshold == -math.inf:
            return True
        tol = GATE_TOLERANCE * max(1.0, abs(threshold))
        return value > threshold + tol if self.strict else value >= threshold - tol

    def step_channels(self) -> list[str]:
        """The step-channel names the levels read (everything but the outcome)."""
        return [lv.channel for lv in self.levels if lv.channel != OUTCOME]

    def check_channels(self, known: Iterable[str], env_id: str = "the env") -> None:
        """:class:`ConfigError` naming any level channel not in ``known`` (with a "did you mean")."""
        known = sorted(set(known))
        for name in self.step_channels():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                raise ConfigError(f"reward shaping reads step channel `{name}`, which {env_id} never emits (its "
                                  f"channels: {known}).{hint} Fix reward.step_channel / reward.levels.")

    def breakdown(self, outcome: float, channels: Sequence[dict[str, float]]) -> list[tuple[str, float, bool]]:
        """Per level: (channel, weighted value, whether it counted). ``outcome``: see :func:`episode_outcome`."""
        out = []
        open_gate = True
        for level in self.levels:
            value = level.value(outcome, channels)
            out.append((level.channel, level.weight * value, open_gate))
            open_gate = open_gate and self.passes(value, level.threshold)
        return out

    def __call__(self, outcome: float, channels: Sequence[dict[str, float]]) -> float:
        return sum(v for _, v, counted in self.breakdown(outcome, channels) if counted)

    def step_rewards(self, outcome: float, channels: Sequence[dict[str, float]]) -> list[float]:
        """Per-step shaped rewards of the non-outcome levels (zeroed where a gate is closed)."""
        counted = {c: ok for c, _, ok in self.breakdown(outcome, channels)}
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
    :meth:`check` (run by the config loader) bounds the step total below the outcome gap.
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

    def check(self, max_turns: int, scale_rewards: Any) -> None:
        """Config-time rules of gated rewards (see the module docstring); :class:`ConfigError` when broken.

        * ``scale_rewards`` must be ``none`` or ``batch`` (``group`` undoes the gate in saturated groups);
        * two-level form: ``step_weight × max_turns`` (step channels in [-1, 1]) must stay below the outcome
          gap ``threshold``, so a solved episode's step total never outweighs the outcome.
        """
        if self.shaping != "gated":  # D-RA is the ungated baseline: nothing to protect
            return
        if scale_rewards not in GATED_SCALINGS:
            raise ConfigError(
                f"reward.shaping={self.shaping} with trl.scale_rewards={scale_rewards!r}: dividing by each group's "
                "std turns step-reward differences of an all-solved group into advantages as large as success vs "
                "failure. Set trl.scale_rewards to \"none\" (or \"batch\").")
        if self.levels is None and self.threshold > 0 and abs(self.step_weight) * max_turns >= self.threshold:
            raise ConfigError(
                f"reward.step_weight ({self.step_weight:g}) × max_turns ({max_turns}) = "
                f"{abs(self.step_weight) * max_turns:g} reaches the outcome gap (threshold {self.threshold:g}): step "
                f"rewards could outweigh the outcome. Use step_weight < {self.threshold / max_turns:.4g}.")


async def emitted_channels(env: Any, seed: int = 0) -> set[str] | None:
    """Channel names ``env`` emits over one oracle episode (None when it has no oracle); closes ``env``.

        names = asyncio.run(emitted_channels(agentgym.make("toy/maze", size=2)))   # {'format', 'tool_ok', ...}
    """
    try:
        first = await env.reset(seed=seed)
        names = set(first.channels)
        actions = await env.oracle()
        if actions is None:
            return None
        for action in actions:
            result = await env.step(action)
            names |= set(result.channels)
            if result.done or result.truncated:
                break
        return names
    finally:
        await env.close()


def shape_episode(shaping: GatedReward | None, episode_reward: float | None = None,
                  channels: Sequence[dict[str, float]] = (), *, success: bool | None = None,
                  final_reward: float | None = None) -> float:
    """The training return of one episode under ``shaping``; without shaping, ``episode_reward`` (the sum of the
    env's step rewards, ``Trajectory.reward``) as it is.

    The outcome level reads :func:`episode_outcome` (``outcome`` channel, else ``success``), not the summed reward.
    ``final_reward`` is the deprecated name of ``episode_reward`` (it was never the final step's reward: a sum).

        shape_episode(None, 1.3, traj.channels)                          # -> 1.3
        shape_episode(GatedReward.two_level("progress"), traj.reward, traj.channels, success=traj.success)
    """
    if episode_reward is None:
        if final_reward is None:
            raise TypeError("shape_episode() needs episode_reward (the episode's summed env reward)")
        episode_reward = final_reward
    if shaping is None:
        return float(episode_reward)
    return shaping(episode_outcome(channels, success), channels)


__all__ = ["Level", "GatedReward", "DirectReward", "ShapingConfig", "shape_episode", "episode_outcome", "emitted_channels",
           "OUTCOME", "OUTCOME_CHANNEL", "GATE_TOLERANCE", "GATED_SCALINGS"]
