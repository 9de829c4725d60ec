"""``agentgym alfworld ...``: pre-generate offline problems and check the official data.

    agentgym alfworld pregen --task all --n 60 --split train
    agentgym alfworld status
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def pregen(task: str, n: int, split: str, start: int, max_receptacles: int | None, out=None) -> list[str]:
    """Generates (and plans) problems for seeds ``start .. start+n-1``; returns their game files."""
    from .env import AlfWorldEnv

    env = AlfWorldEnv(task, source="generated", split=split, max_receptacles=max_receptacles)
    out = out or sys.stdout
    files = []
    for seed in range(start, start + n):
        t0 = time.perf_counter()
        path = env.game_file(seed)
        plan = json.loads(path.read_text())["walkthrough"]
        task_type = json.loads(path.with_name("traj_data.json").read_text())["task_type"]
        files.append(str(path))
        print(f"[{seed - start + 1}/{n}] {task_type} {split} #{seed}: {len(plan)}-step plan "
              f"({time.perf_counter() - t0:.1f}s) {path}", file=out)
    return files


def _pregen(args: argparse.Namespace) -> int:
    if args.n < 1:
        print("error: --n must be >= 1", file=sys.stderr)
        return 2
    try:
        pregen(args.task, args.n, args.split, args.start, args.max_receptacles or None)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _status(args: argparse.Namespace) -> int:
    from ..textworld.cache import GameCache
    from .official import DATA_ENV_VAR, SPLITS, data_root, official_games

    root = data_root()
    if root is None:
        print(f"official data: not found (${DATA_ENV_VAR} unset or without json_2.1.1/); "
              "alfworld/* envs use offline-generated problems")
    else:
        counts = ", ".join(f"{s}={len(official_games(s))}" for s in SPLITS)
        print(f"official data: {root} ({counts} solvable games)")
    cache = GameCache()
    print(f"generated problems cached: {len(cache.entries('alfworld'))} in {cache.root / 'alfworld'}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Adds ``agentgym alfworld {pregen,status}`` (entry point ``agentgym.commands``)."""
    from . import TASKS

    parser = subparsers.add_parser("alfworld", help="ALFWorld: pre-generate offline problems, check official data")
    sub = parser.add_subparsers(dest="alfworld_command", required=True)
    p = sub.add_parser("pregen", help="generate and plan problems into the cache")
    p.add_argument("--task", choices=sorted(TASKS), default="all", help="task type (default: all, seed %% 6 picks it)")
    p.add_argument("--n", type=int, default=12, help="number of problems (default 12)")
    p.add_argument("--split", choices=["train", "test"], default="train")
    p.add_argument("--start", type=int, default=0, help="first seed")
    p.add_argument("--max-receptacles", type=int, default=10, help="receptacles per room (0 = the whole room)")
    p.set_defaults(func=_pregen)
    s = sub.add_parser("status", help="official data location and cached problem counts")
    s.set_defaults(func=_status)
    return parser
