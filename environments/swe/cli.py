"""``agentgym swe …``: validate task rows, export predictions for the SWE-bench harness.

    agentgym swe validate [TASKS] --runs 3 --sandbox docker     # bundled tasks when TASKS is omitted
    agentgym swe export-predictions RUN_DIR [--out predictions.jsonl] [--model NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def _cmd_validate(args: argparse.Namespace) -> int:
    from .rows import TaskRowError, load_tasks
    from .validate import validate_tasks

    try:
        tasks = load_tasks(args.tasks)
    except TaskRowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("error: --runs must be >= 1", file=sys.stderr)
        return 2
    results = asyncio.run(validate_tasks(tasks, runs=args.runs, sandbox=args.sandbox))
    for r in results:
        print(json.dumps(r.model_dump()))
    bad = [r.instance_id for r in results if not r.valid]
    print(f"{len(results) - len(bad)}/{len(results)} tasks valid" + (f"; invalid: {', '.join(bad)}" if bad else ""),
          file=sys.stderr)
    return 1 if bad else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .validate import write_predictions

    try:
        path = write_predictions(args.run_dir, args.out, args.model)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``agentgym swe`` (entry point of group ``agentgym.commands``)."""
    parser = subparsers.add_parser("swe", help="validate SWE task rows, export predictions")
    sub = parser.add_subparsers(dest="swe_command")
    p = sub.add_parser("validate", help="gold patch resolves every run, the empty patch never; names flaky tests")
    p.add_argument("tasks", nargs="?", default=None, help="a .jsonl/.json of rows (default: the bundled tasks)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sandbox", default="docker", choices=["docker", "bwrap", "auto"])
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("export-predictions", help="write the harness's predictions JSONL from a run directory")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="default RUN_DIR/predictions.jsonl")
    p.add_argument("--model", default=None, help="model_name_or_path (default: the run's model)")
    p.set_defaults(func=_cmd_export)
    parser.set_defaults(func=lambda a: (parser.print_help(), 2)[1])
