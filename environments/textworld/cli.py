"""``agentgym textworld ...``: fill the game cache ahead of a run and inspect it.

    agentgym textworld pregen --env textworld/cooking --n 50 --set recipe=2 --set go=6 --set open=true
    agentgym textworld pregen --env textworld/coin_collector --n 20 --split test --set level=10
    agentgym textworld pregen --env textworld/cooking --n 50 --jobs 4     # 4 worker processes
    agentgym textworld cache

Games are generated in parallel by worker processes (default: one per CPU, at most one per
game): TextWorld's generator is not thread-safe, so each process runs its own engine thread.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``["recipe=2", "open=true", "goal=brief"]`` -> ``{"recipe": 2, "open": True, "goal": "brief"}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"error: --set expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def default_jobs() -> int:
    """Worker processes for pregen: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _generate(settings: Any, index: int, split: str, cache_root: str) -> tuple[int, str, int, int, float]:
    """One game, in a worker process (its own engine thread); returns what the report line needs."""
    from .cache import GameCache
    from .games import ensure_game

    t0 = time.perf_counter()
    game = ensure_game(settings, index, split, GameCache(cache_root))
    return index, game.path, len(game.walkthrough), game.max_score, time.perf_counter() - t0


def pregen(env_id: str, n: int, split: str, start: int, settings: dict[str, Any], out=None,
           jobs: int | None = None) -> list[str]:
    """Generates games ``start .. start+n-1`` of ``split`` for ``env_id``; returns their files in index order.

    ``jobs`` worker processes (default :func:`default_jobs`) generate games side by side; with one
    job (or one game) everything runs in this process.
    """
    import agentgym

    env = agentgym.make(env_id, split=split, **settings)
    out = out or sys.stdout
    jobs = max(1, min(jobs or default_jobs(), n))
    indices = list(range(start, start + n))
    files: dict[int, str] = {}

    def report(done: int, row: tuple[int, str, int, int, float]) -> None:
        index, path, steps, max_score, seconds = row
        files[index] = path
        print(f"[{done}/{n}] {env_id} {split} #{index}: {steps}-step walkthrough, max score {max_score} "
              f"({seconds:.1f}s) {path}", file=out, flush=True)

    root = str(env.cache.root)
    if jobs == 1:
        for done, index in enumerate(indices, 1):
            report(done, _generate(env.settings, index, env.split, root))
    else:
        # spawn: a forked child would inherit the parent's engine thread state half-way
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_generate, env.settings, index, env.split, root) for index in indices]
            for done, future in enumerate(as_completed(futures), 1):
                report(done, future.result())
    return [files[i] for i in indices]


def _pregen(args: argparse.Namespace) -> int:
    if not args.env.startswith("textworld/"):
        print(f"error: --env must be a textworld/* id, got {args.env!r}", file=sys.stderr)
        return 2
    if args.n < 1:
        print("error: --n must be >= 1", file=sys.stderr)
        return 2
    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be >= 1", file=sys.stderr)
        return 2
    try:
        pregen(args.env, args.n, args.split, args.start, parse_settings(args.set or []), jobs=args.jobs)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _cache(args: argparse.Namespace) -> int:
    from .cache import GameCache

    cache = GameCache()
    for family in ("textworld", "alfworld"):
        entries = cache.entries(family)
        print(f"{family}: {len(entries)} games in {cache.root / family}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds ``agentgym textworld {pregen,cache}`` (entry point ``agentgym.commands``)."""
    parser = subparsers.add_parser("textworld", help="TextWorld games: pre-generate and inspect the cache")
    sub = parser.add_subparsers(dest="textworld_command", required=True)
    p = sub.add_parser("pregen", help="generate games into the cache ($AGENTGYM_CACHE or ~/.cache/agentgym)")
    p.add_argument("--env", required=True, help="env id, e.g. textworld/cooking")
    p.add_argument("--n", type=int, default=10, help="number of games (default 10)")
    p.add_argument("--split", choices=["train", "test"], default="train")
    p.add_argument("--start", type=int, default=0, help="first game index (= reset seed) to generate")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a difficulty option, e.g. recipe=2, go=6, open=true, level=10, rewards=sparse")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"worker processes generating games side by side (default: the CPUs here, {default_jobs()})")
    p.set_defaults(func=_pregen)
    c = sub.add_parser("cache", help="show how many games are cached")
    c.set_defaults(func=_cache)
    return parser
