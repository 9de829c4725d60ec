"""Backends under test: every one that works here; the others skip with the reason printed."""

from __future__ import annotations

import functools

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes.factory import bwrap_status, docker_status

SMALL = Limits(timeout=10, memory_mb=512, cpus=1.0, pids=64, file_size_mb=64, output_bytes=4096, disk_mb=256)


@functools.cache
def backend_skip_reason(backend: str) -> str | None:
    if backend == "local":
        return None
    status = docker_status() if backend == "docker" else bwrap_status()
    return None if status.ok else f"{backend} unavailable: {status.detail}"


def backend_params(*backends: str):
    marks = {"docker": [pytest.mark.docker], "bwrap": [pytest.mark.bwrap], "local": []}
    return [pytest.param(b, marks=marks[b], id=b) for b in backends]


@pytest.fixture(params=backend_params("docker", "bwrap", "local"))
def backend(request) -> str:
    reason = backend_skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture
async def sandbox(backend):
    sb = make_sandbox(backend, limits=SMALL, allow_local=True)
    async with sb:
        yield sb
    assert sb.closed


@pytest.fixture
def docker_ready() -> None:
    reason = backend_skip_reason("docker")
    if reason:
        pytest.skip(reason)
