"""The engine thread: text-game engine calls never overlap, whoever makes them, and never deadlock."""

import asyncio
import threading
import time

import pytest

from agentgym.environments.textworld.engine_thread import call_on_engine, on_engine_thread, run_on_engine


class OverlapProbe:
    """Counts how many calls are inside at once (an engine that is not thread-safe needs 1)."""

    def __init__(self):
        self.inside = 0
        self.most = 0
        self.guard = threading.Lock()

    def __call__(self, value):
        with self.guard:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.002)  # widen the window an overlap would need
        with self.guard:
            self.inside -= 1
        return value, on_engine_thread()


async def test_calls_from_threads_and_tasks_never_overlap():
    probe = OverlapProbe()
    results: list = []

    def from_thread(i):
        results.append(call_on_engine(probe, i))

    threads = [threading.Thread(target=from_thread, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    async_results = await asyncio.gather(*(run_on_engine(probe, 100 + i) for i in range(16)))
    async_results += await asyncio.gather(*(asyncio.to_thread(call_on_engine, probe, 200 + i) for i in range(8)))
    for t in threads:
        t.join()
    assert probe.most == 1
    everything = results + list(async_results)
    assert sorted(v for v, _ in everything) == list(range(8)) + list(range(100, 116)) + list(range(200, 208))
    assert all(on for _, on in everything)          # each ran on the engine thread
    assert not on_engine_thread()


def test_nested_calls_run_in_place_and_errors_propagate():
    assert call_on_engine(lambda: call_on_engine(lambda: on_engine_thread())) is True

    def boom():
        raise ValueError("engine said no")

    with pytest.raises(ValueError, match="engine said no"):
        call_on_engine(boom)
    assert call_on_engine(lambda: 7) == 7           # the thread survived the error


async def test_a_cancelled_wait_drops_a_call_that_has_not_started():
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def blocker():
        started.set()
        release.wait(30)
        ran.append("blocker")

    first = asyncio.ensure_future(run_on_engine(blocker))
    await asyncio.to_thread(started.wait, 30)
    queued = asyncio.ensure_future(run_on_engine(ran.append, "queued"))
    await asyncio.sleep(0)
    queued.cancel()                                  # an episode timing out while waiting its turn
    with pytest.raises(asyncio.CancelledError):
        await queued
    release.set()
    await first
    await run_on_engine(lambda: None)                # everything before this has run (FIFO)
    assert ran == ["blocker"]
