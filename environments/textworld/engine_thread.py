"""One thread for every TextWorld / ALFWorld engine call in the process.

TextWorld parses its logic, grammar and PDDL with tatsu, whose parsers keep per-parse state
on module-level objects: two games loading (or stepping) at once in two threads corrupt each
other (``IndexError: pop from empty list``). TextWorld's generator draws from the
module-level ``textworld.g_rng`` and fast-downward (ALFWorld's planner) is not re-entrant
either. So every engine call — generation, planning, load, reset, step, close — runs on one
dedicated thread, in submission order. Async callers await it without holding their event
loop or a worker thread; blocking callers wait for it; code already on that thread (a
generator called while loading a game) runs directly, so nesting never deadlocks.

    state = await run_on_engine(engine.step, "open door")        # from async code
    game = call_on_engine(_build_game, settings, 0, "train")     # from blocking code

Cost: the text-game episodes of one process share one thread's worth of engine time (the
GIL already allowed little more); ``benchmarks/bench_textgames.py`` measures episodes/s at
concurrency 1 vs 8.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")

THREAD_NAME = "agentgym-textgame-engine"

_executor: ThreadPoolExecutor | None = None
_guard = threading.Lock()
_local = threading.local()


def _mark_engine_thread() -> None:
    _local.is_engine = True


def on_engine_thread() -> bool:
    """True inside the engine thread (where engine calls run directly)."""
    return getattr(_local, "is_engine", False)


def _engine_executor() -> ThreadPoolExecutor:
    global _executor
    with _guard:
        if _executor is None:  # created on first use: importing this module starts nothing
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME,
                                           initializer=_mark_engine_thread)
        return _executor


def call_on_engine(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs ``fn(*args, **kwargs)`` on the engine thread and waits for it (blocking callers)."""
    if on_engine_thread():
        return fn(*args, **kwargs)
    return _engine_executor().submit(fn, *args, **kwargs).result()


async def run_on_engine(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Awaits ``fn(*args, **kwargs)`` on the engine thread (async callers).

    Cancelling the await (an episode timeout) drops the call if it has not started yet; a call
    already running finishes on the engine thread and its result is discarded.
    """
    future = _engine_executor().submit(fn, *args, **kwargs)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        future.cancel()  # at once, not in a later callback: a queued call must not start after this
        raise


def _forget_executor_in_child() -> None:
    """A forked child has no engine thread: it makes its own on first use."""
    global _executor, _guard, _local
    _executor, _guard, _local = None, threading.Lock(), threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor_in_child)

__all__ = ["run_on_engine", "call_on_engine", "on_engine_thread", "THREAD_NAME"]
