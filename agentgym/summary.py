"""Run summaries: success rate with a Wilson 95% interval, rewards, turns, errors, channels.

    summary = summarize(trajectories, env="toy/maze", model="oracle")
    summary.success_rate, summary.success_ci95
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

from pydantic import BaseModel, Field

from .types import Trajectory, Usage


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and n)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


class RunSummary(BaseModel):
    """``summary.json`` of a run directory."""

    env: str
    model: str
    episodes: int
    success_rate: float
    success_ci95: tuple[float, float]
    mean_reward: float
    mean_turns: float
    errors: int
    terminations: dict[str, int] = Field(default_factory=dict)
    channels: dict[str, float] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    wall_time: float = 0.0
    episodes_per_s: float = 0.0
    first_error: str | None = None

    def table(self) -> str:
        """A small fixed-width table for terminals."""
        lo, hi = self.success_ci95
        rows = [
            ("env", self.env), ("model", self.model), ("episodes", str(self.episodes)),
            ("success", f"{self.success_rate:.3f}  [{lo:.3f}, {hi:.3f}]"),
            ("mean reward", f"{self.mean_reward:.3f}"), ("mean turns", f"{self.mean_turns:.2f}"),
            ("errors", str(self.errors)),
            ("terminations", ", ".join(f"{k}={v}" for k, v in sorted(self.terminations.items()))),
        ]
        rows += [(f"channel {k}", f"{v:.3f}") for k, v in sorted(self.channels.items())]
        if self.usage.prompt_tokens or self.usage.completion_tokens:
            rows.append(("tokens in/out", f"{self.usage.prompt_tokens}/{self.usage.completion_tokens}"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def summarize(trajs: Iterable[Trajectory], *, env: str, model: str, wall_time: float = 0.0) -> RunSummary:
    trajs = list(trajs)
    n = len(trajs)
    wins = sum(t.success for t in trajs)
    channel_sums: dict[str, float] = {}
    for t in trajs:
        for k, v in t.channel_totals().items():
            channel_sums[k] = channel_sums.get(k, 0.0) + v
    usage = Usage()
    for t in trajs:
        usage = usage + t.usage
    errors = [t for t in trajs if t.termination == "error"]
    return RunSummary(
        env=env, model=model, episodes=n,
        success_rate=wins / n if n else 0.0,
        success_ci95=wilson_interval(wins, n),
        mean_reward=sum(t.reward for t in trajs) / n if n else 0.0,
        mean_turns=sum(t.turns for t in trajs) / n if n else 0.0,
        errors=len(errors),
        terminations=dict(Counter(t.termination for t in trajs)),
        channels={k: v / n for k, v in channel_sums.items()},
        usage=usage, wall_time=wall_time, episodes_per_s=n / wall_time if wall_time else 0.0,
        first_error=errors[0].error if errors else None,
    )
