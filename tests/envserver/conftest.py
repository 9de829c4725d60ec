"""Env servers for the tests: a real uvicorn server on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from typing import Any, Iterator

import pytest
import uvicorn

from agentgym.server import create_app


@contextlib.contextmanager
def running_server(env_id: str = "toy/maze", **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """``(url, app)`` of a server for ``env_id`` (kwargs go to :func:`create_app`), stopped on exit."""
    app = create_app(env_id, **kwargs)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", ws_max_size=64 * 1024 * 1024,
                            backlog=4096, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="envserver-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server for {env_id} did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app.app
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the test server did not stop"


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
