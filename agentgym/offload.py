"""Run blocking or CPU-heavy calls off the event loop, with a hard time limit.

Two ways, for two kinds of work::

    text = await run_in_thread(grid.render, timeout=30)              # blocking / light work
    value = await run_in_process(calculate, "comb(80, 40)", timeout=5)  # CPU-heavy, pure functions

``run_in_thread`` runs the call in a fresh daemon thread (never the loop's shared executor,
so a runaway cannot starve other work, and it never delays interpreter exit). When the limit
passes, :class:`OffloadTimeout` is raised at once and the thread is asked to stop: an
exception is raised inside it at its next Python bytecode. A C call that holds the GIL cannot
be interrupted that way, and slows every thread while it runs: such work belongs in a process.

``run_in_process`` sends a picklable function (a module-level function or a builtin) to a
worker process from a small pool. Past the limit, or when the caller is cancelled, the worker
is killed (SIGKILL) and replaced; the pool never hands out a busy or dead worker. Workers run
with an address-space limit (``memory_mb``) so a huge allocation fails with MemoryError.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import multiprocessing
import os
import sys
import threading
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")

MAX_IDLE_WORKERS = 4
WORKER_MEMORY_MB = 1024


class OffloadTimeout(TimeoutError):
    """An offloaded call ran past its limit (the message names the limit)."""


class WorkerCrashed(RuntimeError):
    """The worker process died while running a call (a segfault, the memory limit, a kill)."""


# ------------------------------------------------------------------------------- threads
class _StopThread(BaseException):
    """Raised inside a runaway tool thread to stop it (BaseException: tools' `except Exception` won't eat it)."""


def _interrupt(thread: threading.Thread) -> None:
    """Asks ``thread`` to stop by raising :class:`_StopThread` in it at its next bytecode (CPython)."""
    if thread.ident is None or not thread.is_alive():
        return
    set_async_exc = getattr(ctypes.pythonapi, "PyThreadState_SetAsyncExc", None)
    if set_async_exc is not None:
        set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(_StopThread))


async def run_in_thread(fn: Callable[..., T], *args: Any, timeout: float | None, name: str = "agentgym-tool",
                        **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a new daemon thread; raises :class:`OffloadTimeout` past ``timeout`` s.

    The caller's context variables are visible in the thread. Cancelling the caller also
    interrupts the thread.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            future.set_result(value) if ok else future.set_exception(value)

    def body() -> None:
        try:
            value = context.run(fn, *args, **kwargs)
        except _StopThread:
            return
        except BaseException as e:  # delivered to the awaiting coroutine
            _post(loop, settle, False, e)
            return
        _post(loop, settle, True, value)

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    try:  # on timeout wait_for cancels ``future``; a late settle() then finds it done and does nothing
        return await (future if timeout is None else asyncio.wait_for(future, timeout))
    except asyncio.TimeoutError:
        _interrupt(thread)
        raise OffloadTimeout(f"{_name(fn)} did not finish within {timeout:g} s") from None
    except asyncio.CancelledError:
        _interrupt(thread)
        raise


def _post(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop closed while the thread ran
        pass


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


# ------------------------------------------------------------------------------- processes
def _worker_main(conn: Any, memory_mb: int | None) -> None:
    """The worker loop: receive ``(fn, args, kwargs)``, send back ``(ok, value_or_exception)``."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills us
    if memory_mb:
        try:
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            reply = (True, fn(*args, **kwargs))
        except BaseException as e:  # sent to the caller
            reply = (False, e)
        try:
            conn.send(reply)
        except Exception as e:  # an unpicklable result or exception
            conn.send((False, RuntimeError(f"the result could not be sent back: {type(e).__name__}: {e}")))


def worker_context() -> Any:
    """The multiprocessing context of agentgym's worker processes (offload and run workers)."""
    # forkserver: cheap workers without forking this (threaded) process; spawn elsewhere
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # takes effect when the server starts (first worker of either kind): the modules offload
    # workers and run workers (agentgym.workers) need, so each fork starts with them imported
    ctx.set_forkserver_preload([__name__, "agentgym.workers", "agentgym.engine", "agentgym.policies.wire", "aiohttp"])
    return ctx


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Starts workers without re-running the user's ``__main__`` in them: spawn/forkserver children
    import the parent's main script, so a script without ``if __name__ == "__main__":`` would run
    again (and fail) in every worker. The worker needs nothing from it."""
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        if main is None or not hasattr(main, "__file__"):
            yield
            return
        saved_file, saved_spec = main.__file__, getattr(main, "__spec__", None)
        try:
            del main.__file__
            main.__spec__ = None
            yield
        finally:
            main.__file__, main.__spec__ = saved_file, saved_spec


class _Worker:
    def __init__(self, memory_mb: int | None):
        ctx = worker_context()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, memory_mb), daemon=True, name="agentgym-offload")
        with _main_hidden():
            self.proc.start()
        child.close()
        self.memory_mb = memory_mb

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(timeout=5)
        except Exception:
            pass
        self.conn.close()


class _Pool:
    """Idle workers shared by every event loop in the process (guarded by a thread lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.pid = os.getpid()

    def take(self, memory_mb: int | None) -> _Worker | None:
        with self.lock:
            if self.pid != os.getpid():  # a forked child must not share its parent's workers
                self.idle, self.pid = [], os.getpid()
            for i, w in enumerate(self.idle):
                if w.memory_mb == memory_mb and w.proc.is_alive():
                    return self.idle.pop(i)
        return None

    def give_back(self, worker: _Worker) -> None:
        with self.lock:
            if len(self.idle) < MAX_IDLE_WORKERS and worker.proc.is_alive():
                self.idle.append(worker)
                return
        worker.kill()


_POOL = _Pool()


async def _wait_readable(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = conn.fileno()
    try:
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    except (NotImplementedError, RuntimeError):  # a loop without add_reader (Windows proactor)
        await asyncio.to_thread(conn.poll, None)
        return
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def run_in_process(fn: Callable[..., T], *args: Any, timeout: float, memory_mb: int | None = WORKER_MEMORY_MB,
                         **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker process; raises what ``fn`` raises, :class:`OffloadTimeout`
    past ``timeout`` s (the worker is killed), or :class:`WorkerCrashed` if the worker died.

    ``fn``, its arguments and its result must be picklable (module-level functions, builtins).
    """
    worker = _POOL.take(memory_mb) or await asyncio.to_thread(_Worker, memory_mb)
    healthy = False
    try:
        worker.conn.send((fn, args, kwargs))
        try:
            await asyncio.wait_for(_wait_readable(worker.conn), timeout)
        except asyncio.TimeoutError:
            raise OffloadTimeout(f"{_name(fn)} did not finish within {timeout:g} s and was stopped") from None
        try:
            ok, value = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.proc.exitcode
            raise WorkerCrashed(f"the worker process running {_name(fn)} died (exit code {code}); "
                                "it probably ran out of memory") from None
        healthy = True
    finally:
        if healthy:
            _POOL.give_back(worker)
        else:
            worker.kill()
    if ok:
        return value
    raise value


__all__ = ["run_in_thread", "run_in_process", "OffloadTimeout", "WorkerCrashed"]
