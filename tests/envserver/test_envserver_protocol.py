"""The env server's wire protocol on a real uvicorn server: WebSocket sessions in OpenEnv's shape,
stateful HTTP routes, leases (expiry, resume by id), capacity (503 + Retry-After), bearer token,
and bad input answered with error replies while the server stays up."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from envserver_servers import running_server


def ws_url(url: str, **query: str) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return url.replace("http", "ws") + "/ws" + (f"?{q}" if q else "")


async def ask(ws, frame: dict) -> dict:
    await ws.send(json.dumps(frame))
    return json.loads(await ws.recv())


async def test_ws_session_reset_step_state_fork_oracle_close(maze_server):
    url, app = maze_server
    async with connect(ws_url(url)) as ws:
        first = await ask(ws, {"type": "reset", "data": {"seed": 1}})
        assert first["type"] == "observation" and first["data"]["done"] is False
        assert "maze" in first["data"]["observation"]["messages"][0]["content"]
        assert {t["name"] for t in first["data"]["observation"]["tools"]} == {"look", "move"}
        plan = (await ask(ws, {"type": "oracle"}))["data"]["messages"]
        assert plan and plan[0]["role"] == "assistant"
        step = await ask(ws, {"type": "step", "data": plan[0], "seq": 1})
        assert step["data"]["observation"]["messages"][0]["role"] == "tool"
        state = (await ask(ws, {"type": "state"}))["data"]
        assert state["step_count"] == 1 and state["seed"] == 1 and state["episode_id"] == state["session_id"]
        fork = await ask(ws, {"type": "fork"})
        twin_id = fork["data"]["session_id"]
        assert fork["type"] == "session" and twin_id != state["session_id"]
        async with connect(ws_url(url, session_id=twin_id)) as twin:
            for i, action in enumerate(plan[1:], start=2):
                a = await ask(ws, {"type": "step", "data": action, "seq": i})
                b = await ask(twin, {"type": "step", "data": action, "seq": i})
                assert a["data"]["observation"]["messages"] == b["data"]["observation"]["messages"]
            assert a["data"]["done"] and b["data"]["observation"]["success"] is True
            assert (await ask(twin, {"type": "state"}))["data"]["session_id"] == twin_id
            await twin.send(json.dumps({"type": "close"}))
        await ws.send(json.dumps({"type": "close"}))
    for _ in range(100):
        if not app.state.manager.sessions:
            break
        await asyncio.sleep(0.02)
    assert app.state.manager.sessions == {}


async def test_step_retried_with_same_seq_applies_once(maze_server):
    url, _ = maze_server
    async with connect(ws_url(url)) as ws:
        await ask(ws, {"type": "reset", "data": {"seed": 0}})
        move = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                       "function": {"name": "look", "arguments": "{}"}}]}
        one = await ask(ws, {"type": "step", "data": move, "seq": 1})
        again = await ask(ws, {"type": "step", "data": move, "seq": 1})
        assert again == one
        assert (await ask(ws, {"type": "state"}))["data"]["step_count"] == 1


async def test_dropped_connection_resumes_by_id_then_lease_expires():
    with running_server("toy/maze", env_args={"size": 2}, ttl=0.6) as (url, app):
        async with connect(ws_url(url)) as ws:
            sid = (await ask(ws, {"type": "ping"}))["data"]["session_id"]
            await ask(ws, {"type": "reset", "data": {"seed": 3}})
        # no close message: the session outlives the connection, within its lease
        async with connect(ws_url(url, session_id=sid)) as ws:
            state = (await ask(ws, {"type": "state"}))["data"]
            assert state["session_id"] == sid and state["seed"] == 3
        await asyncio.sleep(2.0)  # past the lease: the reaper closed it and released the env
        assert app.state.manager.sessions == {} and app.state.manager.counts["expired"] == 1
        assert app.state.host.table.envs == {}
        async with connect(ws_url(url, session_id=sid)) as ws:
            err = json.loads(await ws.recv())
            assert err["type"] == "error" and err["data"]["code"] == "SESSION_NOT_FOUND"
            assert "expired" in err["data"]["message"]


async def test_heartbeat_or_an_open_connection_keeps_a_session():
    with running_server("toy/maze", env_args={"size": 2}, ttl=0.5) as (url, app):
        async with httpx.AsyncClient(base_url=url) as c, connect(ws_url(url)) as ws:
            kept, dropped = [(await c.post("/sessions")).json()["session_id"] for _ in range(2)]
            await ask(ws, {"type": "reset", "data": {"seed": 0}})
            for _ in range(8):
                await asyncio.sleep(0.2)
                assert (await c.post(f"/sessions/{kept}/heartbeat")).status_code == 200
            assert (await c.get(f"/sessions/{kept}/state")).status_code == 200
            assert (await c.get(f"/sessions/{dropped}/state")).status_code == 404   # no traffic: expired
            assert (await ask(ws, {"type": "state"}))["type"] == "state"            # idle, but connected


async def test_http_routes_drive_a_session(maze_server):
    url, app = maze_server
    async with httpx.AsyncClient(base_url=url) as c:
        health = (await c.get("/health")).json()
        assert health["status"] == "healthy" and health["env_id"] == "toy/maze"
        schema = (await c.get("/schema")).json()
        assert {"action", "observation", "state"} <= set(schema) and schema["spec"]["id"] == "toy/maze"
        assert (await c.get("/metadata")).json()["name"] == "toy/maze"
        r = await c.post("/sessions")
        assert r.status_code == 201
        sid = r.json()["session_id"]
        assert (await c.post(f"/sessions/{sid}/step", json={"content": "hi"})).json()["data"]["code"] == "NOT_RESET"
        first = (await c.post(f"/sessions/{sid}/reset", json={"seed": 2})).json()
        assert first["done"] is False
        plan = (await c.get(f"/sessions/{sid}/oracle")).json()["messages"]
        twin = (await c.post(f"/sessions/{sid}/fork")).json()["session_id"]
        for i, action in enumerate(plan, start=1):
            out = (await c.post(f"/sessions/{sid}/step?seq={i}", json=action)).json()
        assert out["done"] and out["observation"]["success"]
        assert (await c.get(f"/sessions/{twin}/state")).json()["step_count"] == 0
        assert (await c.post(f"/sessions/{twin}/heartbeat")).json()["session_id"] == twin
        assert (await c.delete(f"/sessions/{sid}")).status_code == 200
        assert (await c.delete(f"/sessions/{twin}")).status_code == 200
        r = await c.get(f"/sessions/{sid}/state")
        assert r.status_code == 404 and r.json()["data"]["code"] == "SESSION_NOT_FOUND"
    assert app.state.manager.sessions == {}


async def test_capacity_is_a_503_with_retry_after():
    with running_server("toy/maze", max_sessions=2, ttl=30) as (url, app):
        async with httpx.AsyncClient(base_url=url) as c:
            ids = [(await c.post("/sessions")).json()["session_id"] for _ in range(2)]
            r = await c.post("/sessions")
            assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
            assert r.json()["data"]["code"] == "CAPACITY_REACHED" and "--max-sessions" in r.json()["data"]["message"]
            async with connect(ws_url(url)) as ws:
                err = json.loads(await ws.recv())
                assert err["data"]["code"] == "CAPACITY_REACHED" and err["data"]["retry_after"] >= 1
            await c.delete(f"/sessions/{ids[0]}")
            assert (await c.post("/sessions")).status_code == 201


async def test_bearer_token_required_except_health():
    with running_server("toy/maze", token="s3cret") as (url, app):
        async with httpx.AsyncClient(base_url=url) as c:
            assert (await c.get("/health")).status_code == 200
            r = await c.post("/sessions")
            assert r.status_code == 401 and r.json()["data"]["code"] == "UNAUTHORIZED"
            assert (await c.post("/sessions", headers={"Authorization": "Bearer nope"})).status_code == 401
            assert (await c.post("/sessions", headers={"Authorization": "Bearer s3cret"})).status_code == 201
        async with connect(ws_url(url)) as ws:
            assert json.loads(await ws.recv())["data"]["code"] == "UNAUTHORIZED"
        async with connect(ws_url(url), additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            assert (await ask(ws, {"type": "reset", "data": {}}))["type"] == "observation"
        assert len(app.state.manager.sessions) == 2  # the HTTP one (never closed) and the WebSocket one


@pytest.mark.parametrize("frame, code", [
    ("not json", "INVALID_JSON"),
    ("[1, 2]", "VALIDATION_ERROR"),
    ('{"type": "jump"}', "UNKNOWN_TYPE"),
    ('{"type": "step", "data": {"role": "assistant", "content": "x"}}', "NOT_RESET"),
    ('{"type": "reset", "data": {"seed": "abc"}}', "VALIDATION_ERROR"),
    ('{"type": "reset", "data": 7}', "VALIDATION_ERROR"),
    ('{"type": "step", "data": {"role": "user", "content": "x"}}', "VALIDATION_ERROR"),
    ('{"type": "step", "data": {"tool_calls": 5}}', "VALIDATION_ERROR"),
    ('{"type": "step", "seq": -1, "data": {}}', "VALIDATION_ERROR"),
    ("x" * (10 * 1024 * 1024), "TOO_LARGE"),
])
async def test_bad_frames_get_error_replies_and_the_session_lives(maze_server, frame, code):
    url, _ = maze_server
    async with connect(ws_url(url), max_size=None) as ws:
        await ws.send(frame)
        err = json.loads(await ws.recv())
        assert err["type"] == "error" and err["data"]["code"] == code, err
        assert (await ask(ws, {"type": "reset", "data": {"seed": 0}}))["type"] == "observation"


async def test_bad_http_bodies(maze_server):
    url, _ = maze_server
    async with httpx.AsyncClient(base_url=url) as c:
        sid = (await c.post("/sessions")).json()["session_id"]
        assert (await c.post(f"/sessions/{sid}/reset", content=b"{nope")).json()["data"]["code"] == "INVALID_JSON"
        r = await c.post(f"/sessions/{sid}/reset", content=b"x" * (10 * 1024 * 1024))
        assert r.status_code == 413
        assert (await c.post(f"/sessions/{sid}/step?seq=abc", json={})).status_code == 400
        assert (await c.post("/sessions/" + "z" * 5000 + "/reset")).status_code == 404
        assert (await c.get("/health")).json()["status"] == "healthy"


async def test_client_vanishing_mid_step_leaks_nothing():
    """A client that sends a step and disconnects at once: the step finishes, the session expires."""
    with running_server("toy/maze", ttl=0.5) as (url, app):
        for _ in range(5):
            ws = await connect(ws_url(url))
            await ask(ws, {"type": "reset", "data": {"seed": 0}})
            await ws.send(json.dumps({"type": "step", "data": {"content": "look"}, "seq": 1}))
            ws.transport.abort()  # no close handshake
        deadline = time.monotonic() + 10
        while app.state.manager.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert app.state.manager.sessions == {} and app.state.host.table.envs == {}


async def test_a_session_whose_env_builds_slower_than_its_lease_is_not_reaped(monkeypatch):
    """Under load an env can take longer to build than the TTL: the new session must survive its own creation."""
    import agentgym
    from agentgym import registry

    registry.list_envs()  # builtins and plugins in, then a private copy: the test's env does not outlive it
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))

    def slow_maze(**kwargs):
        time.sleep(0.8)  # make() runs off the event loop, so the reaper keeps running meanwhile
        return agentgym.make("toy/maze", **kwargs)

    agentgym.register("test/slow-maze", slow_maze, override=True)
    with running_server("test/slow-maze", env_args={"size": 2}, ttl=0.2) as (url, app):
        async with connect(ws_url(url)) as ws:
            first = await ask(ws, {"type": "reset", "data": {"seed": 0}})
            assert first["type"] == "observation", first
            assert (await ask(ws, {"type": "ping"}))["type"] == "session"
            assert app.state.manager.counts["expired"] == 0
            await ws.send(json.dumps({"type": "close"}))
        deadline = time.monotonic() + 10
        while app.state.manager.sessions and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert app.state.manager.sessions == {} and app.state.host.table.envs == {}  # nothing built after a close


async def test_an_unknown_session_is_refused_with_a_close_code_too(maze_server):
    """The error frame comes first; a client whose first send races the close still learns why (code 4404)."""
    from websockets.exceptions import ConnectionClosed

    from agentgym.remote import RemoteEnv, SessionLostError

    url, _ = maze_server
    ws = await connect(ws_url(url, session_id="gone"))
    reply = json.loads(await ws.recv())
    assert reply["data"]["code"] == "SESSION_NOT_FOUND"
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd.code == 4404 and "expired" in closed.value.rcvd.reason
    env = RemoteEnv(url, session_id="gone")
    with pytest.raises(SessionLostError, match="unknown session"):
        await env.state()
