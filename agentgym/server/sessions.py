"""Leased sessions: every session holds one env on the host until it is closed or its lease runs out.

A lease is renewed by any traffic on the session (a ``ping`` heartbeat included) and by an open
WebSocket attached to it (whose liveness the server checks with protocol pings), and lasts
``ttl`` seconds past the last of them; a session whose lease ran out while no call was running is
closed by the reaper and its env released (sandboxes, browsers, temp files go with ``Env.close``). A client
whose connection dropped resumes its session by id within the lease. At ``max_sessions`` a
new session is refused with ``CAPACITY_REACHED`` and a ``retry_after`` hint.

    manager = SessionManager(LocalHost("toy/maze"), ttl=300, max_sessions=1024)
    session = await manager.create()
    reply = await manager.run(session, "reset", {"seed": 0})
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .protocol import ErrorCode, ServerError


@dataclass(eq=False)
class Session:
    id: str
    slot: Any
    last_seen: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    attached: Any = None                 # the connection currently driving it (a newer one takes over)
    last_seq: int | None = None          # the last applied step's seq, and its reply (exactly-once retries)
    last_reply: dict[str, Any] | None = None


class SessionManager:
    """Sessions of one server: create, look up, run operations, fork, close, expire."""

    def __init__(self, host: Any, *, ttl: float = 300.0, max_sessions: int = 1024):
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl}")
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self.host, self.ttl, self.max_sessions = host, float(ttl), max_sessions
        self.sessions: dict[str, Session] = {}
        self.counts = {"created": 0, "closed": 0, "expired": 0, "refused": 0}
        self._reaper: asyncio.Task | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._reaper = asyncio.ensure_future(self._reap_forever())

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
        for sid in list(self.sessions):
            await self.close(sid)

    async def _reap_forever(self) -> None:
        period = min(max(self.ttl / 4, 0.05), 5.0)
        while True:
            await asyncio.sleep(period)
            await self.reap()

    async def reap(self) -> int:
        """Closes every session past its lease with no call running; returns how many."""
        now = time.monotonic()
        stale = [s for s in self.sessions.values()
                 if s.attached is None and not s.lock.locked() and now - s.last_seen > self.ttl]
        for s in stale:
            self.counts["expired"] += 1
            await self.close(s.id)
        return len(stale)

    # ------------------------------------------------------------------ sessions
    def _check_capacity(self) -> None:
        if len(self.sessions) >= self.max_sessions:
            self.counts["refused"] += 1
            raise ServerError(ErrorCode.CAPACITY_REACHED,
                              f"the server holds its maximum of {self.max_sessions} sessions; retry after "
                              f"{self.retry_after()} s, close finished sessions, or raise --max-sessions",
                              retry_after=self.retry_after(), active_sessions=len(self.sessions),
                              max_sessions=self.max_sessions)

    def retry_after(self) -> int:
        """Seconds until the idle session nearest to its lease end expires (1 when none is idle)."""
        now = time.monotonic()
        idle = [self.ttl - (now - s.last_seen) for s in self.sessions.values()
                if s.attached is None and not s.lock.locked()]
        return int(min(max(math.ceil(min(idle, default=1.0)), 1), 60))

    async def create(self) -> Session:
        self._check_capacity()
        sid = uuid.uuid4().hex
        session = Session(sid, self.host.place(sid), time.monotonic())
        self.sessions[sid] = session
        try:
            async with session.lock:  # the reaper skips it while its env is built (slow under load)
                await self.host.call(session.slot, "create", sid, {})
                session.last_seen = time.monotonic()  # the lease starts once the session exists
        except BaseException:
            self.sessions.pop(sid, None)
            self.host.forget(sid)
            raise
        self.counts["created"] += 1
        return session

    def get(self, sid: str) -> Session:
        session = self.sessions.get(sid)
        if session is None:
            shown = sid if len(sid) <= 64 else sid[:64] + "..."
            raise ServerError(ErrorCode.SESSION_NOT_FOUND,
                              f"unknown session id {shown!r}: it was closed, or expired after {self.ttl:g} s "
                              "without traffic; start a new session")
        return session

    async def run(self, session: Session, op: str, data: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
        """Runs one operation on the session's env, one at a time per session; renews the lease."""
        async with session.lock:
            if self.sessions.get(session.id) is not session:
                raise ServerError(ErrorCode.SESSION_NOT_FOUND, f"session {session.id} was closed")
            session.last_seen = time.monotonic()
            if op == "step" and seq is not None and seq == session.last_seq and session.last_reply is not None:
                return session.last_reply  # a retried step that was already applied
            try:
                reply = await self.host.call(session.slot, op, session.id, data)
            finally:
                session.last_seen = time.monotonic()
            if op == "step":
                session.last_seq, session.last_reply = seq, reply
            elif op == "reset":
                session.last_seq = session.last_reply = None
            return reply

    def touch(self, session: Session) -> None:
        session.last_seen = time.monotonic()

    def detach(self, session: Session, connection: Any) -> None:
        """``connection`` stopped driving the session: its lease runs from now."""
        if session.attached is connection:
            session.attached = None
            session.last_seen = time.monotonic()

    async def fork(self, session: Session) -> Session:
        """A new session on the same host slot, at the same state."""
        self._check_capacity()
        new_sid = uuid.uuid4().hex
        twin = Session(new_sid, session.slot, time.monotonic())
        self.sessions[new_sid] = twin
        self.host.adopt(session.slot, new_sid)
        try:
            async with twin.lock:  # not reaped while the fork (a replay, maybe) runs
                await self.run(session, "fork", {"session_id": new_sid})
                twin.last_seen = time.monotonic()
        except BaseException:
            self.sessions.pop(new_sid, None)
            self.host.forget(new_sid)
            raise
        self.counts["created"] += 1
        return twin

    async def close(self, sid: str) -> bool:
        """Closes the session and releases its env; False when it was not open."""
        session = self.sessions.pop(sid, None)
        if session is None:
            return False
        self.counts["closed"] += 1
        try:
            async with session.lock:
                await self.host.call(session.slot, "close", sid, {})
        except ServerError:
            pass  # its worker is gone: nothing left to release
        finally:
            self.host.forget(sid)
        return True

    def stats(self) -> dict[str, Any]:
        return {"sessions": len(self.sessions), "max_sessions": self.max_sessions, "ttl": self.ttl, **self.counts}


__all__ = ["Session", "SessionManager"]
