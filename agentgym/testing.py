"""Testing utilities: an env conformance checker and an OpenAI-compatible stub server.

    problems = await check_env(agentgym.make("my/env"), seed=0)   # [] when the env conforms
    problems = check_env_sync(agentgym.make("my/env"))              # the same from a plain script
    with StubOpenAIServer(latency=0.05, fail_first=2) as server:  # real HTTP on 127.0.0.1
        policy = OpenAIPolicy("stub", base_url=server.url)

The stub stands in for a hosted API we cannot run here (the OpenAI cloud); it speaks the
same HTTP protocol, so the real ``openai`` client and retry paths are exercised.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .env import Env
from .types import Message, ToolCall

# ---------------------------------------------------------------------------- conformance


async def check_env(env: Env, *, seed: int = 0, oracle: bool = True) -> list[str]:
    """Runs the contract checks on ``env``; returns a list of problems (empty = conforms).

    Checks: reset returns a first observation; tool schemas are well-formed; malformed actions
    (unknown tool, bad JSON, wrong types, missing args, plain text, oversized text) become
    feedback with a ``format`` penalty instead of raising; ``fork`` reproduces the next
    observation; the oracle (if any) solves the task and a no-op reply does not.
    """
    problems: list[str] = []
    first = await env.reset(seed=seed)
    if not first.messages or not any(m.content for m in first.messages):
        problems.append("reset() returned no observation text")
    for t in env.tools:
        if t.parameters.get("type") != "object" or not isinstance(t.parameters.get("properties"), dict):
            problems.append(f"tool {t.name}: parameters must be a JSON-Schema object")
    bad_actions = [Message.assistant("\u0000" + "x" * (env.max_action_chars + 10))]
    if env.tools:
        name = env.tools[0].name
        bad_actions += [
            Message.assistant(tool_calls=[ToolCall(name="no_such_tool_xyz", arguments="{}")]),
            Message.assistant(tool_calls=[ToolCall(name=name, arguments="{not json")]),
            Message.assistant(tool_calls=[ToolCall(name=name, arguments='{"__bogus__": 1}')]),
        ]
    for action in bad_actions:
        probe = await env.fork()
        try:
            res = await probe.step(action)
            if res.channels.get("format", 0.0) >= 0 and not res.done:
                problems.append(f"malformed action {action.model_dump_json()[:80]} got no format penalty")
            if not res.messages:
                problems.append("a malformed action produced no feedback message")
        except Exception as e:
            problems.append(f"step() raised {type(e).__name__} on a malformed action: {e}")
        finally:
            await probe.close()
    await env.reset(seed=seed)
    action = env.sample_action(random.Random(seed))
    twin = await env.fork()
    a, b = await env.step(action), await twin.step(action)
    if [m.content for m in a.messages] != [m.content for m in b.messages] or a.reward != b.reward:
        problems.append("fork() and the original gave different next observations for the same action")
    await twin.close()
    if oracle:
        await env.reset(seed=seed)
        plan = await env.oracle()
        if plan is not None:
            res = None
            for step in plan:
                res = await env.step(step)
                if res.done:
                    break
            if res is None or not res.success:
                problems.append("the oracle did not solve the task")
            await env.reset(seed=seed)
            res = await env.step(Message.assistant("I will do nothing."))
            if res.success:
                problems.append("a no-op reply solved the task")
    return problems


def check_env_sync(env: Env, *, seed: int = 0, oracle: bool = True, close: bool = True) -> list[str]:
    """:func:`check_env` for scripts without an event loop; closes ``env`` afterwards unless ``close=False``.

        from agentgym.testing import check_env_sync
        assert check_env_sync(agentgym.make("demo/guess"), oracle=False) == []

    Inside ``async`` code (a running loop), ``await check_env(env)`` instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("check_env_sync() was called inside a running event loop; use `await check_env(env)`")

    async def checked() -> list[str]:
        try:
            return await check_env(env, seed=seed, oracle=oracle)
        finally:
            if close:
                await env.close()

    return asyncio.run(checked())


# ---------------------------------------------------------------------------- stub server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StubOpenAIServer:
    """A local OpenAI-compatible ``/v1/chat/completions`` with fixed latency and fault injection.

    Its "model" plays tool envs sensibly enough for load tests: it calls a tool named in the
    request, choosing an enum argument that the last observation lists as open
    (``Open directions: ...``) when possible. ``fail_first`` requests get ``fail_status``.
    """

    def __init__(self, latency: float = 0.0, fail_first: int = 0, fail_status: int = 429, seed: int = 0):
        self.latency, self.fail_first, self.fail_status = latency, fail_first, fail_status
        self.requests: list[dict[str, Any]] = []
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
        tools = body.get("tools") or []
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        if tools:
            fn = self._pick_tool(tools)
            message["tool_calls"] = [{"id": f"call_{self.rng.getrandbits(48):x}", "type": "function",
                                      "function": {"name": fn["name"], "arguments": json.dumps(self._args(fn, body))}}]
            finish = "tool_calls"
        else:
            message["content"] = "look"
        return {
            "id": f"chatcmpl-{self.rng.getrandbits(32):x}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": sum(len(str(m.get("content") or "")) // 4 for m in body["messages"]),
                      "completion_tokens": 8, "total_tokens": 0},
        }

    def _pick_tool(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        fns = [t["function"] for t in tools]
        with_args = [f for f in fns if f.get("parameters", {}).get("properties")]
        return (with_args or fns)[0]

    def _args(self, fn: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        last = str(body["messages"][-1].get("content") or "")
        m = re.search(r"Open directions: ([^.]*)\.", last)
        open_dirs = [d.strip() for d in m.group(1).split(",")] if m else []
        args = {}
        for name, schema in fn.get("parameters", {}).get("properties", {}).items():
            choices = schema.get("enum")
            if choices:
                good = [c for c in choices if c in open_dirs] or choices
                args[name] = self.rng.choice(good)
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
