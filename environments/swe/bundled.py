"""The hand-written bug tasks of the bundled libraries, and the script that turns them into rows.

    python -m agentgym.environments.swe.bundled          # rewrites environments/swe/data/tasks.jsonl

Each :class:`BugSpec` names a library file, a snippet of the correct code and the buggy code
that replaces it, the tests to hide at ``base_commit`` (``test_patch`` adds them back) and an
issue-style problem statement. The gold ``patch`` is the diff buggy -> correct; FAIL_TO_PASS
and PASS_TO_PASS come from running the library's tests with and without the fix (here, on the
host: it is our own code). ``agentgym swe validate`` re-checks every row in a sandbox.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .logs import parse_log_pytest
from .repos import commit_library, commit_task_base, git, library_files
from .rows import BUNDLED_TASKS, validate_row


@dataclass(frozen=True)
class BugSpec:
    id: str
    library: str
    file: str
    correct: str
    buggy: str
    hidden: tuple[str, ...]  # "tests/test_x.py::test_name" removed at base_commit
    statement: str
    hints: str = ""


SEMVER = "semverlite"
SPECS: tuple[BugSpec, ...] = (
    BugSpec("semverlite-1", SEMVER, "semverlite/version.py",
            "        a, b = int(left), int(right)\n", "        a, b = left, right\n",
            ("tests/test_version.py::test_numeric_prerelease_identifiers_compare_numerically",),
            "Pre-release numbers are compared as text\n\n`Version.parse(\"1.0.0-rc.2\") < Version.parse(\"1.0.0-rc.10\")` "
            "returns False. Per semver 2.0 section 11, identifiers consisting of only digits are compared "
            "numerically, so rc.2 must sort before rc.10."),
    BugSpec("semverlite-2", SEMVER, "semverlite/version.py",
            "    if not left:\n        return 1\n    if not right:\n        return -1\n",
            "    if not left:\n        return -1\n    if not right:\n        return 1\n",
            ("tests/test_version.py::test_prerelease_is_lower_than_release",),
            "Release versions sort below their pre-releases\n\n`Version.parse(\"1.0.0-alpha\") < Version.parse(\"1.0.0\")` "
            "is False, and `sorted()` puts 1.0.0 before 1.0.0-rc.1. A pre-release has lower precedence than the "
            "normal version with the same major, minor and patch."),
    BugSpec("semverlite-3", SEMVER, "semverlite/ranges.py",
            "    if major > 0 or minor is None:\n        high = Version(major + 1)\n",
            "    if major >= 0 or minor is None:\n        high = Version(major + 1)\n",
            ("tests/test_ranges.py::test_caret_zero_major_locks_minor",
             "tests/test_ranges.py::test_caret_zero_minor_locks_patch"),
            "Caret ranges on 0.x versions allow breaking minor upgrades\n\n`satisfies(\"0.3.0\", \"^0.2.3\")` is True "
            "but should be False: for a 0.x version the caret allows only patch-level changes "
            "(^0.2.3 means >=0.2.3 <0.3.0, and ^0.0.3 means >=0.0.3 <0.0.4)."),
    BugSpec("semverlite-4", SEMVER, "semverlite/ranges.py",
            "    high = Version(major + 1) if minor is None else Version(major, minor + 1)\n"
            "    return [Comparator(\">=\", low), Comparator(\"<\", high)]\n\n\ndef _x_range",
            "    high = Version(major + 1)\n"
            "    return [Comparator(\">=\", low), Comparator(\"<\", high)]\n\n\ndef _x_range",
            ("tests/test_ranges.py::test_tilde_allows_patch_changes",),
            "Tilde ranges accept new minor versions\n\n`satisfies(\"1.3.0\", \"~1.2.3\")` returns True. A tilde range "
            "with a minor version must only allow patch-level changes: ~1.2.3 means >=1.2.3 <1.3.0."),
    BugSpec("semverlite-5", SEMVER, "semverlite/version.py",
            "        return Version(self.major, self.minor + 1, 0)\n",
            "        return Version(self.major, self.minor + 1, self.patch)\n",
            ("tests/test_version.py::test_bump_minor_resets_patch",),
            "bump_minor keeps the patch number\n\n`Version.parse(\"1.4.2\").bump_minor()` gives 1.5.2; the next minor "
            "release of 1.4.2 is 1.5.0."),
    BugSpec("semverlite-6", SEMVER, "semverlite/version.py",
            "        pre = tuple(match[\"pre\"].split(\".\")) if match[\"pre\"] else ()\n        _check_prerelease(pre, text)\n",
            "        pre = tuple(match[\"pre\"].split(\".\")) if match[\"pre\"] else ()\n",
            ("tests/test_version.py::test_parse_rejects_leading_zero_in_numeric_prerelease",),
            "Leading zeros accepted in numeric pre-release identifiers\n\n`Version.parse(\"1.2.3-rc.01\")` succeeds. "
            "Semver forbids leading zeros in numeric identifiers, so it should raise InvalidVersion "
            "(alphanumeric identifiers such as `0a` stay valid)."),
    BugSpec("semverlite-7", SEMVER, "semverlite/version.py",
            "        return hash((self.release, self.prerelease))\n",
            "        return hash((self.release, self.prerelease, self.build))\n",
            ("tests/test_version.py::test_build_metadata_ignored_in_equality_and_hash",),
            "Equal versions hash differently\n\n`Version.parse(\"1.0.0+one\") == Version.parse(\"1.0.0+two\")` is True, "
            "but a set of the two holds two elements. Build metadata does not take part in precedence, so equal "
            "versions must have equal hashes."),
    BugSpec("semverlite-8", SEMVER, "semverlite/ranges.py",
            "version > best[0]", "version < best[0]",
            ("tests/test_ranges.py::test_max_satisfying_picks_highest",
             "tests/test_ranges.py::test_max_satisfying_returns_input_spelling"),
            "max_satisfying returns the lowest match\n\n`max_satisfying([\"1.2.3\", \"1.9.0\", \"1.4.0\"], \"^1.2.0\")` "
            "returns '1.2.3'; it should return the highest version in the range, '1.9.0'."),
    BugSpec("semverlite-9", SEMVER, "semverlite/ranges.py",
            "\"<=\": [Comparator(\"<\", ceiling)]", "\"<=\": [Comparator(\"<=\", floor)]",
            ("tests/test_ranges.py::test_partial_less_than_or_equal",
             "tests/test_ranges.py::test_hyphen_range_partial_upper_bound"),
            "<= with a partial version excludes most of that version\n\n`satisfies(\"1.2.9\", \"<=1.2\")` is False. "
            "A partial version stands for all its patch releases, so <=1.2 must accept every 1.2.x "
            "(it means <1.3.0). Hyphen ranges with a partial upper bound (\"1.2 - 2.3\") have the same problem."),
    BugSpec("semverlite-10", SEMVER, "semverlite/ranges.py",
            "c.version.release == version.release", "c.version.major == version.major",
            ("tests/test_ranges.py::test_prerelease_allowed_when_named",),
            "Pre-releases of other versions slip into ranges\n\n`satisfies(\"1.2.4-rc.1\", \">=1.2.3-rc.1 <2.0.0\")` "
            "is True. A pre-release should only match when a comparator names a pre-release of the same "
            "major.minor.patch (here 1.2.3)."),
    BugSpec("semverlite-11", SEMVER, "semverlite/version.py",
            "            text += \"+\" + \".\".join(self.build)\n",
            "            text += \"-\" + \".\".join(self.build)\n",
            ("tests/test_version.py::test_str_round_trip",),
            "str() loses build metadata separator\n\n`str(Version.parse(\"1.2.3+exp.sha.5114f85\"))` gives "
            "'1.2.3-exp.sha.5114f85', which is a different (pre-release) version. Build metadata must be "
            "written after a '+'."),
    BugSpec("semverlite-12", SEMVER, "semverlite/version.py",
            "            parts[-1] = str(int(parts[-1]) + 1)\n",
            "            parts[-1] = parts[-1] + \"1\"\n",
            ("tests/test_version.py::test_bump_prerelease",),
            "bump_prerelease appends digits instead of incrementing\n\n`Version.parse(\"1.4.3-rc.0\").bump_prerelease()` "
            "gives 1.4.3-rc.01 (which is not even a valid version); it should give 1.4.3-rc.1."),
)


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


def main() -> None:
    rows = [build_row(spec) for spec in SPECS]
    BUNDLED_TASKS.parent.mkdir(parents=True, exist_ok=True)
    BUNDLED_TASKS.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows))
    print(f"wrote {len(rows)} tasks to {BUNDLED_TASKS}")


if __name__ == "__main__":
    main()
