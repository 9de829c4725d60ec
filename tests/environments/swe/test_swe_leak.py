"""A cheating agent finds nothing: no later commit, tag, branch, reflog entry or object, no gold or test patch,
no task file anywhere in the sandbox (docker: all of /; bwrap: everything but the read-only host system mounts)."""

import json
import subprocess
import uuid

import agentgym

from agentgym.environments.swe.repos import GIT_IDENTITY, cache_root
from agentgym.environments.swe.rows import BUNDLED_TASKS
from swe_helpers import run


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(repo), **GIT_IDENTITY}).stdout.strip()


def make_task(tmp_path, gold_marker, test_marker):
    """A repository whose history after base_commit holds the fix (with a unique marker), a tag and a branch."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "calc.py").write_text(f"def add(a, b):\n    # {gold_marker}\n    return a + b\n")
    _git(repo, "commit", "-q", "-am", f"fix {gold_marker}")
    patch = _git(repo, "diff", base, "HEAD") + "\n"
    _git(repo, "tag", "v-fixed")
    _git(repo, "branch", "fixed")
    (repo / "test_calc.py").write_text("from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n\n\n"
                                       f"def test_add():\n    assert add(2, 3) == 5  # {test_marker}\n")
    _git(repo, "commit", "-q", "-am", "test")
    test_patch = _git(repo, "diff", "HEAD~1", "HEAD", "--", "test_calc.py") + "\n"
    _git(repo, "reset", "-q", "--hard", "HEAD~1")  # leaves an unreachable commit and reflog entries
    return {"instance_id": "leak-1", "repo": "local/calc", "base_commit": base, "problem_statement": "add subtracts",
            "patch": patch, "test_patch": test_patch, "FAIL_TO_PASS": json.dumps(["test_calc.py::test_add"]),
            "PASS_TO_PASS": json.dumps(["test_calc.py::test_zero"]), "version": "1", "environment_setup_commit": base,
            "hints_text": "", "created_at": "2025-01-01", "repo_path": str(repo)}


async def test_cheating_agent_finds_nothing(backend, tmp_path):
    gold_marker, test_marker = f"GOLD_{uuid.uuid4().hex}", f"TEST_{uuid.uuid4().hex}"
    row = make_task(tmp_path, gold_marker, test_marker)
    env = agentgym.make("swe/tasks", tasks=[row], sandbox=backend)
    try:
        await env.reset(seed=0)
        _, text = await run(env, "bash", command="git log --all --oneline; git tag; git branch -a; git stash list")
        assert text.split()[1:] == ["base", "*", "main"]  # one commit, no tag, one branch, no stash
        _, text = await run(env, "bash", command="git reflog --all --format=%H | sort -u; git rev-parse HEAD")
        assert len(set(text.split())) == 1  # every reflog entry is the base commit
        _, text = await run(env, "bash", command="git fsck --lost-found --unreachable --dangling 2>&1; "
                                                 "ls .git/lost-found 2>/dev/null; git cat-file --batch-all-objects "
                                                 "--batch-check | wc -l")
        assert "unreachable" not in text and "dangling" not in text and int(text.split()[-1]) == 4  # commit, tree, 2 blobs
        scope = "/" if backend == "docker" else "/workspace /tmp /etc /home /root /work"
        prune = "" if backend == "docker" else "-not -path '/root/.pyenv/*' -not -path '/work/main/.venv/*'"
        for marker in (gold_marker, test_marker):
            _, text = await run(env, "bash", timeout=300, command=(
                f"find {scope} -xdev {prune} -type f -readable -print0 2>/dev/null | xargs -0 grep -lsF "
                f"--binary-files=text {marker}; echo done"))
            assert text.split() == ["done"], text
        paths = [str(BUNDLED_TASKS), str(cache_root()), str(tmp_path), row["repo_path"]]
        _, text = await run(env, "bash", command=" ; ".join(f"test -e {p} && echo FOUND {p}" for p in paths) + "; echo ok")
        assert "FOUND" not in text
        res, _ = await run(env, "str_replace_editor", command="str_replace", path="calc.py", old_str="a - b",
                           new_str="a + b")
        res, _ = await run(env, "submit")
        assert res.success  # the task itself is sound: the fix resolves it
    finally:
        await env.close()
