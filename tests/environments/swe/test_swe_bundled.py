"""The bundled library and its hand-written tasks: a real test suite, reproducible base commits, honest rows."""

import subprocess
import sys

import pytest

from agentgym.environments.swe.bundled import GENERATED, SPECS, build_row, remove_tests
from agentgym.environments.swe.logs import parse_log_pytest
from agentgym.environments.swe.repos import LIBRARIES_DIR, bundled_repo, git, task_tree
from agentgym.environments.swe.rows import load_tasks


@pytest.fixture(scope="module")
def tasks():
    return load_tasks(None)


@pytest.mark.parametrize("library", ["semverlite", "calendarlite"])
def test_library_has_at_least_30_passing_tests(library):
    done = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"],
                          cwd=LIBRARIES_DIR / library, capture_output=True, text=True, timeout=300)
    statuses = parse_log_pytest(done.stdout)
    assert done.returncode == 0, done.stdout[-2000:]
    assert len(statuses) >= 30 and set(statuses.values()) == {"PASSED"}
    assert len({t.split("[")[0] for t in statuses}) >= 30  # distinct test functions, not just parameters


def test_at_least_50_tasks_from_two_libraries_hand_written_and_generated(tasks):
    assert len(tasks) >= 50
    by_library = {}
    for task in tasks:
        by_library.setdefault(task.repo_path, []).append(task)
    assert sorted(by_library) == ["bundled:calendarlite", "bundled:semverlite"]
    generated = [t for t in tasks if "-gen-" in t.instance_id]
    assert len(generated) == sum(GENERATED.values()) and len(tasks) - len(generated) == len(SPECS)
    assert all(t.test_patch == "" and t.fail_to_pass for t in generated)
    changes = [frozenset(line for line in t.patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))
               for t in tasks]
    assert len(set(changes)) == len(tasks)  # no bug twice


@pytest.mark.parametrize("library", ["semverlite", "calendarlite"])
def test_base_commits_rebuild_deterministically(tasks, tmp_path, monkeypatch, library):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    repo = bundled_repo(library, tasks)
    for task in (t for t in tasks if t.repo_path == f"bundled:{library}"):
        assert git(["rev-parse", f"task/{task.instance_id}"], repo).stdout.decode().strip() == task.base_commit


def test_base_tree_has_the_bug_and_hides_the_new_tests(tasks, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    specs = {s.id: s for s in SPECS}
    for task in tasks:
        tree = task_tree(task, tasks)
        if task.instance_id not in specs:  # generated: the gold patch changes the base tree back to the library
            path = task.patch.split("\n", 1)[0].split(" b/")[-1]
            assert (tree / path).read_bytes() != (LIBRARIES_DIR / task.repo_path.split(":")[1] / path).read_bytes()
            continue
        spec = specs[task.instance_id]
        assert spec.buggy in (tree / spec.file).read_text()
        for test_id in spec.hidden:
            path, name = test_id.split("::")
            assert f"def {name}(" not in (tree / path).read_text()
            assert test_id in task.fail_to_pass
        assert not set(task.fail_to_pass) & set(task.pass_to_pass)


def test_rows_are_what_the_generator_makes(tasks):
    # regenerating one row gives the committed row exactly (the file is not stale)
    committed = {t.instance_id: t.to_row() for t in tasks}
    for spec in (SPECS[4], SPECS[-1]):
        row = build_row(spec)
        assert row == {**committed[row["instance_id"]], "test_files": row["test_files"]}


def test_remove_tests_drops_function_and_decorators():
    source = "import pytest\n\n\n@pytest.mark.x\ndef test_a():\n    pass\n\n\ndef test_b():\n    pass\n"
    assert remove_tests(source, ["test_a"]) == "import pytest\n\n\ndef test_b():\n    pass\n"
    with pytest.raises(ValueError):
        remove_tests(source, ["test_missing"])
