"""Shared file, snapshot and lifecycle code of the backends whose workspace is a host directory.

Layout of one sandbox on the host (under `runtime_dir()`):

    agentgym-<backend>-<id>/
        owner.json     the creating process (pid, start time, boot id, host); dirs of dead
                       owners are reclaimed by the next Sandbox.start() (see cleanup.py)
        workspace/     bound at /workspace (bwrap) or used directly (local)
        tmp/           bound at /tmp (bwrap)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

from . import _hostfs
from agentgym.owner import make_owned_dir
from ._process import kill_group
from .base import Sandbox, runtime_dir
from .models import SnapshotRef


class HostDirSandbox(Sandbox):
    """A Sandbox whose workspace is the host directory `self.root / "workspace"`."""

    #: (uid, gid) that sandboxed processes run as, when different from ours (bwrap as root).
    owner: tuple[int, int] | None = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.root = runtime_dir() / f"agentgym-{self.id}"
        self.host_workspace = self.root / "workspace"
        self.tmp_keep: frozenset[str] = frozenset()  # names in tmp/ a restore keeps
        self._running: set[int] = set()

    async def _start(self) -> None:
        await asyncio.to_thread(self._make_dirs)

    def _make_dirs(self) -> None:
        self.root.parent.mkdir(parents=True, exist_ok=True)
        make_owned_dir(self.root)
        for sub, mode in (("workspace", 0o755), ("tmp", 0o700)):
            path = self.root / sub
            path.mkdir(mode=mode)
            if self.owner is not None:
                os.chown(path, *self.owner)

    async def _close(self) -> None:
        for pgid in list(self._running):
            kill_group(pgid)
        await self._kill_all()
        await asyncio.to_thread(_hostfs.remove_tree, self.root)

    async def _kill_all(self) -> None:
        """Kill every process of this sandbox (backends with a better handle override this)."""
        for pgid in list(self._running):
            kill_group(pgid)

    # ---- files -----------------------------------------------------------------------
    async def _write(self, rel: str, data: bytes, mode: int) -> None:
        await asyncio.to_thread(_hostfs.write_bytes, str(self.host_workspace), rel, data, mode=mode, owner=self.owner)

    async def _read(self, rel: str, max_bytes: int) -> bytes:
        return await asyncio.to_thread(_hostfs.read_bytes, str(self.host_workspace), rel, max_bytes=max_bytes)

    async def _upload(self, local: Path, rel: str) -> None:
        def copy() -> None:
            if local.is_dir():
                _hostfs.write_dir(str(self.host_workspace), rel, owner=self.owner)
            _hostfs.copy_in(local, str(self.host_workspace), rel, owner=self.owner,
                            max_bytes=self.limits.file_size_mb << 20)

        await asyncio.to_thread(copy)

    async def _download(self, rel: str, local: Path) -> None:
        await asyncio.to_thread(_hostfs.copy_out, str(self.host_workspace), rel, local, max_bytes=1 << 40)

    # ---- snapshots -------------------------------------------------------------------
    async def _snapshot(self, dest: Path) -> tuple[Path, int]:
        def copy() -> int:
            _cp_tree(self.host_workspace, dest)
            return _tree_size(dest)

        return dest, await asyncio.to_thread(copy)

    async def _restore(self, ref: SnapshotRef) -> None:
        await self._kill_all()

        def replace() -> None:
            staging = self.root / "workspace.restoring"
            _hostfs.remove_tree(staging)
            _cp_tree(Path(ref.path), staging)
            if self.owner is not None:
                subprocess.run(["chown", "-R", "-P", f"{self.owner[0]}:{self.owner[1]}", str(staging)], check=True)
            # Swap the contents, not the directory: a running bwrap has the directory itself bound
            # at /workspace, and would keep seeing the old (deleted) one after a rename.
            old = self.root / "workspace.old"
            _hostfs.remove_tree(old)
            old.mkdir()
            for child in list(self.host_workspace.iterdir()):
                os.rename(child, old / child.name)
            for child in list(staging.iterdir()):
                os.rename(child, self.host_workspace / child.name)
            info = staging.stat()
            os.chmod(self.host_workspace, info.st_mode & 0o7777)
            os.chown(self.host_workspace, info.st_uid, info.st_gid)
            staging.rmdir()
            _hostfs.remove_tree(old)
            tmp = self.root / "tmp"
            for child in tmp.iterdir():
                if child.name not in self.tmp_keep:  # a mountpoint (bwrap): rmdir here would unmount it
                    _remove_any(child)

        await asyncio.to_thread(replace)


def _cp_tree(src: Path, dest: Path) -> None:
    """cp -a with reflinks where the filesystem supports them (symlinks copied, never followed)."""
    done = subprocess.run(["cp", "-a", "--reflink=auto", "--no-dereference", str(src), str(dest)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise OSError(f"copying the workspace failed: {done.stderr.strip()}")


def _tree_size(path: Path) -> int:
    """Bytes of the regular files under `path` (iterative: any depth)."""
    total, pending = 0, [str(path)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                pass
    return total


def _remove_any(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _hostfs.remove_tree(path)
    else:
        path.unlink(missing_ok=True)
