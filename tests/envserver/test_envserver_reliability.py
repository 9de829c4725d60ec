"""Reliability of ``agentgym serve`` run as users run it (a separate process from the CLI):

* 1,024 concurrent sessions on one server with a light env: every episode completes, zero errors;
* clients that vanish without closing leak nothing: their sessions expire, the worker processes
  are the same ones, and stopping the server leaves no process behind (all counted);
* fuzzed WebSocket frames and HTTP requests (hypothesis) all get replies; the server stays up.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

CLIENTS = 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=30) as client:  # one keep-alive connection for the fuzzed requests
        yield client


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentgym.server", "toy/maze", "--port", str(port), "--max-sessions", "2048",
         "--ttl", "2", "--workers", "2", "--env-arg", "size=2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else "no start"
        time.sleep(0.2)
    yield url, proc
    tree = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    deadline = time.monotonic() + 15
    while (left := {p for p in tree if Path(f"/proc/{p}").exists()}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == set(), f"processes left after the server stopped: {left}"


def stats(url: str) -> dict:
    return httpx.get(f"{url}/sessions", timeout=10).json()


async def episode(url: str, seed: int) -> str | None:
    """One short episode over raw WebSocket frames; returns an error text or None."""
    try:
        async with connect(url.replace("http", "ws") + "/ws", open_timeout=120, ping_interval=None) as ws:
            async def ask(frame):
                await ws.send(json.dumps(frame))
                return json.loads(await asyncio.wait_for(ws.recv(), 120))
            first = await ask({"type": "reset", "data": {"seed": seed}})
            if first["type"] != "observation":
                return str(first)
            plan = (await ask({"type": "oracle"}))["data"]["messages"]
            for i, action in enumerate(plan, start=1):
                out = await ask({"type": "step", "data": action, "seq": i})
                if out["type"] != "observation":
                    return str(out)
            if not out["data"]["observation"]["success"]:
                return f"seed {seed} not solved"
            await ws.send(json.dumps({"type": "close"}))
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return None


def test_1024_concurrent_sessions_zero_errors(server):
    url, proc = server

    async def main():
        return await asyncio.gather(*(episode(url, seed) for seed in range(CLIENTS)))

    errors = [e for e in asyncio.run(main()) if e]
    assert errors == [], f"{len(errors)} of {CLIENTS} episodes failed, first: {errors[:3]}"
    deadline = time.monotonic() + 10
    while stats(url)["sessions"] and time.monotonic() < deadline:
        time.sleep(0.1)
    s = stats(url)
    assert s["sessions"] == 0 and s["created"] >= CLIENTS and s["refused"] == 0


def test_vanished_clients_leak_no_sessions_or_processes(server):
    url, proc = server
    before = descendants(proc.pid)
    assert len(before) >= 2  # the two env workers (and the forkserver that starts them)

    async def vanish(seed: int) -> None:
        ws = await connect(url.replace("http", "ws") + "/ws")
        await ws.send(json.dumps({"type": "reset", "data": {"seed": seed}}))
        await ws.recv()
        await ws.send(json.dumps({"type": "step", "data": {"content": "look"}, "seq": 1}))
        ws.transport.abort()  # gone mid-step, without a close message or handshake

    async def main():
        await asyncio.gather(*(vanish(s) for s in range(64)))

    asyncio.run(main())
    assert stats(url)["sessions"] > 0
    deadline = time.monotonic() + 15
    while stats(url)["sessions"] and time.monotonic() < deadline:
        time.sleep(0.2)
    s = stats(url)
    assert s["sessions"] == 0 and s["expired"] >= 64 and all(s["workers_alive"])
    assert descendants(proc.pid) == before


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FRAMES = st.one_of(
    st.text(max_size=200),
    JSON.map(json.dumps),
    st.builds(lambda t, d, seq: json.dumps({"type": t, "data": d, "seq": seq}),
              st.sampled_from(["reset", "step", "state", "fork", "oracle", "ping", "nope", ""]),
              JSON, st.one_of(st.none(), st.integers(), st.text(max_size=5))),
    st.builds(lambda c, calls: json.dumps({"type": "step", "data": {"content": c, "tool_calls": calls}}),
              st.one_of(st.none(), st.text(max_size=50)),
              st.lists(st.fixed_dictionaries({"function": st.fixed_dictionaries(
                  {"name": st.text(max_size=10), "arguments": st.one_of(st.text(max_size=30), JSON)})}), max_size=3)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=st.lists(FRAMES, min_size=1, max_size=6))
def test_fuzzed_ws_frames_get_replies(server, frames):
    url, proc = server

    async def main():
        async with connect(url.replace("http", "ws") + "/ws") as ws:
            for frame in frames:
                await ws.send(frame)
                if frame.startswith('{"type": "close"'):
                    return
                reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert reply["type"] in ("observation", "state", "session", "oracle", "error"), reply
            await ws.send(json.dumps({"type": "close"}))

    asyncio.run(main())
    assert proc.poll() is None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
       path=st.sampled_from(["/sessions", "/sessions/{sid}/reset", "/sessions/{sid}/step", "/sessions/{sid}/fork",
                             "/sessions/{sid}/state", "/sessions/{sid}/oracle", "/sessions/{sid}", "/schema",
                             "/health", "/metadata", "/ws", "/sessions/%00/step", "/mcp"]),
       sid=st.one_of(st.just("x"), st.text(alphabet="abcdef0123456789", max_size=40)),
       body=st.one_of(st.binary(max_size=100), JSON.map(lambda v: json.dumps(v).encode())),
       seq=st.one_of(st.none(), st.text(max_size=4)))
def test_fuzzed_http_requests_get_replies(server, http, method, path, sid, body, seq):
    url, proc = server
    params = {"seq": seq} if seq is not None else None
    r = http.request(method, url + path.replace("{sid}", sid or "x"), content=body, params=params, timeout=30)
    assert r.status_code < 500 or r.status_code in (502, 503), (r.status_code, r.text[:300])
    if r.headers.get("content-type", "").startswith("application/json"):
        r.json()
    assert proc.poll() is None


def test_fuzzing_leaves_no_sessions_behind(server):
    url, proc = server
    deadline = time.monotonic() + 15
    while stats(url)["sessions"] and time.monotonic() < deadline:  # HTTP-created ones expire by lease
        time.sleep(0.2)
    assert stats(url)["sessions"] == 0 and httpx.get(f"{url}/health").json()["status"] == "healthy"
