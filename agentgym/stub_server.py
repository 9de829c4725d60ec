"""An OpenAI-compatible stub server for tests and benchmarks (real HTTP on 127.0.0.1).

    with StubOpenAIServer(latency=0.05, fail_first=2) as server:
        policy = OpenAIPolicy("stub", base_url=server.url)

The stub stands in for a hosted API we cannot run here (the OpenAI cloud); it speaks the
same HTTP protocol, so the real ``openai`` client and retry paths are exercised. Also importable
from :mod:`agentgym.testing`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import socket
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubOpenAIServer:
    """A local OpenAI-compatible ``/v1/chat/completions`` with fixed latency and fault injection.

    Its "model" plays tool envs sensibly enough for load tests: it calls a tool named in the
    request, choosing an enum argument that the last observation lists as open
    (``Open directions: ...``) when possible. ``fail_first`` requests get ``fail_status``.
    ``deterministic``: each reply depends only on ``seed`` and the request's messages, not on the
    order requests arrive in (so runs with different concurrency or processes compare episode by episode).
    """

    def __init__(self, latency: float = 0.0, fail_first: int = 0, fail_status: int = 429, seed: int = 0,
                 deterministic: bool = False):
        self.latency, self.fail_first, self.fail_status = latency, fail_first, fail_status
        self.seed, self.deterministic = seed, deterministic
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []   # each chat request's HTTP headers (lower-case names)
        self.in_flight = 0
        self.max_in_flight = 0
        self.rng = random.Random(seed)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._server = None
        self._thread: threading.Thread | None = None

    def app(self):
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            return {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "agentgym"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.latency:
                    await asyncio.sleep(self.latency)
            finally:
                self.in_flight -= 1
            if len(self.requests) <= self.fail_first:
                return JSONResponse(status_code=self.fail_status,
                                    content={"error": {"message": "injected failure", "type": "stub", "code": None}})
            return self._reply(body)

        return app

    def _reply(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.deterministic:
            digest = hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).digest()
            return self._answer(body, random.Random(self.seed ^ int.from_bytes(digest[:8], "big")))
        return self._answer(body, self.rng)

    def _answer(self, body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        tools = body.get("tools") or []
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if tools:
            fn = self._pick_tool(tools)
            message["tool_calls"] = [{"id": f"call_{rng.getrandbits(48):x}", "type": "function",
                                      "function": {"name": fn["name"], "arguments": json.dumps(self._args(fn, body, rng))}}]
            finish = "tool_calls"
        else:
            message["content"] = "look"
        return {
            "id": f"chatcmpl-{rng.getrandbits(32):x}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": sum(len(str(m.get("content") or "")) // 4 for m in body["messages"]),
                      "completion_tokens": 8, "total_tokens": 0},
        }

    def _pick_tool(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        fns = [t["function"] for t in tools]
        with_args = [f for f in fns if f.get("parameters", {}).get("properties")]
        return (with_args or fns)[0]

    def _args(self, fn: dict[str, Any], body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        last = str(body["messages"][-1].get("content") or "")
        m = re.search(r"Open directions: ([^.]*)\.", last)
        open_dirs = [d.strip() for d in m.group(1).split(",")] if m else []
        args = {}
        for name, schema in fn.get("parameters", {}).get("properties", {}).items():
            choices = schema.get("enum")
            if choices:
                good = [c for c in choices if c in open_dirs] or choices
                args[name] = rng.choice(good)
            else:
                args[name] = "1"
        return args

    def __enter__(self) -> StubOpenAIServer:
        import uvicorn

        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.time() + 15
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("stub server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


__all__ = ["StubOpenAIServer", "free_port"]
