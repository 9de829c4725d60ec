"""Testing utilities, in two modules: the env conformance checker (:mod:`agentgym.conformance`) and an
OpenAI-compatible stub server (:mod:`agentgym.stub_server`); both importable from here.

    problems = await check_env(agentgym.make("my/env"), seed=0)   # [] when the env conforms
    problems = check_env_sync(agentgym.make("my/env"))              # the same from a plain script
    with StubOpenAIServer(latency=0.05, fail_first=2) as server:  # real HTTP on 127.0.0.1
        policy = OpenAIPolicy("stub", base_url=server.url)

The stub server needs FastAPI/uvicorn; it is imported only when asked for.
"""

from __future__ import annotations

from typing import Any

from .conformance import check_env, check_env_sync


def __getattr__(name: str) -> Any:
    if name in ("StubOpenAIServer", "free_port"):
        from . import stub_server

        return getattr(stub_server, name)
    raise AttributeError(f"module 'agentgym.testing' has no attribute {name!r}")


__all__ = ["check_env", "check_env_sync", "StubOpenAIServer", "free_port"]
