"""Held-out evaluation by task identity, not by seed.

Two seeds can build the same task (``toy/maze`` size 2 has 16 distinct mazes for any number of
seeds), so "held-out seeds" can be training tasks. A task's **fingerprint** is what the agent sees
at the start plus what solves it: the first observation's messages and the env's oracle actions
(sha1 of their JSON). Splitting by fingerprint puts a stable share of *tasks* on the held-out side:
training keeps only seeds whose task is not held out, evaluation only seeds whose task is.

    split = TaskSplit(held_out=0.25)
    train = split.train_seeds(make_env, range(0, 10_000))          # seeds of non-held-out tasks
    evals = split.eval_seeds(make_env, start=100_000, count=64)      # 64 seeds of held-out tasks
    distinct_tasks(make_env, evals)                                  # how many different tasks that is
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Sequence

from agentgym.errors import ConfigError

EnvFactory = Callable[[], Any]
BATCH = 64


def _message_key(m: Any) -> Any:
    calls = [[c.name, c.arguments] for c in (m.tool_calls or [])]
    return [m.role, m.content or "", calls]


async def _fingerprint(make_env: EnvFactory, seed: int | None, task: Any = None) -> str:
    env = make_env()
    if isinstance(env, Awaitable):
        env = await env
    try:
        first = await env.reset(seed=seed, task=task)
        oracle = await env.oracle()
        data = {"first": [_message_key(m) for m in first.messages],
                "oracle": None if oracle is None else [_message_key(m) for m in oracle]}
        if oracle is None and env.task is not None:
            data["task"] = env.task.data  # no oracle: the family's payload (answer, game file) tells tasks apart
        return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    finally:
        await env.close()


def fingerprints(make_env: EnvFactory, seeds: Iterable[int]) -> list[str]:
    """The task fingerprint of every seed (resets the env once per seed, in batches of 64)."""
    seeds = list(seeds)

    async def run() -> list[str]:
        out: list[str] = []
        for i in range(0, len(seeds), BATCH):
            out += await asyncio.gather(*(_fingerprint(make_env, s) for s in seeds[i:i + BATCH]))
        return out

    return asyncio.run(run())


def distinct_tasks(make_env: EnvFactory, seeds: Sequence[int]) -> int:
    """How many different tasks ``seeds`` build."""
    return len(set(fingerprints(make_env, seeds)))


class TaskSplit:
    """Puts a share ``held_out`` of all tasks (by fingerprint hash) on the evaluation side."""

    def __init__(self, held_out: float = 0.25):
        if not 0.0 < held_out < 1.0:
            raise ConfigError(f"tasks.held_out must be in (0, 1), got {held_out}")
        self.held_out = held_out

    def is_held_out(self, fingerprint: str) -> bool:
        return int(fingerprint[:12], 16) / 16**12 < self.held_out

    def train_seeds(self, make_env: EnvFactory, seeds: Iterable[int]) -> list[int]:
        """The seeds whose task is not held out."""
        seeds = list(seeds)
        kept = [s for s, fp in zip(seeds, fingerprints(make_env, seeds)) if not self.is_held_out(fp)]
        if not kept:
            raise ConfigError(f"none of the {len(seeds)} training seeds builds a task outside the held-out share")
        return kept

    def eval_seeds(self, make_env: EnvFactory, start: int, count: int, max_scan: int = 100) -> list[int]:
        """The first ``count`` seeds from ``start`` whose task is held out (scans at most ``max_scan × count``)."""
        out: list[int] = []
        seed = start
        while len(out) < count and seed < start + max_scan * count:
            batch = list(range(seed, seed + max(count, BATCH)))
            out += [s for s, fp in zip(batch, fingerprints(make_env, batch)) if self.is_held_out(fp)]
            seed = batch[-1] + 1
        if not out:
            raise ConfigError(f"no seed in [{start}, {seed}) builds a held-out task: the env has too few distinct "
                              f"tasks for a {self.held_out:.0%} held-out share; raise tasks.held_out")
        return out[:count]


@dataclass
class SplitResult:
    """Seeds on each side and how many distinct tasks they hold (``shared_tasks``: on both sides; None: unchecked)."""

    split: str
    train_seeds: list[int]
    eval_seeds: list[int]
    train_tasks: int | None
    eval_tasks: int
    shared_tasks: int | None

    def summary(self) -> dict[str, Any]:
        return {"split": self.split, "train_seeds": len(self.train_seeds), "eval_episodes": len(self.eval_seeds),
                "train_tasks": self.train_tasks, "eval_tasks": self.eval_tasks, "shared_tasks": self.shared_tasks}


def split_tasks(make_env: EnvFactory, train: Iterable[int], eval_start: int, eval_count: int, *,
                split: str = "task", held_out: float = 0.25) -> SplitResult:
    """Training and evaluation seeds, disjoint by task (``split="task"``) or only by seed (``"seed"``).

    ``"seed"`` fingerprints the evaluation seeds only (for envs whose resets are too slow to fingerprint
    every training seed): it reports the held-out distinct tasks but cannot promise they are unseen.
    """
    train = list(train)
    if split == "seed":
        evals = list(range(eval_start, eval_start + eval_count))
        return SplitResult("seed", train, evals, None, len(set(fingerprints(make_env, evals))), None)
    rule = TaskSplit(held_out)
    train_fps = fingerprints(make_env, train)
    kept = [(s, fp) for s, fp in zip(train, train_fps) if not rule.is_held_out(fp)]
    if not kept:
        raise ConfigError(f"none of the {len(train)} training seeds builds a task outside the held-out share")
    evals = rule.eval_seeds(make_env, eval_start, eval_count)
    eval_fps = set(fingerprints(make_env, evals))
    train_set = {fp for _, fp in kept}
    return SplitResult("task", [s for s, _ in kept], evals, len(train_set), len(eval_fps), len(eval_fps & train_set))


__all__ = ["TaskSplit", "SplitResult", "split_tasks", "fingerprints", "distinct_tasks"]
