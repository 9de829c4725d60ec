"""Fixtures of the escape battery: a fresh sandbox per case, and host checks after it closes.

`isolated` runs a case on every isolating backend (docker, bwrap); `any_backend` also on
local, for the few things local claims (timeouts, output caps, rlimits, host-side path
checks). After each case the sandbox is closed and the host is inspected: no process
carrying the sandbox's marker (or uid), no container or volume with its label, no
workspace directory, no file at the escape targets the case names.
"""

from __future__ import annotations

import asyncio
import functools
import os
from pathlib import Path

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes.base import MARKER_ENV
from agentgym.sandboxes.factory import bwrap_status, docker_status

LIMITS = Limits(timeout=10, memory_mb=256, cpus=1.0, pids=64, file_size_mb=16, output_bytes=8192, disk_mb=64)


@functools.cache
def skip_reason(backend: str) -> str | None:
    if backend == "local":
        return None
    status = docker_status() if backend == "docker" else bwrap_status()
    return None if status.ok else f"{backend} unavailable: {status.detail}"


def _params(*names):
    marks = {"docker": [pytest.mark.docker], "bwrap": [pytest.mark.bwrap], "local": []}
    return [pytest.param(n, marks=marks[n], id=n) for n in names]


class Escapes:
    """Host paths a case tries to create; the teardown asserts none exists."""

    def __init__(self, sandbox_id: str):
        self.paths: list[Path] = []
        self.sandbox_id = sandbox_id

    def target(self, directory: str) -> str:
        path = Path(directory) / f"agentgym-escape-{self.sandbox_id}"
        self.paths.append(path)
        return str(path)


def host_leftovers(sb) -> list[str]:
    """Everything of `sb` still visible on the host after close()."""
    found = []
    needle = f"{MARKER_ENV}={sb.id}".encode()
    uid = getattr(sb, "owner", None)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie: dead, waiting to be reaped by the host's init
            if needle in (entry / "environ").read_bytes() or (uid and entry.stat().st_uid == uid[0]):
                found.append(f"process {entry.name}: {(entry / 'cmdline').read_bytes()[:80]!r}")
        except OSError:
            pass
    if sb.backend == "docker":
        import docker

        client = docker.from_env()
        try:
            label = {"label": f"agentgym.sandbox={sb.id}"}
            found += [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
            found += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
        finally:
            client.close()
    else:
        if sb.root.exists():
            found.append(f"directory {sb.root}")
    return found


async def _run_case(backend: str):
    reason = skip_reason(backend)
    if reason:
        pytest.skip(reason)
    sb = make_sandbox(backend, limits=LIMITS, allow_local=True)
    escapes = Escapes(sb.id)
    await sb.start()
    try:
        yield sb, escapes
    finally:
        await sb.close()
        for _ in range(20):  # SIGKILLed processes take a moment to disappear
            leftovers = host_leftovers(sb)
            if not leftovers:
                break
            await asyncio.sleep(0.1)
        created = [str(p) for p in escapes.paths if os.path.lexists(p)]
        for path in created:
            os.unlink(path)
        assert not leftovers, f"left behind on the host: {leftovers}"
        assert not created, f"files created outside the sandbox: {created}"


@pytest.fixture(params=_params("docker", "bwrap"))
async def isolated(request):
    async for pair in _run_case(request.param):
        yield pair


@pytest.fixture(params=_params("docker", "bwrap", "local"))
async def any_backend(request):
    async for pair in _run_case(request.param):
        yield pair
