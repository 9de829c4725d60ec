"""``POST /mcp``: the env's tools over JSON-RPC as OpenEnv servers offer them; OpenEnv's own runtime
validator (``openenv validate --url``) passes against an agentgym server."""

from __future__ import annotations

import json

import httpx

import agentgym


def rpc(url: str, method: str, params: dict | None = None, rid: int = 1) -> dict:
    body = {"jsonrpc": "2.0", "id": rid, "method": method, **({"params": params} if params is not None else {})}
    r = httpx.post(f"{url}/mcp", json=body, timeout=10)
    assert r.status_code == 200 and r.json()["jsonrpc"] == "2.0" and r.json()["id"] == rid
    return r.json()


def test_openenv_runtime_validation_passes(maze_server):
    from openenv.cli._validation import validate_running_environment  # agentgym[dev] installs openenv

    url, _ = maze_server
    report = validate_running_environment(url)
    failed = [c for c in report["criteria"] if not c["passed"]]
    assert report["passed"] is True, failed


async def test_tools_over_mcp_play_an_episode(maze_server):
    url, app = maze_server
    assert rpc(url, "initialize")["result"]["capabilities"] == {"tools": {}}
    tools = rpc(url, "tools/list")["result"]["tools"]
    env = agentgym.make("toy/maze", size=3)
    assert [t["name"] for t in tools] == [t.name for t in env.tools]
    assert all(t["inputSchema"]["type"] == "object" for t in tools)

    sid = rpc(url, "openenv/session/create")["result"]["session_id"]
    before_reset = rpc(url, "tools/call", {"session_id": sid, "name": "look", "arguments": {}})
    assert before_reset["error"]["data"]["code"] == "NOT_RESET"
    assert httpx.post(f"{url}/sessions/{sid}/reset", json={"seed": 4}).status_code == 200
    await env.reset(seed=4)
    plan = await env.oracle()
    unknown = rpc(url, "tools/call", {"session_id": sid, "name": "teleport", "arguments": {}})["result"]
    assert unknown["isError"] is True and "teleport" in unknown["content"][0]["text"]  # feedback, not a crash
    for i, action in enumerate(plan):
        call = action.tool_calls[0]
        reply = rpc(url, "tools/call", {"session_id": sid, "name": call.name, "arguments": json.loads(call.arguments)},
                    rid=10 + i)["result"]
        expected = await env.step(action)
        assert reply["content"][0]["text"] == "\n".join(m.content or "" for m in expected.messages if m.role == "tool")
    assert reply["_meta"]["done"] is True and reply["_meta"]["reward"] == 1.0 and reply["isError"] is False
    assert rpc(url, "openenv/session/close", {"session_id": sid})["result"]["closed"] is True
    assert app.state.manager.stats()["sessions"] == 0
    await env.close()


def test_bad_mcp_requests_get_json_rpc_errors(maze_server):
    url, _ = maze_server
    codes = {
        "not json": httpx.post(f"{url}/mcp", content=b"{nope", timeout=10).json()["error"]["code"],
        "empty": httpx.post(f"{url}/mcp", json={}, timeout=10).json()["error"]["code"],
        "unknown method": rpc(url, "tools/destroy")["error"]["code"],
        "params not an object": httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                                               "params": [1]}, timeout=10).json()["error"]["code"],
        "no session": rpc(url, "tools/call", {"name": "look"})["error"]["code"],
        "unknown session": rpc(url, "tools/call", {"session_id": "gone", "name": "look"})["error"]["code"],
        "close unknown": rpc(url, "openenv/session/close", {"session_id": "gone"})["error"]["code"],
    }
    assert codes == {"not json": -32700, "empty": -32600, "unknown method": -32601, "params not an object": -32602,
                     "no session": -32602, "unknown session": -32000, "close unknown": -32602}
    assert httpx.get(f"{url}/health", timeout=10).json()["status"] == "healthy"
