"""Worker processes that host a server's envs (``agentgym serve ENV --workers W``).

Each worker runs one event loop with an :class:`~agentgym.server.envtable.EnvTable`; a session
lives on one worker for its whole life (its forks too), so blocking env work uses every core
and an engine that is not thread-safe is never entered from two threads of one process. A
worker that dies fails its in-flight calls and every session it held with ``INFRA_ERROR``
(clients end those episodes as ``infra_error``); the next new session gets a fresh worker.

    host = ProcessHost("textworld/cooking", {}, workers=2)
    described = await host.start()
    slot = host.place("s1")
    await host.call(slot, "create", "s1", {})
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
from typing import Any

from ..offload import _main_hidden, worker_context
from .envtable import EnvTable
from .protocol import ErrorCode, ServerError


def _worker_main(conn: Any, env_id: str, env_args: dict[str, Any]) -> None:
    """A worker: requests ``(req_id, op, sid, data)`` in, ``(req_id, ok, payload)`` out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's; it stops us by closing the pipe
    table = EnvTable(env_id, env_args)
    loop = asyncio.new_event_loop()
    send_lock = threading.Lock()

    def reply(req_id: int, ok: bool, payload: Any) -> None:
        with send_lock:
            try:
                conn.send((req_id, ok, payload))
            except (OSError, ValueError):
                pass

    async def run(req_id: int, op: str, sid: str, data: dict[str, Any]) -> None:
        try:
            out = await (table.describe() if op == "describe" else table.handle(op, sid, data))
            reply(req_id, True, out)
        except ServerError as e:
            reply(req_id, False, {"code": e.code.value, "message": e.message})
        except Exception as e:
            reply(req_id, False, {"code": ErrorCode.EXECUTION_ERROR.value, "message": f"{type(e).__name__}: {e}"})

    def read() -> None:
        while True:
            try:
                req = conn.recv()
            except (EOFError, OSError):
                break
            if req is None:
                break
            loop.call_soon_threadsafe(lambda r=req: loop.create_task(run(*r)))
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=read, name="agentgym-worker-reader", daemon=True).start()
    try:
        loop.run_forever()
        loop.run_until_complete(table.close_all())  # the server went away: release every env
    finally:
        os._exit(0)


class _Proc:
    """One worker process and its in-flight calls."""

    ids = itertools.count(1)

    def __init__(self, index: int, env_id: str, env_args: dict[str, Any]):
        ctx = worker_context()
        self.index, self.generation = index, next(self.ids)
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, env_id, env_args), daemon=True,
                                name=f"agentgym-env-worker-{index}")
        with _main_hidden():
            self.proc.start()
        child.close()
        self.pending: dict[int, asyncio.Future] = {}
        self.sessions: set[str] = set()
        self.dead: str | None = None
        self.req_ids = itertools.count(1)

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            while self.conn.poll():
                req_id, ok, payload = self.conn.recv()
                fut = self.pending.pop(req_id, None)
                if fut is not None and not fut.done():
                    fut.set_result((ok, payload))
        except (EOFError, OSError):
            self._died()

    def _died(self) -> None:
        if self.dead is not None:
            return
        try:
            asyncio.get_running_loop().remove_reader(self.conn.fileno())
        except (RuntimeError, ValueError, OSError):
            pass
        self.proc.join(timeout=1)
        code = self.proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.dead = f"env worker {self.index} (pid {self.proc.pid}) died ({how})"
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(ServerError(ErrorCode.INFRA_ERROR, f"{self.dead} during this call"))
        self.pending.clear()

    async def call(self, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        if self.dead:
            raise ServerError(ErrorCode.INFRA_ERROR, f"session {sid} is lost: {self.dead}")
        req_id = next(self.req_ids)
        fut = asyncio.get_running_loop().create_future()
        self.pending[req_id] = fut
        try:
            self.conn.send((req_id, op, sid, data))
        except (OSError, ValueError, BrokenPipeError):
            self.pending.pop(req_id, None)
            self._died()
            raise ServerError(ErrorCode.INFRA_ERROR, f"session {sid} is lost: {self.dead}") from None
        try:
            ok, payload = await fut
        finally:
            self.pending.pop(req_id, None)
        if ok:
            return payload
        raise ServerError(ErrorCode(payload["code"]), payload["message"])

    def stop(self, timeout: float = 5.0) -> None:
        """Asks the worker to close its envs and exit; kills it past ``timeout`` s (call off the loop)."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(timeout)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout)
        self.conn.close()


class ProcessHost:
    """``workers`` processes hosting the envs; sessions go to the least loaded live worker."""

    def __init__(self, env_id: str, env_args: dict[str, Any] | None, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.env_id, self.env_args, self.workers = env_id, dict(env_args or {}), workers
        self.procs: list[_Proc] = []
        self.where: dict[str, _Proc] = {}

    async def start(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.procs = await asyncio.gather(*(asyncio.to_thread(_Proc, i, self.env_id, self.env_args)
                                            for i in range(self.workers)))
        for p in self.procs:
            p.watch(loop)
        return await self.procs[0].call("describe", "", {})

    def place(self, sid: str) -> _Proc:
        for i, p in enumerate(self.procs):
            if p.dead or not p.proc.is_alive():
                p._died()
                self.procs[i] = fresh = _Proc(i, self.env_id, self.env_args)
                fresh.watch(asyncio.get_running_loop())
        proc = min(self.procs, key=lambda p: len(p.sessions))
        proc.sessions.add(sid)
        self.where[sid] = proc
        return proc

    async def call(self, slot: _Proc, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await slot.call(op, sid, data)

    def adopt(self, slot: _Proc, sid: str) -> None:
        """A fork lives on its parent's worker."""
        slot.sessions.add(sid)
        self.where[sid] = slot

    def forget(self, sid: str) -> None:
        proc = self.where.pop(sid, None)
        if proc is not None:
            proc.sessions.discard(sid)

    def alive(self) -> list[bool]:
        return [p.dead is None and p.proc.is_alive() for p in self.procs]

    def pids(self) -> list[int | None]:
        return [p.proc.pid for p in self.procs]

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        for p in self.procs:
            try:
                loop.remove_reader(p.conn.fileno())
            except (ValueError, OSError):
                pass
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.procs))
        self.procs, self.where = [], {}


__all__ = ["ProcessHost"]
