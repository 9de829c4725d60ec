"""``RemoteEnv``: an env served by ``agentgym serve``, driven over a WebSocket session.

It implements the :class:`~agentgym.env.Env` contract, so eval, the trainers and every policy
work on it unchanged::

    env = agentgym.RemoteEnv("http://127.0.0.1:8000", token=None)
    first = await env.reset(seed=0)
    result = await env.step(Message.assistant(tool_calls=[ToolCall(name="look")]))
    twin = await env.fork()                  # a new server session at the same state
    await env.close()

    agentgym eval --remote http://127.0.0.1:8000 --policy oracle --episodes 20

A dropped connection is reopened on the same session (the server keeps it for its lease) and
the call retried: ``reset``, ``state``, ``oracle`` are idempotent and every ``step`` carries its
turn number, so a step retried after the server applied it is answered from its record, never
applied twice. Failures of the serving side raise :class:`RemoteInfraError` subclasses; the
rollout engine ends such an episode as ``infra_error`` (never a policy's reward 0).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from typing import Any
from urllib.parse import quote

from .env import Env
from .errors import AgentGymError, InfraError
from .types import EnvSpec, Message, StepResult, Task, ToolSpec

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class RemoteInfraError(InfraError):
    """The serving side failed (not the policy): the episode is an ``infra_error``, retried with its seed."""


class ServerUnreachableError(RemoteInfraError, ConnectionError):
    """No env server answers at the URL (gone, wrong address, or still starting)."""


class SessionLostError(RemoteInfraError):
    """The server no longer holds this session (expired lease, restarted server, crashed worker)."""


class RemoteEnvError(AgentGymError):
    """The server refused a request (wrong token, bad input, an env bug): retrying will not help."""


_SCHEMAS: dict[tuple[str, str | None], dict[str, Any]] = {}
_SCHEMA_LOCK = threading.Lock()


def _urls(url: str) -> tuple[str, str]:
    """``(http_base, ws_url)`` of a server URL given as http(s):// or ws(s)://."""
    url = url.rstrip("/")
    if url.endswith("/ws"):
        url = url[:-3]
    if url.startswith("ws://") or url.startswith("wss://"):
        http = "http" + url[2:]
    elif url.startswith("http://") or url.startswith("https://"):
        http = url
    else:
        raise RemoteEnvError(f"an env server URL starts with http://, https://, ws:// or wss://, got {url!r}")
    return http, "ws" + http[4:] + "/ws"


def fetch_schema(url: str, token: str | None = None, timeout: float = 10.0, *, cached: bool = True) -> dict[str, Any]:
    """The server's ``/schema`` (spec and tools), cached per URL and token (``cached=False``: ask the server)."""
    http, _ = _urls(url)
    key = (http, token)
    with _SCHEMA_LOCK:
        if cached and key in _SCHEMAS:
            return _SCHEMAS[key]
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        r = httpx.get(f"{http}/schema", headers=headers, timeout=timeout)
    except httpx.HTTPError as e:
        raise ServerUnreachableError(f"no env server answers at {http} ({type(e).__name__}: {e}); "
                                     "start one with `agentgym serve ENV_ID --port PORT`") from None
    if r.status_code == 401:
        raise RemoteEnvError(f"{http} refused the token: pass the server's --token (RemoteEnv(url, token=...))")
    if r.status_code != 200 or "spec" not in r.text:
        raise RemoteEnvError(f"{http}/schema answered {r.status_code}: is this an agentgym env server?")
    data = r.json()
    with _SCHEMA_LOCK:
        _SCHEMAS[key] = data
    return data


class RemoteEnv(Env):
    """An env on an ``agentgym serve`` server (see the module docstring).

    Args:
        url: the server, ``http://host:port`` (or ``ws://``).
        token: the server's bearer token, if it has one.
        max_turns: a lower turn limit than the served env's own.
        retries: reconnect attempts per call after a dropped connection.
        call_timeout: seconds one reset/step may take on the server before the episode is lost.
        heartbeat: seconds between lease renewals while idle (default: a third of the server's TTL).
    """

    def __init__(self, url: str, token: str | None = None, *, max_turns: int | None = None, retries: int = 3,
                 connect_timeout: float = 10.0, call_timeout: float = 600.0, heartbeat: float | None = None,
                 session_id: str | None = None):
        self.url, self.token = url, token
        self._http, self._ws_url = _urls(url)
        schema = fetch_schema(url, token, timeout=connect_timeout)
        spec = EnvSpec.model_validate(schema["spec"])
        tools = [ToolSpec.model_validate(t) for t in schema.get("tools", [])]
        self.spec = spec.model_copy(update={"tools": tools, "max_turns": max_turns or spec.max_turns})
        self.retries, self.connect_timeout, self.call_timeout = retries, connect_timeout, call_timeout
        self.heartbeat = heartbeat
        self.session_id: str | None = session_id
        self.ttl: float | None = None
        self._ws: Any = None
        self._lock: asyncio.Lock | None = None
        self._beat: asyncio.Task | None = None
        self._seq = 0

    # ------------------------------------------------------------------ wire
    async def _open(self) -> None:
        from websockets.asyncio.client import connect

        url = self._ws_url + (f"?session_id={quote(self.session_id)}" if self.session_id else "")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        self._ws = await connect(url, additional_headers=headers, open_timeout=self.connect_timeout,
                                 max_size=DEFAULT_MAX_MESSAGE_BYTES, ping_interval=20, ping_timeout=60,
                                 proxy=None)
        reply = await self._exchange({"type": "ping"})  # our session id (new or resumed), and the lease
        self.session_id, self.ttl = reply["data"]["session_id"], float(reply["data"]["ttl"])
        if self._beat is None:
            self._beat = asyncio.ensure_future(self._heartbeat())

    async def _exchange(self, frame: dict[str, Any]) -> dict[str, Any]:
        await self._ws.send(json.dumps(frame))
        reply = json.loads(await asyncio.wait_for(self._ws.recv(), self.call_timeout))
        if reply.get("type") == "error":
            data = reply.get("data") or {}
            code, text = data.get("code"), f"{self._http}: {data.get('message', 'error')}"
            if code in ("SESSION_NOT_FOUND", "INFRA_ERROR", "SESSION_ERROR"):
                raise SessionLostError(text)
            if code == "CAPACITY_REACHED":
                raise _Capacity(text, float(data.get("retry_after", 1)))
            raise RemoteEnvError(f"{text} ({code})")
        return reply

    async def _call(self, frame: dict[str, Any]) -> dict[str, Any]:
        """One request/reply; reconnects to the same session and retries on a dropped connection."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            waited, attempt, last = 0.0, 0, None
            while True:
                try:
                    try:
                        if self._ws is None:
                            await self._open()
                        return await self._exchange(frame)
                    except ConnectionClosed as e:
                        self._refused(e)  # closed with a reason (unknown session, token, capacity): no blind retry
                        raise
                except _Capacity as e:  # a full server: wait its retry-after (bounded); not a failed attempt
                    await self._drop()
                    if waited >= self.call_timeout:
                        raise RemoteInfraError(f"{e} (waited {waited:.0f} s for a free session)") from None
                    delay = min(e.retry_after, 5.0) * (0.5 + random.random())
                    waited += delay
                    await asyncio.sleep(delay)
                except asyncio.TimeoutError:
                    await self._drop()
                    raise SessionLostError(f"{self._http} did not answer a {frame['type']} within "
                                           f"{self.call_timeout:g} s") from None
                except (ConnectionClosed, InvalidHandshake, OSError) as e:
                    await self._drop()
                    last, attempt = e, attempt + 1
                    if attempt > self.retries:
                        break
                    await asyncio.sleep(min(0.1 * 2 ** attempt, 2.0))
            if self.session_id is None:
                raise ServerUnreachableError(f"no env server answers at {self._http} after {self.retries + 1} "
                                             f"attempts ({type(last).__name__}: {last})")
            raise SessionLostError(f"lost the connection to {self._http} (session {self.session_id}) and could not "
                                   f"resume it in {self.retries + 1} attempts ({type(last).__name__}: {last})")

    def _refused(self, e: BaseException) -> None:
        """Raises what a close code of the server means (see ``agentgym.server.app.CLOSE_CODES``)."""
        rcvd = getattr(e, "rcvd", None)
        code, reason = getattr(rcvd, "code", None), getattr(rcvd, "reason", "") or ""
        if code == 4404:
            self._ws = None
            raise SessionLostError(f"{self._http}: {reason or 'unknown session'}") from None
        if code == 1008:
            raise RemoteEnvError(f"{self._http} refused the token: {reason}") from None
        if code == 1013:
            raise _Capacity(f"{self._http}: {reason}", 1.0) from None

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 1.0)
            except Exception:
                pass

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat or max((self.ttl or 30.0) / 3, 0.05))
            if self._lock is not None and not self._lock.locked() and self._ws is not None:
                try:
                    await self._call({"type": "ping"})
                except Exception:
                    pass  # the next real call reconnects or reports the loss

    # ------------------------------------------------------------------ Env contract
    async def _reset(self, *, seed: int | None, task: Task | None) -> StepResult:
        from .server.protocol import decode_result

        data: dict[str, Any] = {"seed": seed, "task": task.model_dump(mode="json") if task else None}
        reply = await self._call({"type": "reset", "data": data})
        self._seq = 0
        obs = reply["data"].get("observation") or {}
        if obs.get("tools") is not None:
            self.spec = self.spec.model_copy(update={"tools": [ToolSpec.model_validate(t) for t in obs["tools"]]})
        return decode_result(reply["data"])

    async def _step(self, action: Message) -> StepResult:
        from .server.protocol import decode_result

        seq = self._seq + 1
        reply = await self._call({"type": "step", "data": action.to_openai(), "seq": seq})
        self._seq = seq
        return decode_result(reply["data"])

    async def state(self) -> dict[str, Any]:
        """The server's view of the session: ``episode_id``, ``step_count``, ``done``, ``task_id``, ``seed``."""
        return (await self._call({"type": "state"}))["data"]

    async def oracle(self) -> list[Message] | None:
        msgs = (await self._call({"type": "oracle"}))["data"].get("messages")
        return None if msgs is None else [Message.from_openai(m) for m in msgs]

    async def fork(self) -> RemoteEnv:
        """A new server session at this one's state (the server forks the env natively or by replay)."""
        self._check_open()
        reply = await self._call({"type": "fork"})
        twin = RemoteEnv(self.url, self.token, max_turns=self.spec.max_turns, retries=self.retries,
                         connect_timeout=self.connect_timeout, call_timeout=self.call_timeout,
                         heartbeat=self.heartbeat, session_id=reply["data"]["session_id"])
        twin.spec = self.spec
        for name in ("_seed", "_task_arg", "_task", "_turn", "_done", "_started", "_seq"):
            if hasattr(self, name):
                setattr(twin, name, getattr(self, name))
        twin._actions = list(getattr(self, "_actions", []))
        return twin

    async def _close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                await ws.send(json.dumps({"type": "close"}))
            except Exception:
                pass
            try:
                await asyncio.wait_for(ws.close(), 2.0)
            except Exception:
                pass
        elif self.session_id is not None:  # a fork never driven: close its server session over HTTP
            try:
                import httpx

                headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
                async with httpx.AsyncClient(timeout=self.connect_timeout) as client:
                    await client.delete(f"{self._http}/sessions/{self.session_id}", headers=headers)
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<RemoteEnv {self.spec.id} at {self._http} session={self.session_id}>"


class _Capacity(Exception):
    def __init__(self, text: str, retry_after: float):
        super().__init__(text)
        self.retry_after = retry_after


__all__ = ["RemoteEnv", "RemoteInfraError", "ServerUnreachableError", "SessionLostError", "RemoteEnvError",
           "fetch_schema"]
