"""Sandboxes for SWE episodes: the backend choice, limits, and a process-wide warm pool of docker sandboxes.

    sandbox = await acquire("docker", image="agentgym/swe:latest")   # warm when one was released before
    ...
    await release(sandbox)          # restored to empty and kept for the next episode (docker), else closed

Starting a container costs seconds; restoring one costs a fraction of that, so a closed env
hands its docker sandboxes back here instead of closing them (at most ``MAX_IDLE``). The idle
ones are removed at interpreter exit (and by `agentgym sandbox prune` if the process was killed).
bwrap sandboxes start in well under a second and are tied to their event loop: they are
simply closed.
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from agentgym.sandboxes import Limits, Sandbox, SnapshotRef, make_sandbox
from agentgym.sandboxes.errors import SandboxArgumentError
from agentgym.sandboxes.images import SWE_IMAGE

BACKENDS = ("docker", "bwrap", "auto")
MAX_IDLE = 16
AGENT_LIMITS = Limits(timeout=120, memory_mb=2048, cpus=1.0, pids=256, file_size_mb=64,
                      output_bytes=4 << 20, disk_mb=1024)
_idle: dict[tuple, list[tuple[Sandbox, SnapshotRef]]] = {}
_empty: dict[int, SnapshotRef] = {}
#: per warm sandbox, the ready checkout of each task it has served: instance_id -> (snapshot, checkout)
task_snapshots: dict[int, dict[str, tuple[SnapshotRef, Any]]] = {}
_lock = threading.Lock()
_atexit_registered = False


def resolve_backend(backend: str, image: str | None = None) -> str:
    """``docker`` or ``bwrap``; ``auto`` is docker when the daemon and image are ready, else bwrap."""
    if backend not in BACKENDS:
        raise SandboxArgumentError(f"sandbox must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    from agentgym.sandboxes.factory import docker_status

    return "docker" if docker_status(image or SWE_IMAGE).ok else "bwrap"


def _key(backend: str, image: str | None, limits: Limits) -> tuple:
    return (backend, image or SWE_IMAGE, limits.model_dump_json())


def new_sandbox(backend: str, image: str | None = None, limits: Limits = AGENT_LIMITS) -> Sandbox:
    """An unstarted sandbox (network off) of ``backend`` for a repository of ``image``."""
    from .checkout import search_path

    kwargs: dict[str, Any] = {"image": image or SWE_IMAGE} if backend == "docker" else {}
    env = {"HOME": "/tmp", "PATH": search_path(backend), "PYTHONDONTWRITEBYTECODE": "1", "GIT_PAGER": "cat",
           "PAGER": "cat", "TERM": "dumb"}
    if backend == "bwrap":
        # bwrap runs the host interpreter, whose pytest plugins are agentgym's dependencies, not the
        # repository's (a test_cmd can still load one with -p NAME); autoloading them costs ~1 s per run
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return make_sandbox(backend, limits=limits, env=env, **kwargs)


async def acquire(backend: str, image: str | None = None, limits: Limits = AGENT_LIMITS) -> Sandbox:
    """A started sandbox with an empty workspace: a warm one when available, else a new one."""
    key = _key(backend, image, limits)
    while True:
        with _lock:
            entry = _idle.get(key, []).pop() if _idle.get(key) else None
        if entry is None:
            break
        sandbox, _ref = entry
        if await sandbox.health():
            return sandbox
        forget(sandbox)
        await sandbox.close()
    sandbox = new_sandbox(backend, image, limits)
    try:
        await sandbox.start()
        _empty[id(sandbox)] = await sandbox.snapshot()
    except BaseException:
        await sandbox.close()
        raise
    return sandbox


async def reset_empty(sandbox: Sandbox) -> None:
    """Empties the workspace and /tmp and kills every process (restores the empty snapshot)."""
    await sandbox.restore(_empty[id(sandbox)])


async def release(sandbox: Sandbox, limits: Limits = AGENT_LIMITS) -> None:
    """Gives a sandbox back: docker ones are emptied and kept warm, others closed."""
    global _atexit_registered
    ref = _empty.get(id(sandbox))
    if sandbox.closed or ref is None or sandbox.backend != "docker":
        forget(sandbox)
        await sandbox.close()
        return
    try:
        await sandbox.restore(ref)
    except Exception:
        forget(sandbox)
        await sandbox.close()
        return
    key = _key(sandbox.backend, getattr(sandbox, "image", None), sandbox.limits)
    with _lock:
        pool = _idle.setdefault(key, [])
        keep = len(pool) < MAX_IDLE
        if keep:
            pool.append((sandbox, ref))
            if not _atexit_registered:
                atexit.register(close_idle)
                _atexit_registered = True
    if not keep:
        forget(sandbox)
        await sandbox.close()


def forget(sandbox: Sandbox) -> None:
    _empty.pop(id(sandbox), None)
    task_snapshots.pop(id(sandbox), None)


def close_idle() -> int:
    """Removes every idle warm sandbox (blocking; runs at interpreter exit). Returns how many."""
    with _lock:
        entries = [e for pool in _idle.values() for e in pool]
        _idle.clear()
    for sandbox, _ref in entries:
        forget(sandbox)
        try:
            sandbox._closed = True
            sandbox._close_blocking()  # DockerSandbox: remove container and volume without an event loop
        except Exception:
            pass
        if sandbox._snapshot_dir is not None:
            import shutil

            shutil.rmtree(sandbox._snapshot_dir, ignore_errors=True)
    return len(entries)


def idle_count() -> int:
    with _lock:
        return sum(len(pool) for pool in _idle.values())


async def checkout_task(sandbox: Sandbox, task: Any, tree_dir: Any) -> Any:
    """Puts ``task``'s clean checkout in the sandbox: a restore when this sandbox made it before, else a build.

    Returns the :class:`~.checkout.Checkout`. The snapshot is taken right after the checkout is
    made, before any agent action, so restoring it never brings back anything an agent did.
    """
    from .checkout import helpers, make_checkout

    snaps = task_snapshots.setdefault(id(sandbox), {})
    cached = snaps.get(task.instance_id)
    if cached is not None:
        await sandbox.restore(cached[0])
        await helpers(sandbox)
        return cached[1]
    await reset_empty(sandbox)
    base = await make_checkout(sandbox, tree_dir, task.setup_cmd)
    snaps[task.instance_id] = (await sandbox.snapshot(), base)
    return base
