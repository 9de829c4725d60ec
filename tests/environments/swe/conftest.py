"""Backends for the swe tests: docker (the agentgym/swe image) and bwrap; each skips only when it cannot run here."""

from __future__ import annotations

import functools

import pytest


@functools.cache
def backend_skip_reason(backend: str) -> str | None:
    from agentgym.sandboxes.factory import bwrap_status, docker_status
    from agentgym.sandboxes.images import SWE_IMAGE

    status = docker_status(SWE_IMAGE) if backend == "docker" else bwrap_status()
    return None if status.ok else f"{backend} unavailable: {status.detail}"


def backend_params(*names: str):
    marks = {"docker": pytest.mark.docker, "bwrap": pytest.mark.bwrap}
    return [pytest.param(n, marks=marks[n], id=n) for n in names]


@pytest.fixture(params=backend_params("docker", "bwrap"))
def backend(request) -> str:
    reason = backend_skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param


@pytest.fixture
def bwrap_backend() -> str:
    reason = backend_skip_reason("bwrap")
    if reason:
        pytest.skip(reason)
    return "bwrap"


@pytest.fixture
def docker_backend() -> str:
    reason = backend_skip_reason("docker")
    if reason:
        pytest.skip(reason)
    return "docker"
