"""Host-side repositories: the bundled libraries as git repos, and a task's tree at ``base_commit``.

    tree = await asyncio.to_thread(task_tree, task)   # a cached host directory: the files at base_commit, no .git

The agent never sees these repositories: a sandbox receives only the *files* of the tree and
makes a fresh one-commit repository of them (see :mod:`.checkout`), so no later commit, tag,
branch, reflog entry or packed object exists inside it.

Bundled libraries (``repo_path: bundled:NAME``) live as plain source in
``environments/swe/libraries/NAME``. Their git repository is rebuilt deterministically: one
commit of the library as written, then per task a child commit whose tree is that library
with the task's ``test_patch`` and ``patch`` reversed (the bug put back, its tests hidden).
Fixed authors and dates make every commit id reproducible, so rows can name it as
``base_commit``; a mismatch means the library was edited without regenerating the tasks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .rows import SWETask, TaskRowError

LIBRARIES_DIR = Path(__file__).resolve().parent / "libraries"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "agentgym", "GIT_AUTHOR_EMAIL": "swe@agentgym.invalid",
    "GIT_COMMITTER_NAME": "agentgym", "GIT_COMMITTER_EMAIL": "swe@agentgym.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+0000",
}
_SKIP = {"__pycache__", ".pytest_cache", ".git", ".mypy_cache", ".ruff_cache"}
_lock = threading.Lock()


class RepoError(RuntimeError):
    """A repository or commit that cannot be prepared (the message says which and why)."""


def cache_root() -> Path:
    """``$AGENTGYM_CACHE/swe`` (default ``~/.cache/agentgym/swe``)."""
    return Path(os.environ.get("AGENTGYM_CACHE") or Path.home() / ".cache" / "agentgym") / "swe"


def git(args: list[str], cwd: Path | str, *, stdin: bytes | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Runs git with a fixed identity and no user/system config, hooks or signing."""
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1",
                "LANG": "C", **GIT_IDENTITY, **(env or {})}
    done = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false",
                           "-c", "core.autocrlf=false", "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, input=stdin, capture_output=True, env=full_env)
    if check and done.returncode != 0:
        raise RepoError(f"git {' '.join(args[:3])} failed in {cwd}: {done.stderr.decode(errors='replace')[:400]}")
    return done


def library_files(name: str) -> dict[str, bytes]:
    """Relative path -> content of a bundled library (caches and bytecode skipped), sorted."""
    root = LIBRARIES_DIR / name
    if not root.is_dir():
        known = sorted(p.name for p in LIBRARIES_DIR.iterdir() if p.is_dir())
        raise RepoError(f"no bundled library {name!r}; bundled libraries: {', '.join(known)}")
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP)
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / filename
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    return dict(sorted(files.items()))


def commit_library(repo: Path, files: dict[str, bytes], message: str) -> str:
    """Initialises ``repo`` with one commit holding ``files`` (mode 100644); returns its id."""
    repo.mkdir(parents=True, exist_ok=True)
    git(["init", "-q"], repo)
    for rel, data in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
    git(["add", "-A"], repo)
    git(["commit", "-q", "-m", message], repo)
    return git(["rev-parse", "HEAD"], repo).stdout.decode().strip()


def commit_task_base(repo: Path, parent: str, patch: str, test_patch: str, message: str) -> str:
    """A child of ``parent`` whose tree is parent's with ``test_patch`` and ``patch`` reversed."""
    index = repo / ".git" / f"index-{hashlib.sha1(message.encode()).hexdigest()[:8]}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(["read-tree", parent], repo, env=env)
        for label, diff in (("test_patch", test_patch), ("patch", patch)):
            if diff.strip():
                done = git(["apply", "--cached", "-R", "-"], repo, stdin=diff.encode(), env=env, check=False)
                if done.returncode != 0:
                    raise RepoError(f"{message}: reversing its {label} on the library failed: "
                                    f"{done.stderr.decode(errors='replace')[:300]}")
        tree = git(["write-tree"], repo, env=env).stdout.decode().strip()
        return git(["commit-tree", tree, "-p", parent, "-m", message], repo).stdout.decode().strip()
    finally:
        index.unlink(missing_ok=True)


def bundled_repo(name: str, tasks: list[SWETask]) -> Path:
    """The git repository of bundled library ``name`` with a base commit per task (built once, cached)."""
    files = library_files(name)
    mine = sorted((t for t in tasks if t.repo_path == f"bundled:{name}"), key=lambda t: t.instance_id)
    digest = hashlib.sha256()
    for rel, data in files.items():
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    for task in mine:
        digest.update(f"{task.instance_id}\0{task.base_commit}\0{task.patch}\0{task.test_patch}".encode())
    final = cache_root() / "repos" / f"{name}-{digest.hexdigest()[:16]}"
    if (final / ".agentgym-ready").exists():
        return final
    with _lock:
        if (final / ".agentgym-ready").exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
        try:
            pristine = commit_library(work, files, f"{name}: library")
            for task in mine:
                got = commit_task_base(work, pristine, task.patch, task.test_patch, f"{task.instance_id}: base")
                if got != task.base_commit:
                    raise TaskRowError(f"task {task.instance_id!r}: base_commit {task.base_commit} does not match the "
                                       f"bundled library {name!r} (rebuilt {got}); the library changed since the "
                                       "tasks were generated: run `python -m agentgym.environments.swe.bundled`")
                git(["update-ref", f"refs/heads/task/{task.instance_id}", got], work)
            (work / ".agentgym-ready").write_text("ok\n")
            try:
                work.rename(final)
            except OSError:  # another process finished first
                shutil.rmtree(work, ignore_errors=True)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return final


def repository_of(task: SWETask, all_tasks: list[SWETask] | None = None) -> Path:
    """The host git repository holding ``task.base_commit`` (a bundle is cloned into the cache once)."""
    if not task.repo_path:
        raise RepoError(f"task {task.instance_id!r} has no repo_path; image-only rows are not supported offline")
    if task.repo_path.startswith("bundled:"):
        return bundled_repo(task.repo_path.split(":", 1)[1], all_tasks or [task])
    path = Path(task.repo_path)
    if path.is_file():  # a git bundle: cloned once into the cache
        stamp = f"{path.resolve()}:{path.stat().st_mtime_ns}".encode()
        clone = cache_root() / "bundles" / hashlib.sha256(stamp).hexdigest()[:16]
        with _lock:
            if not (clone / "HEAD").exists():
                clone.parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=clone.parent))
                try:
                    git(["clone", "-q", "--mirror", str(path), str(tmp / "repo.git")], tmp)
                    (tmp / "repo.git").rename(clone)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
        return clone
    return path


def task_tree(task: SWETask, all_tasks: list[SWETask] | None = None) -> Path:
    """A cached host directory with the files of ``task``'s repository at ``base_commit`` (no .git)."""
    repo = repository_of(task, all_tasks)
    key = hashlib.sha256(str(repo).encode()).hexdigest()[:12]
    final = cache_root() / "trees" / f"{key}-{task.base_commit}"
    if (final / ".agentgym-tree").exists():
        return final / "tree"
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tree-", dir=final.parent))
    try:
        done = git(["archive", "--format=tar", task.base_commit], repo, check=False)
        if done.returncode != 0:
            raise RepoError(f"task {task.instance_id!r}: commit {task.base_commit} is not in {repo}: "
                            f"{done.stderr.decode(errors='replace')[:200]}")
        (work / "tree").mkdir()
        subprocess.run(["tar", "-x", "-C", str(work / "tree")], input=done.stdout, check=True)
        (work / ".agentgym-tree").write_text(task.base_commit + "\n")
        try:
            work.rename(final)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final / "tree"
