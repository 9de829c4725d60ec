"""SandboxPool: N warm sandboxes; acquire one in microseconds, release restores it clean.

    async with SandboxPool(lambda: make_sandbox("bwrap"), size=4) as pool:
        sb = await pool.acquire()
        try:
            await sb.exec("python3 -c 'print(1)'")
        finally:
            await pool.release(sb)          # restores the clean snapshot, health-checks
        async with pool.lease() as sb:       # the same, as a context manager
            ...

Each sandbox is started and snapshotted once at `start()`; `release()` restores that
snapshot (killing leftover processes) and runs a health check, replacing the sandbox if
either fails, so `acquire()` only takes a ready sandbox off a queue. `start()` first
prunes leftovers of killed processes (by label / owner pid); `close()` closes all.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import numbers
from collections.abc import AsyncIterator, Callable

from .base import Sandbox
from .errors import SandboxArgumentError, SandboxClosedError
from .models import SnapshotRef


MAX_POOL_SIZE = 1024


def _wait_timeout(timeout: float | None) -> float | None:
    """None (wait forever) for None or inf; else seconds > 0; SandboxArgumentError for the rest."""
    if timeout is None:
        return None
    try:
        seconds = float(timeout) if not isinstance(timeout, bool) and isinstance(timeout, numbers.Real) else math.nan
    except OverflowError:  # an int too large for a float
        seconds = math.inf if timeout > 0 else math.nan
    if not seconds > 0:
        raise SandboxArgumentError(f"acquire timeout must be a number of seconds > 0 or None (got {timeout!r:.40})")
    return None if math.isinf(seconds) else seconds


class SandboxPool:
    """A fixed-size pool of started, clean sandboxes made by `factory`."""

    def __init__(self, factory: Callable[[], Sandbox], size: int = 4, *, prune_stale: bool = True):
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_POOL_SIZE:
            raise SandboxArgumentError(f"pool size must be an integer from 1 to {MAX_POOL_SIZE} (got {size!r:.40})")
        self.factory = factory
        self.size = size
        self.prune_stale = prune_stale
        self._idle: asyncio.Queue[Sandbox] = asyncio.Queue()
        self._clean: dict[int, SnapshotRef] = {}
        self._all: set[Sandbox] = set()
        self._started = False
        self._closed = False

    async def start(self) -> SandboxPool:
        """Prune leftovers of dead processes, then start `size` sandboxes concurrently."""
        if self._started:
            return self
        if self.prune_stale:
            from .cleanup import reclaim_stale

            await reclaim_stale("docker")  # host dirs, and containers/volumes when a daemon answers
        self._started = True
        results = await asyncio.gather(*(self._new() for _ in range(self.size)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise errors[0]
        return self

    async def _new(self) -> Sandbox:
        sandbox = self.factory()
        self._all.add(sandbox)
        try:
            await sandbox.start()
            self._clean[id(sandbox)] = await sandbox.snapshot()
        except BaseException:
            await self._discard(sandbox)
            raise
        self._idle.put_nowait(sandbox)
        return sandbox

    async def _discard(self, sandbox: Sandbox) -> None:
        self._all.discard(sandbox)
        self._clean.pop(id(sandbox), None)
        await sandbox.close()

    async def acquire(self, timeout: float | None = None) -> Sandbox:
        """A clean, started sandbox; waits (up to `timeout` s) while all are leased."""
        if self._closed:
            raise SandboxClosedError("the pool is closed")
        seconds = _wait_timeout(timeout)
        await self.start()
        return await asyncio.wait_for(self._idle.get(), seconds)

    async def release(self, sandbox: Sandbox) -> None:
        """Give a sandbox back: restore its clean snapshot and health-check it (else replace it)."""
        if sandbox not in self._all:
            raise SandboxArgumentError(f"{sandbox!r} does not belong to this pool")
        if self._closed:
            await self._discard(sandbox)
            return
        try:
            await sandbox.restore(self._clean[id(sandbox)])
            healthy = await sandbox.health()
        except Exception:
            healthy = False
        if healthy:
            self._idle.put_nowait(sandbox)
            return
        await self._discard(sandbox)
        if not self._closed:
            await self._new()

    @contextlib.asynccontextmanager
    async def lease(self, timeout: float | None = None) -> AsyncIterator[Sandbox]:
        """`async with pool.lease() as sb:` — acquire, then release on exit."""
        sandbox = await self.acquire(timeout)
        try:
            yield sandbox
        finally:
            await self.release(sandbox)

    @property
    def idle(self) -> int:
        return self._idle.qsize()

    async def close(self) -> None:
        """Close every sandbox, leased or idle. Idempotent."""
        self._closed = True
        sandboxes, self._all = list(self._all), set()
        self._clean.clear()
        await asyncio.gather(*(s.close() for s in sandboxes), return_exceptions=True)

    async def __aenter__(self) -> SandboxPool:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()
