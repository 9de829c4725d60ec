"""Env servers for the tests: a real uvicorn server on a free loopback port, in a thread of the test process.

A helper module with a unique name (not ``conftest``): ``from conftest import ...`` picks whichever
conftest.py pytest imported first when several test folders are collected in one run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Iterator

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
