"""``agentgym textworld ...``: fill the game cache ahead of a run and inspect it.

    agentgym textworld pregen --env textworld/cooking --n 50 --set recipe=2 --set go=6 --set open=true
    agentgym textworld pregen --env textworld/coin_collector --n 20 --split test --set level=10
    agentgym textworld cache
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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


def pregen(env_id: str, n: int, split: str, start: int, settings: dict[str, Any], out=None) -> list[str]:
    """Generates games ``start .. start+n-1`` of ``split`` for ``env_id``; returns their files."""
    import agentgym

    from .games import ensure_game

    env = agentgym.make(env_id, split=split, **settings)
    out = out or sys.stdout
    files = []
    for index in range(start, start + n):
        t0 = time.perf_counter()
        game = ensure_game(env.settings, index, env.split, env.cache)
        files.append(game.path)
        print(f"[{index - start + 1}/{n}] {env_id} {split} #{index}: {len(game.walkthrough)}-step walkthrough, "
              f"max score {game.max_score} ({time.perf_counter() - t0:.1f}s) {game.path}", file=out)
    return files


def _pregen(args: argparse.Namespace) -> int:
    if not args.env.startswith("textworld/"):
        print(f"error: --env must be a textworld/* id, got {args.env!r}", file=sys.stderr)
        return 2
    if args.n < 1:
        print("error: --n must be >= 1", file=sys.stderr)
        return 2
    try:
        pregen(args.env, args.n, args.split, args.start, parse_settings(args.set or []))
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
    p.set_defaults(func=_pregen)
    c = sub.add_parser("cache", help="show how many games are cached")
    c.set_defaults(func=_cache)
    return parser
