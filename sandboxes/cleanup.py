"""Find and remove sandbox leftovers: containers/volumes by label, host dirs by owner file.

    removed = prune()            # only leftovers of processes that are gone
    removed = prune(everything=True, images=True)

A sandbox whose process was killed (SIGKILL, OOM, power loss) leaves its container,
volume or directories behind. They are reclaimed automatically: every `Sandbox.start()`
removes the host directories of dead owners (and, for docker sandboxes, their
containers and volumes), `SandboxPool.start()` removes both kinds, and `agentgym sandbox
prune` does it by hand. An owner is "dead" only when its pid is gone or reused, or the
machine rebooted since (see `agentgym/owner.py`): a live process's sandboxes are never touched.
Set AGENTGYM_SANDBOX_RECLAIM=0 to turn the automatic part off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from pathlib import Path

from ._hostfs import remove_tree
from agentgym.owner import STAGING_PREFIX, Owner, read_owner
from .base import runtime_dir

_DIR_PREFIXES = ("agentgym-bwrap-", "agentgym-local-", "agentgym-snap-")
ORPHAN_AGE = 600.0  # seconds after which a directory without a readable owner file counts as leaked
log = logging.getLogger(__name__)


def _stale_dir(path: Path, everything: bool) -> bool:
    if everything:
        return True
    owner = read_owner(path)
    if owner is not None:
        return owner.is_gone()
    try:  # no owner record: being created right now, or left half-made by a killed process
        return time.time() - path.stat().st_mtime > ORPHAN_AGE
    except OSError:
        return False


def prune_dirs(*, everything: bool = False, root: Path | None = None) -> list[str]:
    """Remove bwrap/local workspaces and snapshot dirs whose creating process is gone."""
    removed = []
    base = root or runtime_dir()
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for path in entries:
        name = path.name
        if name.startswith(STAGING_PREFIX):
            name = name[len(STAGING_PREFIX):]
        if not name.startswith(_DIR_PREFIXES) or path.is_symlink() or not path.is_dir():
            continue
        if _stale_dir(path, everything):
            remove_tree(path)
            removed.append(str(path))
    return removed


def _stale_labels(labels: dict, everything: bool) -> bool:
    if everything:
        return True
    owner = Owner.from_labels(labels or {})
    return owner is not None and owner.host is not None and owner.is_gone()


def prune_docker(*, everything: bool = False, images: bool = False) -> list[str]:
    """Remove labelled containers and volumes whose creating process (on this host) is gone."""
    from .docker import LABEL, docker_client

    client = docker_client()
    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
            if _stale_labels(container.labels, everything):
                try:
                    container.remove(force=True)
                    removed.append(f"container {container.name}")
                except Exception as exc:  # noqa: BLE001 - removed meanwhile by someone else
                    log.debug("could not remove container %s: %s", container.name, exc)
        for volume in client.volumes.list(filters={"label": f"{LABEL}=1"}):
            if _stale_labels(volume.attrs.get("Labels") or {}, everything):
                try:
                    volume.remove(force=True)
                    removed.append(f"volume {volume.name}")
                except Exception:  # noqa: BLE001 - still in use by a live container
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


# ---- automatic reclaim (Sandbox.start, SandboxPool.start) ------------------------------
_inflight: dict[str, concurrent.futures.Future] = {}
_inflight_lock = threading.Lock()


def reclaim_enabled() -> bool:
    return os.environ.get("AGENTGYM_SANDBOX_RECLAIM", "1") != "0"


def _reclaim_blocking(kind: str) -> list[str]:
    removed = prune_dirs()
    if kind == "docker":
        from .errors import SandboxUnavailableError

        try:
            removed += prune_docker()
        except SandboxUnavailableError:
            pass
    if removed:
        log.info("reclaimed sandbox leftovers of killed processes: %s", ", ".join(removed))
    return removed


async def reclaim_stale(kind: str = "dirs") -> list[str]:
    """Remove leftovers of dead owners before something new starts; never raises.

    `kind`: "dirs" (host directories: bwrap, local, snapshots) or "docker" (those, and the
    containers and volumes of the daemon, when one answers).
    Concurrent callers of one kind share one run (a pool starting 8 sandboxes prunes once).
    """
    if not reclaim_enabled():
        return []
    with _inflight_lock:
        future = _inflight.get(kind)
        if future is None:
            future = concurrent.futures.Future()
            _inflight[kind] = future
            owner = True
        else:
            owner = False
    if owner:
        threading.Thread(target=_run_reclaim, args=(kind, future), daemon=True,
                         name=f"agentgym-reclaim-{kind}").start()
    try:
        return await asyncio.wrap_future(future)
    except Exception as exc:  # noqa: BLE001 - cleanup must never stop a sandbox from starting
        log.warning("reclaiming sandbox leftovers failed: %s: %s", type(exc).__name__, exc)
        return []


def _run_reclaim(kind: str, future: concurrent.futures.Future) -> None:
    try:
        result = _reclaim_blocking(kind)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiters
        with _inflight_lock:
            _inflight.pop(kind, None)
        future.set_exception(exc)
        return
    with _inflight_lock:
        _inflight.pop(kind, None)
    future.set_result(result)
