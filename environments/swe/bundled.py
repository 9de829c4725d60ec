"""The bundled tasks: hand-written bugs (:mod:`.bugs`) plus generated ones, turned into validated rows.

    python -m agentgym.environments.swe.bundled [--runs 3] [--sandbox bwrap]   # rewrites data/tasks.jsonl

For a :class:`~.bugs.BugSpec` the gold ``patch`` is the diff buggy -> correct; FAIL_TO_PASS
and PASS_TO_PASS come from running the library's tests with and without the fix (here, on the
host: it is our own code). Then :data:`GENERATED` tasks per library come from the mutation
generator (:mod:`.generate`, seed :data:`GENERATE_SEED`), minus any that repeat a hand-written
bug; the generator validates them in a sandbox. ``agentgym swe validate`` re-checks every row.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .bugs import SPECS, BugSpec
from .logs import parse_log_pytest
from .repos import commit_library, commit_task_base, git, library_files
from .rows import BUNDLED_TASKS, validate_row

GENERATED = {"semverlite": 16, "calendarlite": 20}   # generated tasks per library
GENERATE_SEED = 2025


def remove_tests(source: str, names: list[str]) -> str:
    """``source`` without the top-level test functions ``names`` (decorators and trailing blank lines too)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            end = node.end_lineno
            while end < len(lines) and not lines[end].strip():
                end += 1
            spans.append((start, end))
    found = len(spans)
    if found != len(names):
        raise ValueError(f"expected test functions {names}, found {found}")
    for start, end in sorted(spans, reverse=True):
        del lines[start:end]
    return "".join(lines)


def _diff(repo: Path, paths: list[str]) -> str:
    return git(["diff", "--no-color", "--", *paths], repo).stdout.decode()


def _run_tests(files: dict[str, bytes]) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        for rel, data in files.items():
            (Path(tmp) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / rel).write_bytes(data)
        done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"], cwd=tmp,
                              capture_output=True, text=True, timeout=300, env={"PYTHONDONTWRITEBYTECODE": "1",
                                                                               "PATH": "/usr/bin:/bin"})
        return parse_log_pytest(done.stdout)


def build_row(spec: BugSpec) -> dict:
    """The SWE-bench row of one spec (patches, base_commit and test lists computed)."""
    files = library_files(spec.library)
    if files[spec.file].decode().count(spec.correct) != 1:
        raise ValueError(f"{spec.id}: the correct snippet must occur exactly once in {spec.file}")
    hidden: dict[str, list[str]] = {}
    for test_id in spec.hidden:
        path, name = test_id.split("::")
        hidden.setdefault(path, []).append(name)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        base_files = dict(files)
        base_files[spec.file] = files[spec.file].decode().replace(spec.correct, spec.buggy).encode()
        for path, names in hidden.items():
            base_files[path] = remove_tests(files[path].decode(), names).encode()
        commit_library(repo, base_files, "scratch")
        for rel, data in files.items():
            (repo / rel).write_bytes(data)
        patch = _diff(repo, [spec.file])
        test_patch = _diff(repo, sorted(hidden))
        pristine_repo = repo / "pristine"
        pristine = commit_library(pristine_repo, files, f"{spec.library}: library")
        base_commit = commit_task_base(pristine_repo, pristine, patch, test_patch, f"{spec.id}: base")
    before = _run_tests({**files, spec.file: base_files[spec.file]})  # bug in, all tests present
    after = _run_tests(files)
    fail_to_pass = sorted(t for t, s in before.items() if s in ("FAILED", "ERROR") and after.get(t) == "PASSED")
    pass_to_pass = sorted(t for t, s in before.items() if s == "PASSED" and after.get(t) == "PASSED")
    missing = [t for t in spec.hidden if t not in fail_to_pass]
    if missing:
        raise ValueError(f"{spec.id}: hidden tests {missing} do not fail with the bug")
    test_files = sorted(p for p in files if p.startswith("tests/test_") and p.endswith(".py"))
    row = {
        "instance_id": spec.id, "repo": f"agentgym/{spec.library}", "base_commit": base_commit,
        "problem_statement": spec.statement, "patch": patch, "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(fail_to_pass), "PASS_TO_PASS": json.dumps(pass_to_pass), "version": "1.0",
        "environment_setup_commit": base_commit, "hints_text": spec.hints, "created_at": "2025-01-01T00:00:00Z",
        "repo_path": f"bundled:{spec.library}", "test_files": test_files,
    }
    validate_row(row)
    return row


def _changes(patch: str) -> frozenset[str]:
    return frozenset(line for line in patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))


async def generated_rows(handwritten: list[dict], runs: int = 3, sandbox: str = "auto") -> list[dict]:
    """The generated tasks of every library in :data:`GENERATED` (validated, none repeating a hand-written bug)."""
    from .generate import generate_tasks
    from .repos import LIBRARIES_DIR

    known = {_changes(row["patch"]) for row in handwritten}
    rows = []
    for library, n in GENERATED.items():
        report = await generate_tasks(LIBRARIES_DIR / library, n + 2, GENERATE_SEED, files=library_files(library),
                                      name=library, repo_path=f"bundled:{library}", repo_name=f"agentgym/{library}",
                                      runs=runs, sandbox=sandbox, progress=print)
        fresh = [row for row in report.rows if _changes(row["patch"]) not in known]
        if len(fresh) < n:
            raise RuntimeError(f"{library}: only {len(fresh)} generated tasks (wanted {n}); invalid: {report.invalid}")
        rows += fresh[:n]
    return rows


def main(argv: list[str] | None = None) -> None:
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(description="rebuild the bundled SWE tasks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sandbox", default="auto", choices=["docker", "bwrap", "auto"])
    args = parser.parse_args(argv)
    rows = [build_row(spec) for spec in SPECS]
    rows += asyncio.run(generated_rows(rows, args.runs, args.sandbox))
    BUNDLED_TASKS.parent.mkdir(parents=True, exist_ok=True)
    BUNDLED_TASKS.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    print(f"wrote {len(rows)} tasks to {BUNDLED_TASKS}")


if __name__ == "__main__":
    main()
