"""``POST /mcp``: the env's tools over MCP-style JSON-RPC 2.0, as OpenEnv servers offer them.

    {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    {"jsonrpc": "2.0", "id": 2, "method": "openenv/session/create"}          # -> {"session_id": ...}
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
     "params": {"session_id": "...", "name": "move", "arguments": {"direction": "north"}}}
    {"jsonrpc": "2.0", "id": 4, "method": "openenv/session/close", "params": {"session_id": "..."}}

A tool call is one env step (an assistant message with that one call) on a session that was
reset over ``/ws`` or ``POST /sessions/{id}/reset``; its result carries the tool's text and,
under ``_meta``, the step's reward and whether the episode ended. Every reply is HTTP 200 with a
JSON-RPC result or error object (what ``openenv validate --url`` checks).
"""

from __future__ import annotations

import json
from typing import Any

from ..types import Message, ToolCall
from .protocol import ServerError
from .sessions import SessionManager

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, SERVER_ERROR = -32700, -32600, -32601, -32602, -32000
PROTOCOL_VERSION = "2025-03-26"


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": err}


def _ok(request_id: Any, result: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


async def handle_mcp(raw: bytes, manager: SessionManager, described: dict[str, Any], env_id: str,
                     version: str) -> dict[str, Any]:
    """One JSON-RPC request in, one response object out (never raises)."""
    try:
        req = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: the body is not JSON")
    if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or not isinstance(req.get("method"), str):
        rid = req.get("id") if isinstance(req, dict) else None
        return _error(rid, INVALID_REQUEST, 'Invalid Request: send {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}')
    rid, method, params = req.get("id"), req["method"], req.get("params", {})
    if not isinstance(params, dict):
        return _error(rid, INVALID_PARAMS, "params must be an object")
    try:
        if method == "initialize":
            return _ok(rid, {"protocolVersion": PROTOCOL_VERSION, "capabilities": {"tools": {}},
                             "serverInfo": {"name": f"agentgym {env_id}", "version": version}})
        if method == "tools/list":
            return _ok(rid, {"tools": [{"name": t["name"], "description": t.get("description", ""),
                                        "inputSchema": t.get("parameters") or {"type": "object"}}
                                       for t in described.get("tools", [])]})
        if method == "openenv/session/create":
            session = await manager.create()
            return _ok(rid, {"session_id": session.id, "ttl": manager.ttl})
        if method == "openenv/session/close":
            sid = params.get("session_id")
            if not isinstance(sid, str) or not await manager.close(sid):
                return _error(rid, INVALID_PARAMS, f"unknown session_id: {str(sid)[:64]}")
            return _ok(rid, {"session_id": sid, "closed": True})
        if method == "tools/call":
            return await _call_tool(rid, params, manager)
    except ServerError as e:
        return _error(rid, SERVER_ERROR, e.message, {"code": e.code.value})
    return _error(rid, METHOD_NOT_FOUND, f"Method not found: {method[:60]}; use initialize, tools/list, "
                                         "tools/call, openenv/session/create or openenv/session/close")


async def _call_tool(rid: Any, params: dict[str, Any], manager: SessionManager) -> dict[str, Any]:
    sid, name, arguments = params.get("session_id"), params.get("name"), params.get("arguments", {})
    if not isinstance(sid, str):
        return _error(rid, INVALID_PARAMS, "tools/call needs a session_id: create one (openenv/session/create) "
                                           "and reset it (over /ws or POST /sessions/{id}/reset) first")
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return _error(rid, INVALID_PARAMS, "tools/call needs params.name (a string) and params.arguments (an object)")
    action = Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(arguments))])
    reply = await manager.run(manager.get(sid), "step", action.to_openai())
    obs = reply.get("observation") or {}
    texts = [m.get("content") or "" for m in obs.get("messages", []) if m.get("role") == "tool"]
    tool_ok = (obs.get("channels") or {}).get("tool_ok")
    return _ok(rid, {"content": [{"type": "text", "text": "\n".join(texts)}], "isError": tool_ok == 0.0,
                     "_meta": {"reward": reply.get("reward"), "done": reply.get("done"), "turn": obs.get("turn")}})


__all__ = ["handle_mcp"]
