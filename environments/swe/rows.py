"""Task rows in SWE-bench's format, checked before anything runs.

    tasks = load_tasks("tasks.jsonl")                 # .jsonl, .json (a list), a list of dicts, a datasets.Dataset
    tasks = load_tasks(None)                          # the bundled, validated tasks
    tasks[0].instance_id, tasks[0].fail_to_pass       # FAIL_TO_PASS decoded to a list of test ids

Every row needs SWE-bench's twelve fields (``instance_id, repo, base_commit, problem_statement,
patch, test_patch, FAIL_TO_PASS, PASS_TO_PASS, version, environment_setup_commit, hints_text,
created_at``); ``FAIL_TO_PASS``/``PASS_TO_PASS`` are JSON-encoded lists of test ids (as on the
Hub) or plain lists. Optional, for offline use: ``repo_path`` (a local git repository, a git
bundle, or ``bundled:NAME`` for a library shipped in environments/swe/libraries), ``image``,
``test_cmd`` (default ``python -m pytest -rA``), ``setup_cmd``, ``test_files``. A bad row raises
:class:`TaskRowError` naming the row and the field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentgym.errors import ConfigError

REQUIRED_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch",
                   "FAIL_TO_PASS", "PASS_TO_PASS", "version", "environment_setup_commit", "hints_text",
                   "created_at")
OPTIONAL_FIELDS = ("repo_path", "image", "test_cmd", "setup_cmd", "test_files")
DEFAULT_TEST_CMD = "python -m pytest -rA"
DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_TASKS = DATA_DIR / "tasks.jsonl"


class TaskRowError(ConfigError):
    """A task row that cannot be used; the message names the row and the field."""


class SWETask(BaseModel):
    """One SWE-bench row (test lists decoded) plus the optional offline fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str
    test_patch: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    version: str
    environment_setup_commit: str
    hints_text: str
    created_at: str
    repo_path: str | None = None
    image: str | None = None
    test_cmd: str = DEFAULT_TEST_CMD
    setup_cmd: str | None = None
    test_files: list[str] | None = None

    def to_row(self) -> dict[str, Any]:
        """The row in SWE-bench's on-disk shape (test lists JSON-encoded)."""
        row = {k: getattr(self, k) for k in REQUIRED_FIELDS if k not in ("FAIL_TO_PASS", "PASS_TO_PASS")}
        row["FAIL_TO_PASS"] = json.dumps(self.fail_to_pass)
        row["PASS_TO_PASS"] = json.dumps(self.pass_to_pass)
        for key in OPTIONAL_FIELDS:
            value = getattr(self, key)
            if value is not None and not (key == "test_cmd" and value == DEFAULT_TEST_CMD):
                row[key] = value
        return row

    def test_targets(self) -> list[str]:
        """Test files to run: ``test_files``, else the files ``test_patch`` touches (SWE-bench's directives)."""
        if self.test_files:
            return list(self.test_files)
        files = []
        for line in self.test_patch.splitlines():
            if line.startswith("diff --git a/"):
                path = line.split(" b/", 1)[-1]
                if path.endswith(".py") and path not in files:
                    files.append(path)
        return files


def _where(index: int, row: Any) -> str:
    name = row.get("instance_id") if isinstance(row, dict) else None
    return f"task row {index}" + (f" ({name!r})" if isinstance(name, str) and name else "")


def _test_list(value: Any, field: str, where: str) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TaskRowError(f"{where}: field {field} is not a JSON list of test ids ({exc.msg} at char "
                               f"{exc.pos}); write it like '[\"tests/test_x.py::test_y\"]'") from None
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise TaskRowError(f"{where}: field {field} must be a list of non-empty test-id strings, got "
                           f"{json.dumps(value, default=str)[:120]}")
    return value


def validate_row(row: Any, index: int = 0, base_dir: Path | None = None) -> SWETask:
    """Checks one row and returns it as an :class:`SWETask`; raises TaskRowError naming row and field."""
    where = _where(index, row)
    if not isinstance(row, dict):
        raise TaskRowError(f"{where}: a task row must be an object with SWE-bench's fields, got {type(row).__name__}")
    missing = [f for f in REQUIRED_FIELDS if f not in row]
    if missing:
        raise TaskRowError(f"{where}: missing field(s) {', '.join(missing)} (SWE-bench rows need "
                           f"{', '.join(REQUIRED_FIELDS)})")
    for field in REQUIRED_FIELDS:
        if field in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            continue
        value = row[field]
        if field in ("hints_text", "environment_setup_commit", "version", "created_at") and value is None:
            continue
        if not isinstance(value, str):
            raise TaskRowError(f"{where}: field {field} must be a string, got {type(value).__name__}")
        if field in ("instance_id", "repo", "base_commit", "problem_statement", "patch") and not value.strip():
            raise TaskRowError(f"{where}: field {field} is empty")
    f2p = _test_list(row["FAIL_TO_PASS"], "FAIL_TO_PASS", where)
    if not f2p:
        raise TaskRowError(f"{where}: field FAIL_TO_PASS is empty; a task needs at least one test the fix makes pass")
    p2p = _test_list(row["PASS_TO_PASS"], "PASS_TO_PASS", where)
    if not row["patch"].lstrip().startswith(("diff --git", "--- ")):
        raise TaskRowError(f"{where}: field patch is not a unified diff (it should start with 'diff --git')")
    values = {k: ("" if row[k] is None else row[k]) for k in REQUIRED_FIELDS}
    values.update(fail_to_pass=f2p, pass_to_pass=p2p)
    for key in OPTIONAL_FIELDS:
        if row.get(key) is None:
            continue
        value = row[key]
        if key == "test_files":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TaskRowError(f"{where}: field test_files must be a list of paths")
        elif not isinstance(value, str) or not value.strip():
            raise TaskRowError(f"{where}: field {key} must be a non-empty string")
        values[key] = value
    repo_path = values.get("repo_path")
    if repo_path and not repo_path.startswith("bundled:"):
        path = Path(os.path.expanduser(repo_path))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.exists():
            raise TaskRowError(f"{where}: field repo_path {repo_path!r} does not exist (a git repository or bundle)")
        values["repo_path"] = str(path.resolve())
    if not repo_path and not values.get("image"):
        raise TaskRowError(f"{where}: neither repo_path nor image is set; offline tasks need repo_path (a local "
                           "git repository) or image (a prebuilt image holding the repository)")
    return SWETask.model_validate(values)


def _read_rows(source: Any) -> tuple[list[Any], Path | None]:
    if source is None or source == "bundled":
        source = BUNDLED_TASKS
    if isinstance(source, (str, os.PathLike)):
        path = Path(os.path.expanduser(str(source)))
        if not path.is_file():
            raise TaskRowError(f"tasks file {str(path)!r} does not exist; pass a .jsonl/.json file, a list of rows "
                               "or a datasets.Dataset")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TaskRowError(f"{path}: not valid JSON ({exc})") from None
            rows = data.get("tasks") if isinstance(data, dict) else data
            if not isinstance(rows, list):
                raise TaskRowError(f"{path}: expected a JSON list of task rows (or {{\"tasks\": [...]}})")
            return rows, path.parent
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise TaskRowError(f"{path} line {number}: not valid JSON ({exc})") from None
        return rows, path.parent
    if isinstance(source, dict):
        return [source], None
    if isinstance(source, Iterable):
        return [dict(r) if hasattr(r, "keys") and not isinstance(r, dict) else r for r in source], None
    raise TaskRowError(f"tasks must be a path, a list of rows or a datasets.Dataset, got {type(source).__name__}")


def load_tasks(source: Any = None) -> list[SWETask]:
    """Every row of ``source``, validated; raises TaskRowError on the first bad row (or duplicate id)."""
    rows, base_dir = _read_rows(source)
    if not rows:
        raise TaskRowError("no task rows found")
    tasks, seen = [], set()
    for index, row in enumerate(rows):
        task = validate_row(row, index, base_dir)
        if task.instance_id in seen:
            raise TaskRowError(f"{_where(index, row)}: duplicate instance_id {task.instance_id!r}")
        seen.add(task.instance_id)
        tasks.append(task)
    return tasks


__all__ = ["SWETask", "TaskRowError", "load_tasks", "validate_row", "REQUIRED_FIELDS", "DEFAULT_TEST_CMD"]
