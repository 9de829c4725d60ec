"""Find and remove sandbox leftovers: containers/volumes by label, host dirs by owner pid.

    removed = prune()            # only leftovers of processes that are gone
    removed = prune(everything=True, images=True)

A sandbox whose process was killed (SIGKILL, OOM, power loss) leaves its container or
directory behind; SandboxPool.start() and `agentgym sandbox prune` call this.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from .base import runtime_dir

_DIR_PREFIXES = ("agentgym-bwrap-", "agentgym-local-", "agentgym-snap-")


def _alive(pid_text: str | None) -> bool:
    try:
        pid = int(pid_text or "")
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dirs(*, everything: bool = False, root: Path | None = None) -> list[str]:
    """Remove bwrap/local workspaces and snapshot dirs whose creating process is gone."""
    removed = []
    base = root or runtime_dir()
    if not base.is_dir():
        return removed
    for path in base.iterdir():
        if not path.name.startswith(_DIR_PREFIXES) or not path.is_dir():
            continue
        owner = path / "owner.pid"
        pid = owner.read_text().strip() if owner.is_file() else None
        if everything or not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


def prune_docker(*, everything: bool = False, images: bool = False) -> list[str]:
    """Remove labelled containers and volumes whose creating process (on this host) is gone."""
    from .docker import LABEL, docker_client

    client = docker_client()
    removed = []
    host = socket.gethostname()
    try:
        def stale(labels: dict) -> bool:
            if everything:
                return True
            return labels.get("agentgym.host") == host and not _alive(labels.get("agentgym.pid"))

        for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
            if stale(container.labels):
                container.remove(force=True)
                removed.append(f"container {container.name}")
        for volume in client.volumes.list(filters={"label": f"{LABEL}=1"}):
            if stale(volume.attrs.get("Labels") or {}):
                try:
                    volume.remove(force=True)
                    removed.append(f"volume {volume.name}")
                except Exception:  # still in use by a live container
                    pass
        if images:
            for image in client.images.list(filters={"label": f"{LABEL}=1"}):
                for tag in image.tags or [image.id]:
                    client.images.remove(tag, force=True)
                    removed.append(f"image {tag}")
    finally:
        client.close()
    return removed


def prune(*, everything: bool = False, images: bool = False, docker: bool = True) -> list[str]:
    """Both of the above; docker is skipped silently when no daemon answers."""
    removed = prune_dirs(everything=everything)
    if docker:
        from .errors import SandboxUnavailableError

        try:
            removed += prune_docker(everything=everything, images=images)
        except SandboxUnavailableError:
            pass
    return removed
