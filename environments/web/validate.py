"""Checks that bundled tasks are verified: the oracle solves each one, a no-op agent solves none.

    report = await validate_tasks(["shop", "forum", "calendar"], concurrency=3)
    assert report.ok, report.failures()
    print(report.table())

    agentgym web validate shop forum calendar --concurrency 3
    python -m agentgym.environments.web.validate shop        # the same, without the CLI entry point

One reset per task, on ``concurrency`` envs sharing one browser. On the fresh state the no-op
answer (``"done"``, nothing changed, nothing looked up) is evaluated with
:meth:`WebEnv.check_answer` (which ends nothing); then the oracle script is played in the same
episode through ``step``, each element id read from the live page just before its step
(:meth:`WebEnv.play_oracle_script`), and the final ``answer`` must be scored a success. The
tool calls played become the cached :meth:`WebEnv.oracle` of the task for this process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field

from agentgym.errors import AgentGymError

NOOP_ANSWER = "done"


@dataclass
class TaskCheck:
    """The verdict on one task. ``ok`` means the oracle succeeded and the no-op answer did not."""

    task_id: str
    oracle_success: bool = False
    noop_success: bool = False
    steps: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.oracle_success and not self.noop_success

    def problem(self) -> str:
        if self.error:
            return f"{self.task_id}: {self.error}"
        if not self.oracle_success:
            return f"{self.task_id}: the oracle's answer was scored a failure"
        return f"{self.task_id}: the no-op answer {NOOP_ANSWER!r} was scored a success"


@dataclass
class ValidationReport:
    checks: list[TaskCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failures(self) -> list[str]:
        return [c.problem() for c in self.checks if not c.ok]

    def table(self) -> str:
        good = sum(c.ok for c in self.checks)
        lines = [f"{good}/{len(self.checks)} tasks verified in {self.seconds:.1f} s "
                 f"(oracle solves, no-op fails)"]
        return "\n".join(lines + [f"  FAILED {p}" for p in self.failures()])


async def check_task(env, task_id: str) -> TaskCheck:
    """Resets ``env`` to ``task_id``, scores the no-op answer, then plays and scores the oracle."""
    check, start = TaskCheck(task_id), time.perf_counter()
    try:
        await env.reset(task=task_id)
        check.noop_success = bool((await env.check_answer(NOOP_ANSWER)).success)
        played, last = await env.play_oracle_script()
        check.steps = len(played)
        check.oracle_success = bool(last is not None and last.done and last.success)
        if last is not None and not last.done:
            check.error = "the oracle script ended without an answer"
    except (AgentGymError, ValueError) as e:
        check.error = f"{type(e).__name__}: {str(e)[:300]}"
    check.seconds = time.perf_counter() - start
    return check


async def validate_tasks(sites: list[str] | tuple[str, ...] = ("shop", "forum", "calendar"), *,
                         task_ids: list[str] | None = None, concurrency: int = 2) -> ValidationReport:
    """Checks every bundled task of ``sites`` (or only ``task_ids``), ``concurrency`` at a time."""
    from .env import WebEnv

    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
    envs = [WebEnv(sites=list(sites), split="all") for _ in range(concurrency)]
    ids = task_ids if task_ids is not None else [t["task_id"] for t in envs[0].task_pool()]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for tid in ids:
        queue.put_nowait(tid)
    checks: dict[str, TaskCheck] = {}

    async def worker(env) -> None:
        while not queue.empty():
            tid = queue.get_nowait()
            checks[tid] = await check_task(env, tid)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(worker(env) for env in envs))
    finally:
        await asyncio.gather(*(env.close() for env in envs), return_exceptions=True)
    return ValidationReport([checks[t] for t in ids], time.perf_counter() - start)


def _run(args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(validate_tasks(args.sites or ["shop", "forum", "calendar"], task_ids=args.tasks,
                                            concurrency=args.concurrency))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.table())
    return 0 if report.ok else 1


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sites", nargs="*", help="bundled sites (default: shop forum calendar)")
    parser.add_argument("--task", action="append", dest="tasks", help="only this task id (repeatable)")
    parser.add_argument("--concurrency", type=int, default=2, help="episodes at once, over one browser")
    parser.set_defaults(func=_run)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``agentgym web validate`` (entry point of group ``agentgym.commands``)."""
    parser = subparsers.add_parser("web", help="the web environments' bundled tasks")
    sub = parser.add_subparsers(dest="web_command")
    _arguments(sub.add_parser("validate", help="check that every task's oracle solves it and a no-op agent does not"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentgym.environments.web.validate",
                                     description="Check that every bundled web task's oracle solves it and a "
                                                 "no-op agent does not.")
    _arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
