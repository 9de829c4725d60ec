"""`agentgym swe generate`: AST mutations as exact edits, kept only when a test fails, valid and deterministic rows."""

import subprocess
import sys
import textwrap

import pytest

import agentgym
from agentgym.policies.simple import OraclePolicy

from agentgym.environments.swe.generate import GenerateError, candidate_order, generate_tasks
from agentgym.environments.swe.mutations import KINDS, find_mutations
from agentgym.environments.swe.repos import git
from agentgym.environments.swe.rows import load_tasks

SOURCE = '''"""Small helpers."""


def clamp(x, lo=0, hi=10):
    """Keep x within [lo, hi]."""
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x  # in range


def window(items, size):
    return [items[i:i + size] for i in range(len(items) - size + 1)]


def describe(n):
    parity = "even" if n % 2 == 0 else "odd"
    return parity, n


def is_small(n):
    return n <= 3 and n >= -3


def pad(text, width):
    return text.rjust(width, ".")


def total(items):
    acc = 0
    for item in items:
        acc += item
    return acc * 1
'''
TESTS = '''from mini.core import clamp, describe, is_small, pad, total, window


def test_clamp_low():
    assert clamp(-5) == 0


def test_clamp_high():
    assert clamp(50) == 10


def test_clamp_inside():
    assert clamp(4) == 4 and clamp(0) == 0 and clamp(10) == 10


def test_window():
    assert window([1, 2, 3, 4], 2) == [[1, 2], [2, 3], [3, 4]]


def test_describe():
    assert describe(4) == ("even", 4) and describe(7) == ("odd", 7)


def test_is_small():
    assert is_small(3) and is_small(-3) and not is_small(4)


def test_pad():
    assert pad("ab", 4) == "..ab"


def test_total():
    assert total([1, 2, 3]) == 6
'''


def mini_repo(root, tests=TESTS):
    (root / "mini").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "mini" / "__init__.py").write_text("")
    (root / "mini" / "core.py").write_text(SOURCE)
    (root / "tests" / "test_core.py").write_text(tests)
    (root / ".gitignore").write_text("ignored.txt\n")
    (root / "ignored.txt").write_text("not part of the repository\n")
    git(["init", "-q"], root)
    git(["add", "-A"], root)
    git(["commit", "-q", "-m", "mini"], root)
    return root


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-P", "-m", "agentgym.cli", "swe", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_every_kind_is_an_exact_edit_inside_functions():
    muts = find_mutations(SOURCE, "mini/core.py")
    assert {m.kind for m in muts} == set(KINDS)
    for m in muts:
        buggy = m.apply(SOURCE)
        assert buggy != SOURCE and '"""Keep x within [lo, hi]."""' in buggy and "def clamp(x, lo=0, hi=10):" in buggy
        assert "# in range" in buggy or m.kind == "drop_branch"
    edits = {(m.kind, SOURCE.encode()[m.start:m.end].decode(), m.replacement.decode()) for m in muts}
    assert ("flip_comparison", "<", ">") in edits and ("off_by_one", "<", "<=") in edits
    assert ("off_by_one", "1", "0") in edits                                  # range(len(items) - size + 1)
    assert ("wrong_operator", "+=", "-=") in edits and ("wrong_operator", "and", "or") in edits
    assert ("drop_branch", "    if x > hi:\n        return hi\n", "") in edits
    assert ("swap_arguments", 'width, "."', '".", width') in edits
    assert ("wrong_return", "parity, n", "n, parity") in edits and ("wrong_return", "x", "None") in edits
    assert ("wrong_return", "n <= 3 and n >= -3", "not (n <= 3 and n >= -3)") in edits
    assert all(m.function in {"clamp", "window", "describe", "is_small", "pad", "total"} for m in muts)
    # nothing that fails to parse or leaves the tree unchanged; a source that does not parse has no mutations
    assert find_mutations("def f(:\n", "x.py") == []
    assert [m.key for m in muts] == [m.key for m in find_mutations(SOURCE, "mini/core.py")]


def test_candidate_order_is_seeded_and_spreads_over_kinds(tmp_path):
    files = {"mini/core.py": SOURCE.encode(), "tests/test_core.py": TESTS.encode()}
    first = candidate_order(files, seed=3)
    assert [m.key for m in first] == [m.key for m in candidate_order(files, seed=3)]
    assert [m.key for m in first] != [m.key for m in candidate_order(files, seed=4)]
    assert len({m.kind for m in first[:6]}) == 6 and all(m.file == "mini/core.py" for m in first)


def test_generate_cli_writes_valid_deterministic_tasks(bwrap_backend, tmp_path):
    repo = mini_repo(tmp_path / "mini")
    args = ["generate", "--repo", str(repo), "--n", "3", "--seed", "7", "--runs", "1", "--sandbox", bwrap_backend]
    done = cli(*args, "--out", str(tmp_path / "a" / "tasks.jsonl"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 valid tasks written" in done.stderr and "invalid: none" in done.stderr
    again = cli(*args[:-4], "--runs", "0", "--sandbox", bwrap_backend, "--out", str(tmp_path / "b" / "tasks.jsonl"),
                "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    text = (tmp_path / "a" / "tasks.jsonl").read_text()
    assert text == (tmp_path / "b" / "tasks.jsonl").read_text()          # same repo and seed, same tasks
    tasks = load_tasks(tmp_path / "a" / "tasks.jsonl")
    assert len(tasks) == 3 and (tmp_path / "a" / "tasks.bundle").is_file()
    for task in tasks:
        row = task.to_row()
        assert row["repo_path"] == str(tmp_path / "a" / "tasks.bundle") and row["test_patch"] == ""
        assert task.fail_to_pass and not set(task.fail_to_pass) & set(task.pass_to_pass)
        assert len(task.fail_to_pass) + len(task.pass_to_pass) == 8
        assert task.fail_to_pass[0] in task.problem_statement and "mini/core.py" not in task.problem_statement
        removed = [line[1:] for line in task.patch.splitlines() if line.startswith("-") and not line.startswith("---")]
        assert not any(line.strip() and line.strip() in task.problem_statement for line in removed)
    # the rows run in swe/tasks as they are: the oracle resolves every one
    summary = await_run(tmp_path / "a" / "tasks.jsonl", bwrap_backend, tmp_path / "run")
    assert summary.errors == 0 and summary.success_rate == 1.0


def await_run(tasks, backend, out):
    return agentgym.run("swe/tasks", OraclePolicy(), episodes=3, concurrency=3, out=out, progress=False,
                        env_kwargs={"tasks": str(tasks), "sandbox": backend})


async def test_gold_patch_restores_the_repository_and_the_bug_breaks_the_tests(bwrap_backend, tmp_path):
    repo = mini_repo(tmp_path / "mini")
    report = await generate_tasks(repo, n=2, seed=1, out=tmp_path / "g" / "tasks.jsonl", runs=2,
                                  sandbox=bwrap_backend)
    assert len(report.rows) == 2 and report.kept == 2 and report.tried >= 2 and not report.invalid
    for row in report.rows:
        clone = tmp_path / row["instance_id"]
        git(["clone", "-q", str(tmp_path / "g" / "tasks.bundle"), str(clone)], tmp_path)
        git(["checkout", "-q", row["base_commit"]], clone)
        assert (clone / "mini" / "core.py").read_text() != SOURCE
        git(["apply", "-"], clone, stdin=row["patch"].encode())
        assert (clone / "mini" / "core.py").read_text() == SOURCE          # gold = the reverse of the bug
        assert not (clone / "ignored.txt").exists()                         # git-ignored files stay out


@pytest.mark.parametrize("case, message", [
    ("missing", "is not a directory"),
    ("no_tests", "do not run"),
    ("failing_tests", "do not run"),
    ("no_source", "no mutable Python source"),
])
def test_unusable_repositories_are_clear_errors(bwrap_backend, tmp_path, case, message):
    repo = tmp_path / "repo"
    if case == "no_tests":
        mini_repo(repo, tests="def helper():\n    pass\n")
    elif case == "failing_tests":
        mini_repo(repo, tests="import mini.missing_module\n\n\ndef test_x():\n    pass\n")
    elif case == "no_source":
        (repo / "tests").mkdir(parents=True)
        (repo / "tests" / "test_a.py").write_text("def test_a():\n    assert True\n")
    done = cli("generate", "--repo", str(repo), "--n", "1", "--out", str(tmp_path / "t.jsonl"), "--sandbox",
               bwrap_backend, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback (most recent call last)" not in done.stderr  # the repository's test log may hold tracebacks
    assert not (tmp_path / "t.jsonl").exists()


async def test_generate_rejects_bad_arguments(tmp_path):
    with pytest.raises(GenerateError, match="n must be >= 1"):
        await generate_tasks(tmp_path, n=0, out=tmp_path / "t.jsonl")
    with pytest.raises(GenerateError, match="pass out="):
        await generate_tasks(tmp_path, n=1)


async def test_statement_rewrite_through_an_openai_compatible_model():
    from agentgym.policies.openai import OpenAIPolicy
    from agentgym.testing import StubOpenAIServer

    from agentgym.environments.swe.statements import failure_details, problem_statement, rewrite_statement

    log = textwrap.dedent("""\
        ______________________________ test_clamp_high ______________________________
            def test_clamp_high():
        >       assert clamp(50) == 10
        E       assert 50 == 10
        E        +  where 50 = clamp(50)
        =========================== short test summary info ===========================
        FAILED tests/test_core.py::test_clamp_high - assert 50 == 10
        """)
    statement = problem_statement(["tests/test_core.py::test_clamp_high"], failure_details(log), "mini")
    assert '"clamp high" no longer holds' in statement and "where 50 = clamp(50)" in statement
    assert "assert clamp(50) == 10" not in statement.split("```")[0]
    with StubOpenAIServer() as server:
        policy = OpenAIPolicy("stub", base_url=server.url)
        try:
            rewritten = await rewrite_statement(statement, policy)
        finally:
            await policy.aclose()
    sent = server.requests[0]["messages"]
    assert sent[0]["role"] == "system" and "Do not guess" in sent[0]["content"] and sent[1]["content"] == statement
    assert rewritten == "look"  # the stub model's reply replaces the statement
