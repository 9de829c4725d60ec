"""The env server's FastAPI app: WebSocket sessions (OpenEnv's shape), stateful HTTP routes, health.

    app = create_app("toy/maze", env_args={"size": 3}, max_sessions=256, ttl=300, token=None, workers=0)
    uvicorn.run(app, host="127.0.0.1", port=8000)     # what `agentgym serve toy/maze` does

Routes: ``/ws`` (``?session_id=`` resumes a session, e.g. after a dropped connection or to
drive a fork), ``POST /sessions`` then ``/sessions/{id}/reset|step|fork|heartbeat``,
``GET /sessions/{id}/state|oracle``, ``DELETE /sessions/{id}``; ``/health`` (no token needed),
``/schema``, ``/metadata``, ``GET /sessions`` (counts); ``POST /mcp`` (the tools over JSON-RPC,
:mod:`agentgym.server.mcp`). With a token every route but
``/health`` needs ``Authorization: Bearer TOKEN`` (WebSocket clients that cannot set headers
may pass ``?token=``).
"""

from __future__ import annotations

import contextlib
import hmac
import json
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ..types import Message
from .envtable import LocalHost
from .protocol import DEFAULT_MAX_MESSAGE_BYTES, MESSAGE_TYPES, ErrorCode, Frame, ServerError
from .sessions import Session, SessionManager

OPEN_PATHS = {"/health"}
# a WebSocket refused before its session starts is closed with a code saying why (the error frame comes first,
# but a client whose first send races the close sees only this)
CLOSE_CODES = {ErrorCode.UNAUTHORIZED: 1008, ErrorCode.CAPACITY_REACHED: 1013, ErrorCode.SESSION_NOT_FOUND: 4404}


class _Guard:
    """ASGI middleware for HTTP: bearer token and body size, answered before any route runs."""

    def __init__(self, app: Any, token: str | None, max_bytes: int):
        self.app, self.token, self.max_bytes = app, token, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            err = None
            if self.token and scope["path"] not in OPEN_PATHS and not token_ok(
                    headers.get(b"authorization", b"").decode("latin-1"), self.token):
                err = ServerError(ErrorCode.UNAUTHORIZED, "missing or wrong bearer token: send "
                                  "`Authorization: Bearer <token>` (the server's --token)")
            else:
                length = headers.get(b"content-length", b"0")
                if not length.isdigit() or int(length) > self.max_bytes:
                    err = ServerError(ErrorCode.TOO_LARGE, f"request body over {self.max_bytes} bytes")
            if err is not None:
                await error_response(err)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def token_ok(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def error_response(err: ServerError) -> JSONResponse:
    headers = {"Retry-After": str(err.extra.get("retry_after", 1))} if err.code == ErrorCode.CAPACITY_REACHED else None
    return JSONResponse(err.frame(), status_code=err.status, headers=headers)


def create_app(env_id: str, *, env_args: dict[str, Any] | None = None, max_sessions: int = 1024,
               ttl: float = 300.0, token: str | None = None, workers: int = 0,
               max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> FastAPI:
    """The server for ``env_id``; envs live in ``workers`` processes (0: in the server process)."""
    if workers:
        from .workers import ProcessHost
        host: Any = ProcessHost(env_id, env_args, workers)
    else:
        host = LocalHost(env_id, env_args)
    manager = SessionManager(host, ttl=ttl, max_sessions=max_sessions)
    described: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        described.update(await host.start())
        manager.start()
        try:
            yield
        finally:
            await manager.aclose()
            await host.aclose()

    app = FastAPI(title=f"agentgym env server: {env_id}", lifespan=lifespan)
    app.state.manager, app.state.host, app.state.described = manager, host, described

    async def dispatch(session: Session, kind: str, data: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
        if kind in ("reset", "step"):
            return {"type": "observation", "data": await manager.run(session, kind, data, seq)}
        if kind == "state":
            return {"type": "state", "data": {**await manager.run(session, "state", {}), "session_id": session.id}}
        if kind == "fork":
            twin = await manager.fork(session)
            return {"type": "session", "data": {"session_id": twin.id, "ttl": manager.ttl}}
        if kind == "oracle":
            return {"type": "oracle", "data": await manager.run(session, "oracle", {})}
        if kind == "ping":
            manager.touch(session)
            return {"type": "session", "data": {"session_id": session.id, "ttl": manager.ttl}}
        raise ServerError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}")

    def parse(raw: str | bytes | None) -> Frame:
        if raw is None:
            raise ServerError(ErrorCode.VALIDATION_ERROR, "empty frame")
        if len(raw) > max_message_bytes:
            raise ServerError(ErrorCode.TOO_LARGE, f"message of {len(raw)} bytes; the limit is {max_message_bytes}")
        obj = _json_object(raw, "a message")
        if obj.get("type") not in MESSAGE_TYPES:
            shown = str(obj.get("type"))[:60]
            raise ServerError(ErrorCode.UNKNOWN_TYPE, f"Unknown message type: {shown}; use one of {', '.join(MESSAGE_TYPES)}")
        try:
            return Frame.model_validate(obj)
        except ValidationError as e:
            raise ServerError(ErrorCode.VALIDATION_ERROR, f"Invalid message: {e.errors()[0]['msg']}") from None

    # ------------------------------------------------------------------ WebSocket
    @app.websocket("/ws")
    async def ws_session(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            if token and not (token_ok(websocket.headers.get("authorization", ""), token)
                              or hmac.compare_digest(websocket.query_params.get("token", "").encode(), token.encode())):
                raise ServerError(ErrorCode.UNAUTHORIZED, "missing or wrong token: send `Authorization: Bearer <token>`")
            sid = websocket.query_params.get("session_id")
            session = manager.get(sid) if sid else await manager.create()
        except ServerError as e:
            with contextlib.suppress(Exception):
                await websocket.send_text(json.dumps(e.frame()))
                await websocket.close(code=CLOSE_CODES.get(e.code, 1000), reason=f"{e.code.value}: {e.message}"[:120])
            return
        session.attached = websocket
        client_closed = False
        try:
            while True:
                msg = await websocket.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                try:
                    frame = parse(msg.get("text") if msg.get("text") is not None else msg.get("bytes"))
                    if frame.type == "close":
                        client_closed = True
                        break
                    reply = await dispatch(session, frame.type, frame.data, frame.seq)
                except ServerError as e:
                    reply = e.frame()
                await websocket.send_text(json.dumps(reply))
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the client vanished: the session stays resumable until its lease ends
        finally:
            if client_closed:
                await manager.close(session.id)
            else:
                manager.detach(session, websocket)
            if websocket.client_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close()

    # ------------------------------------------------------------------ HTTP
    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > max_message_bytes:
            raise ServerError(ErrorCode.TOO_LARGE, f"request body over {max_message_bytes} bytes")
        if not raw.strip():
            return {}
        return _json_object(raw, "the body")

    async def http_op(request: Request, sid: str, kind: str) -> JSONResponse:
        try:
            data = await body_of(request) if request.method == "POST" else {}
            seq = request.query_params.get("seq")
            if seq is not None and not seq.isdigit():
                raise ServerError(ErrorCode.VALIDATION_ERROR, f"seq must be a non-negative integer, got {seq[:40]!r}")
            reply = await dispatch(manager.get(sid), kind, data, int(seq) if seq else None)
            return JSONResponse(reply["data"], status_code=201 if kind == "fork" else 200)
        except ServerError as e:
            return error_response(e)

    @app.post("/sessions", status_code=201)
    async def new_session() -> JSONResponse:
        try:
            session = await manager.create()
        except ServerError as e:
            return error_response(e)
        return JSONResponse({"session_id": session.id, "ttl": manager.ttl}, status_code=201)

    for kind, method in (("reset", "POST"), ("step", "POST"), ("fork", "POST"), ("heartbeat", "POST"),
                         ("state", "GET"), ("oracle", "GET")):
        async def route(request: Request, session_id: str, _kind: str = "ping" if kind == "heartbeat" else kind) -> JSONResponse:
            return await http_op(request, session_id, _kind)
        app.add_api_route(f"/sessions/{{session_id}}/{kind}", route, methods=[method], name=f"session_{kind}")

    @app.delete("/sessions/{session_id}")
    async def close_session(session_id: str) -> JSONResponse:
        if not await manager.close(session_id):
            return error_response(ServerError(ErrorCode.SESSION_NOT_FOUND, "unknown or already closed session id"))
        return JSONResponse({"closed": True, "session_id": session_id})

    @app.get("/sessions")
    async def session_counts() -> dict[str, Any]:
        return {**manager.stats(), "workers_alive": host.alive()}

    @app.post("/mcp")
    async def mcp(request: Request) -> JSONResponse:
        from .. import __version__
        from .mcp import handle_mcp

        return JSONResponse(await handle_mcp(await request.body(), manager, described, env_id, __version__))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        alive = host.alive()
        return {"status": "healthy" if all(alive) else "degraded", "env_id": env_id,
                "sessions": len(manager.sessions), "max_sessions": max_sessions, "workers_alive": alive}

    @app.get("/schema")
    async def schema() -> dict[str, Any]:
        from .protocol import ResetData
        return {"env_id": env_id, "spec": described.get("spec"), "tools": described.get("tools", []),
                "action": Message.model_json_schema(), "reset": ResetData.model_json_schema(),
                "observation": _OBSERVATION_SCHEMA, "state": _STATE_SCHEMA}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        from .. import __version__
        spec = described.get("spec") or {}
        return {"name": env_id, "description": spec.get("description", ""), "version": __version__,
                "protocol": "openenv-ws", "extensions": ["fork", "oracle", "ping", "seq", "session_id resume", "mcp"],
                "workers": workers, "ttl": ttl, "max_sessions": max_sessions}

    return _Guard(app, token, max_message_bytes)  # type: ignore[return-value]


_OBSERVATION_SCHEMA = {
    "type": "object", "description": "observation payload: messages to append, step signals",
    "properties": {"messages": {"type": "array"}, "terminated": {"type": "boolean"}, "truncated": {"type": "boolean"},
                   "success": {"type": ["boolean", "null"]}, "channels": {"type": "object"}, "info": {"type": "object"},
                   "turn": {"type": "integer"}, "tools": {"type": "array"}},
}
_STATE_SCHEMA = {
    "type": "object", "properties": {"episode_id": {"type": "string"}, "step_count": {"type": "integer"},
                                     "session_id": {"type": "string"}, "done": {"type": "boolean"}},
}

__all__ = ["create_app", "token_ok"]


def _json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    """``raw`` decoded as a JSON object, else a ServerError naming ``what`` it should have been."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ServerError(ErrorCode.INVALID_JSON, f"Invalid JSON: {str(e)[:200]}") from None
    if not isinstance(obj, dict):
        raise ServerError(ErrorCode.VALIDATION_ERROR, f"{what} is a JSON object, got {type(obj).__name__}")
    return obj
