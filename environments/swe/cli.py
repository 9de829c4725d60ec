"""``agentgym swe …``: generate and validate task rows, export predictions for the SWE-bench harness.

    agentgym swe generate --repo PATH --n 20 --seed 0 --out tasks.jsonl [--runs 3] [--sandbox auto]
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


def _cmd_generate(args: argparse.Namespace) -> int:
    from .generate import GenerateError, generate_tasks
    from .repos import RepoError

    rewrite = None
    if args.rewrite_model:
        from agentgym.policies.openai import OpenAIPolicy

        rewrite = OpenAIPolicy(args.rewrite_model, base_url=args.base_url)
    say = (lambda msg: print(msg, file=sys.stderr)) if not args.quiet else None

    async def generate():
        try:
            return await generate_tasks(args.repo, args.n, args.seed, out=args.out, runs=args.runs,
                                        sandbox=args.sandbox, test_cmd=args.test_cmd, max_tries=args.max_tries,
                                        rewrite=rewrite, progress=say)
        finally:
            if rewrite is not None:
                await rewrite.aclose()

    try:
        report = asyncio.run(generate())
    except (GenerateError, RepoError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds = ", ".join(f"{k} {v}" for k, v in report.by_kind.items() if v)
    print(f"{len(report.rows)} valid tasks written to {report.out} ({report.tried} mutations tried, {report.kept} broke "
          f"a test: {kinds or 'none'}; invalid: {', '.join(report.invalid) or 'none'}; {report.seconds:.1f} s)",
          file=sys.stderr)
    if report.baseline_failing:
        print(f"note: {len(report.baseline_failing)} test(s) already failed before any mutation and were ignored: "
              f"{', '.join(report.baseline_failing[:5])}", file=sys.stderr)
    return 0 if report.rows else 1


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
    parser = subparsers.add_parser("swe", help="generate and validate SWE task rows, export predictions")
    sub = parser.add_subparsers(dest="swe_command")
    p = sub.add_parser("generate", help="inject bugs into a local repository by AST mutation (SWE-smith style)")
    p.add_argument("--repo", required=True, help="a local Python repository whose test suite passes")
    p.add_argument("--n", type=int, default=10, help="tasks to keep (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="tasks JSONL to write; the commits go to a .bundle next to it")
    p.add_argument("--runs", type=int, default=3, help="validation runs per task (0 skips validation)")
    p.add_argument("--sandbox", default="auto", choices=["docker", "bwrap", "auto"])
    p.add_argument("--test-cmd", default="python -m pytest -rA")
    p.add_argument("--max-tries", type=int, default=None, help="stop after this many mutations")
    p.add_argument("--rewrite-model", default=None, help="rewrite problem statements with this model (OpenAI API)")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint for --rewrite-model")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_generate)
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
