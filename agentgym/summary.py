"""Run summaries — the one place they are built: eval runs (:class:`RunSummary`, ``summary.json`` of
``agentgym eval``), held-out evaluations of a local model (:class:`HeldOutSummary`) and training jobs
(:class:`TrainSummary`, ``summary.json`` of ``agentgym train``).

    summary = summarize(trajectories, env="toy/maze", model="oracle")
    summary.success_rate, summary.success_ci95
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Iterable

from pydantic import BaseModel, Field

from .types import ERROR_TERMINATIONS, Trajectory, Usage


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and n)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


class _ItemAccess:
    """``summary["success_rate"]`` as well as ``summary.success_rate`` (these summaries were plain dicts once)."""

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields:  # type: ignore[attr-defined]
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __eq__(self, other: object) -> bool:  # equal to its own JSON (``summary.json`` read back) too
        if isinstance(other, dict):
            mine = self.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
            return mine == {k: v for k, v in other.items() if v is not None}
        return super().__eq__(other)

    def __contains__(self, key: str) -> bool:
        return key in type(self).model_fields and getattr(self, key) is not None  # type: ignore[attr-defined]


class RunSummary(_ItemAccess, BaseModel):
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
    cpu_s: float = 0.0            # CPU seconds of the run's client side: this process and its workers
    episodes_per_s: float = 0.0
    first_error: str | None = None
    errored_episodes: list[int] = Field(default_factory=list)

    def error_line(self) -> str | None:
        """One line naming the errored episodes and the first error, or None when nothing errored.

        ``"2 of 8 episodes errored (episodes 1, 5); first error (episode 1): RuntimeError: boom"``
        """
        if not self.errors:
            return None
        return f"{self._errored()}; first error{self._first_where()}: {first_line(self.first_error)}"

    def _errored(self) -> str:
        eps = self.errored_episodes
        shown = ", ".join(map(str, eps[:10])) + (", ..." if len(eps) > 10 else "")
        return f"{self.errors} of {self.episodes} episodes errored" + (
            f" (episode{'s' if len(eps) > 1 else ''} {shown})" if eps else "")

    def _first_where(self) -> str:
        return f" (episode {self.errored_episodes[0]})" if self.errored_episodes else ""

    def table(self) -> str:
        """A small fixed-width table for terminals; errors, when there are any, come first."""
        lo, hi = self.success_ci95
        lines = []
        if self.errors:
            lines.append(f"ERRORS: {self._errored()}")
            lines.append(f"first error{self._first_where()}: {first_line(self.first_error, 200)}")
        rows = [
            ("env", self.env), ("model", self.model), ("episodes", str(self.episodes)),
            ("success", f"{self.success_rate:.3f}  (95% CI {lo:.3f}-{hi:.3f}, Wilson)"),
            ("mean reward", f"{self.mean_reward:.3f}"), ("mean turns", f"{self.mean_turns:.2f}"),
            ("errors", str(self.errors)),
            ("episode ends", ", ".join(f"{v} {k}" for k, v in sorted(self.terminations.items(), key=_end_order))),
        ]
        rows += [(f"channel {k}", f"{v:.3f} per episode") for k, v in sorted(self.channels.items())]
        if self.usage.prompt_tokens or self.usage.completion_tokens:
            rows.append(("tokens in/out", f"{self.usage.prompt_tokens}/{self.usage.completion_tokens}"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(lines + [f"{k:<{width}}  {v}" for k, v in rows])


def is_error(traj: Trajectory) -> bool:
    """True when the episode failed (``policy_error``/``infra_error``) rather than ended: a resume redoes it."""
    return traj.termination in ERROR_TERMINATIONS


def first_line(text: str | None, limit: int = 300) -> str:
    """The first non-empty line of an error text, cut to ``limit`` characters."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "(no error text)")
    return line if len(line) <= limit else line[: limit - 3] + "..."


_END_ORDER = ["done", "max_turns", "max_length", "context_length", "timeout", "policy_error", "infra_error"]


def _end_order(item: tuple[str, int]) -> tuple[int, str]:
    return (_END_ORDER.index(item[0]) if item[0] in _END_ORDER else len(_END_ORDER), item[0])


def summarize(trajs: Iterable[Trajectory], *, env: str, model: str, wall_time: float = 0.0,
              ran: int | None = None) -> RunSummary:
    """Aggregates trajectories; ``ran`` is how many of them ``wall_time`` covers (a resume ran fewer than all).

        summarize(load_trajectories("runs/maze/trajectories.jsonl"), env="toy/maze", model="oracle")
    """
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
    errors = [t for t in trajs if is_error(t)]
    return RunSummary(
        env=env, model=model, episodes=n,
        success_rate=wins / n if n else 0.0,
        success_ci95=wilson_interval(wins, n),
        mean_reward=sum(t.reward for t in trajs) / n if n else 0.0,
        mean_turns=sum(t.turns for t in trajs) / n if n else 0.0,
        errors=len(errors),
        terminations=dict(Counter(t.termination for t in trajs)),
        channels={k: v / n for k, v in channel_sums.items()},
        usage=usage, wall_time=wall_time, episodes_per_s=(n if ran is None else ran) / wall_time if wall_time else 0.0,
        first_error=errors[0].error if errors else None,
        errored_episodes=[t.episode if t.episode is not None else i for i, t in enumerate(trajs) if is_error(t)],
    )


class HeldOutSummary(RunSummary):
    """A held-out evaluation of a local model during training (``before``/``after`` of :class:`TrainSummary`)."""

    mean_tool_calls: float = 0.0
    distinct_tasks: int | None = None


class TrainStats(_ItemAccess, BaseModel):
    steps: int = 0
    runtime_s: float | None = None
    replayed: int = 0


class TrainSummary(_ItemAccess, BaseModel):
    """``summary.json`` of a training job: held-out success before and after, the task split, the steps.

        summary = train(load_config("configs/maze-grpo-cpu.yaml"))
        summary.after.success_rate - summary.before.success_rate
    """

    env: str
    algo: str
    model: str
    reward_shaping: str | None = None
    tasks: dict[str, Any] = Field(default_factory=dict)
    before: HeldOutSummary | None = None
    after: HeldOutSummary | None = None
    train: TrainStats | None = None

    def write(self, path: Any) -> None:
        from pathlib import Path

        Path(path).write_text(self.model_dump_json(indent=2, exclude_none=True) + "\n")
