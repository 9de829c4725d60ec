"""Serve any registered env over the network: ``agentgym serve ENV_ID`` (FastAPI + uvicorn).

    agentgym serve toy/maze --port 8000 --max-sessions 1024 --workers 2
    env = agentgym.RemoteEnv("http://127.0.0.1:8000")       # the client side

WebSocket sessions in OpenEnv's message shape (reset / step / state / close) plus ``fork``,
``oracle`` and ``ping``; leased sessions (TTL, resume by id); stateful HTTP routes; ``/health``,
``/schema``, ``/metadata``. See :mod:`agentgym.server.app` and :mod:`agentgym.server.protocol`.
"""

from __future__ import annotations

from .app import create_app
from .cli import serve

__all__ = ["create_app", "serve"]
