"""The repository inside a sandbox: a leak-proof checkout, the working-tree fingerprint and the model patch.

    base = await make_checkout(sandbox, tree_dir, setup_cmd=None)   # /workspace = the files at base_commit
    tree = await tree_id(sandbox)                                    # changes whenever the working tree does
    patch = await model_patch(sandbox, base)                         # diff of the working tree against base

The sandbox receives only the *files* of ``base_commit`` and commits them as the single root
commit of a fresh repository (fixed author and date), so no later commit, tag, branch,
reflog entry or pack exists, reachable or not. Bytecode and test caches are excluded in
``.git/info/exclude`` (they never enter a patch). Git runs as /usr/bin/git with hooks off, so
nothing the agent puts on PATH or in .git/hooks takes part.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from pydantic import BaseModel

from agentgym.sandboxes import Sandbox

WORKDIR = "/workspace"
HELPER_DIR = "/tmp/.agentgym"
GIT = "/usr/bin/git -c core.hooksPath=/dev/null -c commit.gpgsign=false -c core.fsmonitor=false"
EXCLUDES = "__pycache__/\n*.py[co]\n.pytest_cache/\n*.egg-info/\n.mypy_cache/\n.ruff_cache/\n.tox/\n"
COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "agentgym", "GIT_AUTHOR_EMAIL": "swe@agentgym.invalid",
    "GIT_COMMITTER_NAME": "agentgym", "GIT_COMMITTER_EMAIL": "swe@agentgym.invalid",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+0000",
}

# `python` may be missing where only python3 exists (Debian images): a helper dir on PATH provides it
HELPERS = f"""mkdir -p {HELPER_DIR}/bin
command -v python >/dev/null 2>&1 || ln -sf "$(command -v python3)" {HELPER_DIR}/bin/python
"""
SETUP = HELPERS + f"""set -e
cd {WORKDIR}
{GIT} -c init.defaultBranch=main init -q
{GIT} config gc.auto 0
printf %s {shlex.quote(EXCLUDES)} > .git/info/exclude
rm -rf .git/hooks
__SETUP_CMD__
{GIT} add -A
{GIT} commit -q --no-verify --allow-empty -m "base"
{GIT} rev-parse HEAD
{GIT} rev-parse HEAD^{{tree}}
"""
# the working tree as a git tree id, through a private index (the agent's index is untouched)
TREE_ID = f"""cd {WORKDIR} && export GIT_INDEX_FILE={HELPER_DIR}/index && mkdir -p {HELPER_DIR} \\
 && {GIT} add -A . 2>/dev/null && {GIT} write-tree"""


class Checkout(BaseModel):
    """Where a sandbox's repository starts: its base commit and tree ids (inside the sandbox)."""

    commit: str
    tree: str


class CheckoutError(RuntimeError):
    """The repository could not be set up in the sandbox (an infrastructure or task problem, never the agent's)."""


def search_path(backend: str) -> str:
    """PATH for every command: the helper dir first, then the backend's usual directories."""
    if backend == "docker":
        return f"{HELPER_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    import os
    import sys

    return f"{HELPER_DIR}/bin:/usr/local/bin:/usr/bin:/bin:{os.path.dirname(sys.executable)}"


async def make_checkout(sandbox: Sandbox, tree_dir: Path, setup_cmd: str | None = None,
                        timeout: float = 300.0) -> Checkout:
    """Fills the (empty) workspace with ``tree_dir`` and commits it as the only commit of a new repository."""
    await sandbox.upload(tree_dir, ".")
    script = SETUP.replace("__SETUP_CMD__", setup_cmd or "true")
    result = await sandbox.exec(["bash", "-c", script], timeout=timeout, env=COMMIT_ENV)
    lines = result.stdout.split()
    if not result.ok or len(lines) < 2:
        raise CheckoutError(f"setting up the repository failed (exit {result.exit_code}): {result.output[-600:]}")
    return Checkout(commit=lines[-2], tree=lines[-1])


async def helpers(sandbox: Sandbox) -> None:
    """Recreates the helper dir in /tmp (a restore empties /tmp)."""
    await sandbox.exec(["bash", "-c", HELPERS], timeout=30)


async def tree_id(sandbox: Sandbox) -> str | None:
    """The git tree id of the working tree now (None when git cannot read the repository)."""
    result = await sandbox.exec(["bash", "-c", TREE_ID], timeout=120)
    return result.stdout.strip() or None if result.ok else None


async def model_patch(sandbox: Sandbox, base: Checkout) -> str | None:
    """The diff of the working tree (new files included) against the base commit; None if git failed."""
    script = TREE_ID + f" >/dev/null && {GIT} diff --cached --binary --no-color --no-ext-diff {base.commit}"
    result = await sandbox.exec(["bash", "-c", script], timeout=120)
    if not result.ok or result.truncated:
        return None
    return result.stdout
