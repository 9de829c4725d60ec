"""Offline task generation, SWE-smith style: inject bugs by AST mutation, keep those that break tests.

    report = await generate_tasks("path/to/repo", n=20, seed=0, out="tasks.jsonl")
    agentgym swe generate --repo path/to/repo --n 20 --seed 0 --out tasks.jsonl

The repository's files (git-tracked and untracked-not-ignored, or every file) are committed as
one pristine commit. Its test suite runs once in a sandbox; tests that pass there are the
candidates. Mutations (:mod:`.mutations`) of the non-test sources are tried in a seeded order
that alternates the six kinds and spreads over functions; a mutation is kept only when at least
one passing test then fails (FAIL_TO_PASS) and at most ``max_fail_share`` of them do; the
tests that still pass are PASS_TO_PASS. The gold ``patch`` is the reverse diff (buggy ->
correct), ``test_patch`` is empty (the tests are already in the repository, as in SWE-smith),
``base_commit`` is a child of the pristine commit with the bug put in. The commits go to a git
bundle next to ``out`` (``tasks.bundle``, the rows' ``repo_path``). Every task is then
validated as ``agentgym swe validate`` does (gold resolves ``runs`` times, the bug never).
Same repository and seed, same tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .checkout import WORKDIR, make_checkout
from .logs import PASSING, log_format, parse_log
from .mutations import KINDS, Mutation, find_mutations
from .repos import commit_library, commit_task_base, git
from .rows import DEFAULT_TEST_CMD, load_tasks, validate_row
from .statements import failure_details, problem_statement, rewrite_statement

_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".venv", "venv",
              "node_modules", "build", "dist"}
_NOT_SOURCE_DIRS = {"tests", "test", "testing", "docs", "doc", "examples", "benchmarks", "scripts"}
MAX_PER_FUNCTION = 2


class GenerateError(RuntimeError):
    """The repository cannot be used (missing, no sources, tests that do not run); the message says why."""


class GenerateReport(BaseModel):
    """What a generation run did."""

    rows: list[dict[str, Any]] = Field(default_factory=list)   # the valid tasks, in order
    tried: int = 0                                              # mutations run against the tests
    kept: int = 0                                               # broke >= 1 test
    invalid: list[str] = Field(default_factory=list)            # kept but failed validation
    by_kind: dict[str, int] = Field(default_factory=dict)
    baseline_failing: list[str] = Field(default_factory=list)   # tests failing before any mutation (ignored)
    seconds: float = 0.0
    out: str | None = None


def repository_files(path: Path) -> dict[str, bytes]:
    """Relative path -> bytes of the repository's files (git's view when it is a git work tree)."""
    if not path.is_dir():
        raise GenerateError(f"--repo {str(path)!r} is not a directory (a local Python repository with tests)")
    names: list[str] | None = None
    if (path / ".git").exists():
        done = git(["ls-files", "-z", "-co", "--exclude-standard"], path, check=False)
        if done.returncode == 0:
            names = [n for n in done.stdout.decode().split("\0") if n]
    if names is None:
        names = []
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
            names += [str((Path(dirpath) / f).relative_to(path)) for f in filenames]
    files = {}
    for name in sorted(names):
        full = path / name
        if full.is_file() and not full.is_symlink() and not name.endswith((".pyc", ".pyo")) \
                and not set(Path(name).parts) & _SKIP_DIRS:
            files[Path(name).as_posix()] = full.read_bytes()
    return files


def is_source(name: str) -> bool:
    """A non-test Python file (mutation target)."""
    parts = Path(name).parts
    base = parts[-1]
    return (base.endswith(".py") and not set(parts[:-1]) & _NOT_SOURCE_DIRS and not base.startswith("test_")
            and not base.endswith("_test.py") and base not in ("conftest.py", "setup.py", "noxfile.py"))


def candidate_order(files: dict[str, bytes], seed: int, kinds: tuple[str, ...] = KINDS) -> list[Mutation]:
    """Every mutation of the sources, in the seeded order they are tried (kinds alternate, functions spread)."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Mutation]] = {k: [] for k in kinds}
    for name, data in files.items():
        if is_source(name):
            try:
                source = data.decode()
            except UnicodeDecodeError:
                continue
            for m in find_mutations(source, name):
                if m.kind in by_kind:
                    by_kind[m.kind].append(m)
    for pool in by_kind.values():
        rng.shuffle(pool)
    order, per_function = [], {}
    queues = [list(by_kind[k]) for k in sorted(by_kind, key=lambda _: rng.random())]
    while any(queues):
        for queue in queues:
            while queue:
                m = queue.pop(0)
                where = (m.file, m.function)
                if per_function.get(where, 0) < MAX_PER_FUNCTION:
                    per_function[where] = per_function.get(where, 0) + 1
                    order.append(m)
                    break  # next kind; a mutation over its function's cap is dropped
    return order


async def _run_tests(sandbox: Any, test_cmd: str, timeout: float) -> tuple[dict[str, str], str, bool]:
    run = await sandbox.exec(["bash", "-c", f"cd {WORKDIR} && {test_cmd} 2>&1"], timeout=timeout,
                             env={"COLUMNS": "200"})
    return parse_log(run.output, log_format(test_cmd)), run.output, run.timed_out


async def generate_tasks(repo: str | os.PathLike, n: int, seed: int = 0, *, out: str | os.PathLike | None = None,
                         runs: int = 3, sandbox: str = "auto", test_cmd: str = DEFAULT_TEST_CMD,
                         name: str | None = None, files: dict[str, bytes] | None = None, repo_path: str | None = None,
                         repo_name: str | None = None, max_fail_share: float = 0.5, max_tries: int | None = None,
                         test_timeout: float = 120.0, rewrite: Any = None,
                         progress: Callable[[str], None] | None = None) -> GenerateReport:
    """Generates up to ``n`` validated tasks from ``repo``; writes ``out`` (JSONL) and its bundle.

    Without ``out``, ``repo_path`` names where the rows' base commits live (``bundled:NAME`` for
    the bundled libraries, whose ``files`` are passed in). ``rewrite``: a Policy that rewrites each
    problem statement. Raises :class:`GenerateError` for a repository that cannot be used.
    """
    from .sandbox import resolve_backend

    if n < 1 or runs < 0 or not 0 < max_fail_share <= 1:
        raise GenerateError("n must be >= 1, runs >= 0 and 0 < max_fail_share <= 1")
    if out is None and repo_path is None:
        raise GenerateError("pass out= (a .jsonl path; the base commits go to a .bundle next to it) or repo_path=")
    started = time.perf_counter()
    root = Path(repo).expanduser().resolve()
    files = files if files is not None else repository_files(root)
    name = name or root.name
    order = candidate_order(files, seed)
    if not order:
        raise GenerateError(f"{root}: no mutable Python source found (non-test .py files with functions)")
    report = GenerateReport(by_kind={k: 0 for k in KINDS})
    backend = resolve_backend(sandbox)
    say = progress or (lambda _msg: None)
    target = Path(out).expanduser().resolve() if out else None
    work = Path(tempfile.mkdtemp(prefix="agentgym-generate-"))
    try:
        kept, test_files = await _screen(work, files, order, n, test_cmd, test_timeout, max_fail_share, max_tries,
                                         name, root, report, backend, say)
        rows = _rows(work, files, name, kept, test_cmd, test_files, repo_name or f"local/{name}")
        if rewrite is not None:
            for row in rows:
                row["problem_statement"] = await rewrite_statement(row["problem_statement"], rewrite)
        if repo_path is None:
            bundle = target.with_suffix(".bundle")
            bundle.parent.mkdir(parents=True, exist_ok=True)
            git(["bundle", "create", "-q", str(bundle), "--branches"], work / "repo")
            repo_path = bundle.name
        for row in rows:
            row["repo_path"] = repo_path
        if runs:
            rows = await _validated(rows, runs, backend, target.parent if target else work, report, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.rows = rows
    if target:
        target.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
        report.out = str(target)
    report.seconds = time.perf_counter() - started
    return report


async def _screen(work: Path, files: dict[str, bytes], order: list[Mutation], n: int, test_cmd: str,
                  test_timeout: float, max_fail_share: float, max_tries: int | None, name: str, root: Path,
                  report: GenerateReport, backend: str, say: Callable[[str], None]) -> tuple[list, list[str]]:
    """Runs the tests once clean, then once per mutation until ``n`` broke some; returns (kept, test files)."""
    from .sandbox import acquire, release

    tree = work / "tree"
    for rel, data in files.items():
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(data)
    box = await acquire(backend)
    try:
        await make_checkout(box, tree)
        baseline, log, timed_out = await _run_tests(box, test_cmd, test_timeout)
        passing = sorted(t for t, s in baseline.items() if s in PASSING)
        if not passing:
            why = "timed out" if timed_out else "found no passing test"
            raise GenerateError(f"the tests of {root} do not run (`{test_cmd}` {why}); the generator needs a passing "
                                f"test suite. Output:\n{log[-1500:]}")
        report.baseline_failing = sorted(t for t, s in baseline.items() if s not in PASSING)
        test_files = sorted({t.split("::", 1)[0] for t in passing if t.split("::", 1)[0].endswith(".py")})
        kept: list[tuple[Mutation, list[str], list[str], str]] = []
        for mutation in order:
            if len(kept) >= n or (max_tries is not None and report.tried >= max_tries):
                break
            original = files[mutation.file].decode()
            report.tried += 1
            await box.write_file(f"{WORKDIR}/{mutation.file}", mutation.apply(original))
            try:
                statuses, log, timed_out = await _run_tests(box, test_cmd, test_timeout)
            finally:
                await box.write_file(f"{WORKDIR}/{mutation.file}", original)
            failing = [t for t in passing if statuses.get(t) not in PASSING]
            if timed_out or not failing or len(failing) > max_fail_share * len(passing):
                continue
            still = [t for t in passing if statuses.get(t) in PASSING]
            kept.append((mutation, failing, still, problem_statement(failing, failure_details(log), name)))
            report.by_kind[mutation.kind] += 1
            say(f"kept {mutation.kind} in {mutation.file}:{mutation.line} ({len(failing)} failing)")
        report.kept = len(kept)
        return kept, test_files
    finally:
        await release(box)


def _rows(work: Path, files: dict[str, bytes], name: str, kept: list, test_cmd: str, test_files: list[str],
          repo_name: str) -> list[dict[str, Any]]:
    """SWE-bench rows of the kept mutations, their base commits in the repository at ``work/repo``."""
    repo = work / "repo"
    pristine = commit_library(repo, files, f"{name}: library")
    rows = []
    for mutation, failing, still, statement in kept:
        instance_id = f"{name}-gen-{mutation.key}"
        path = repo / mutation.file
        path.write_text(mutation.apply(files[mutation.file].decode()))
        git(["add", "--", mutation.file], repo)  # the index holds the bug, the work tree the fix: diff = gold
        path.write_bytes(files[mutation.file])
        patch = git(["diff", "--no-color", "--", mutation.file], repo).stdout.decode()
        git(["reset", "-q", "--", mutation.file], repo)
        base = commit_task_base(repo, pristine, patch, "", f"{instance_id}: base")
        git(["update-ref", f"refs/heads/task/{instance_id}", base], repo)
        row = {"instance_id": instance_id, "repo": repo_name, "base_commit": base, "problem_statement": statement,
               "patch": patch, "test_patch": "", "FAIL_TO_PASS": json.dumps(failing),
               "PASS_TO_PASS": json.dumps(still), "version": "gen", "environment_setup_commit": base,
               "hints_text": "", "created_at": "2025-01-01T00:00:00Z", "test_files": test_files,
               "repo_path": "bundled:unused"}
        if test_cmd != DEFAULT_TEST_CMD:
            row["test_cmd"] = test_cmd
        validate_row(row)
        rows.append(row)
    return rows


async def _validated(rows: list[dict[str, Any]], runs: int, backend: str, base_dir: Path, report: GenerateReport,
                     say: Callable[[str], None]) -> list[dict[str, Any]]:
    from .grading import Grader
    from .repos import task_tree
    from .validate import validate_task

    resolved = [{**r, "repo_path": r["repo_path"] if r["repo_path"].startswith("bundled:")
                 else str((base_dir / r["repo_path"]).resolve())} for r in rows]
    tasks = load_tasks(resolved) if resolved else []
    grader = Grader(backend)
    good = []
    try:
        for row, task in zip(rows, tasks):
            tree = await asyncio.to_thread(task_tree, task, tasks)
            check = await validate_task(task, grader, tree, runs)
            if check.valid:
                good.append(row)
            else:
                report.invalid.append(task.instance_id)
                say(f"invalid {task.instance_id}: gold {check.gold}, bug {check.empty}, flaky {check.flaky}")
    finally:
        await grader.close()
    return good


__all__ = ["GenerateError", "GenerateReport", "candidate_order", "generate_tasks", "is_source", "repository_files"]
