"""Fixtures of the env-server tests: a maze server, one local Ray instance (servers: envserver_servers.py)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from typing import Any, Iterator

import pytest

from envserver_servers import running_server


@pytest.fixture
def maze_server() -> Iterator[tuple[str, Any]]:
    with running_server("toy/maze", env_args={"size": 3}, ttl=30.0, max_sessions=64) as s:
        yield s


@pytest.fixture(scope="session")
def local_ray() -> Iterator[str]:
    """One local Ray instance for the session (num_cpus=2, 127.0.0.1, no dashboard), its files in a temp dir
    (not /tmp/ray); every port it listens on is on loopback; after shutdown no process of it may survive."""
    import psutil
    import ray

    from agentgym.executors import init_ray

    temp = tempfile.mkdtemp(prefix="agray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    init_ray(num_cpus=2, temp_dir=temp)
    try:
        yield temp
    finally:
        ray.shutdown()
        deadline = time.monotonic() + 30
        while True:
            left = []
            for proc in psutil.process_iter(["pid", "cmdline"]):
                with contextlib.suppress(psutil.Error):
                    if any(temp in part for part in proc.info["cmdline"] or []):
                        left.append(proc.info["pid"])
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes survived ray.shutdown(): {left}"
