"""agentgym.offload: CPU-heavy calls run in a killable worker process, never on the event loop."""

import asyncio
import math
import operator
import os

import pytest

from agentgym.offload import OffloadTimeout, run_in_process, run_in_thread


async def test_run_in_process_returns_values_and_raises_the_functions_errors():
    assert await run_in_process(math.comb, 10, 3, timeout=30) == 120
    with pytest.raises(ValueError, match="must be a non-negative"):
        await run_in_process(math.comb, -1, 3, timeout=30)
    assert await run_in_process(os.getpid, timeout=30) != os.getpid()


@pytest.mark.timeout(120)
async def test_a_runaway_call_is_killed_at_its_limit_and_neighbours_keep_running():
    ticks = 0
    slow = asyncio.create_task(run_in_process(math.factorial, 10**8, timeout=1.0))

    async def neighbour():
        nonlocal ticks
        while not slow.done():
            ticks += 1
            await asyncio.sleep(0.01)

    await asyncio.gather(neighbour(), return_exceptions=True)
    with pytest.raises(OffloadTimeout, match="did not finish within 1 s"):
        slow.result()
    assert ticks > 10
    # the pool recovers: the next call gets a fresh worker
    assert await run_in_process(operator.add, 2, 3, timeout=30) == 5


@pytest.mark.timeout(120)
async def test_a_cancelled_call_kills_its_worker():
    task = asyncio.create_task(run_in_process(math.factorial, 10**8, timeout=60))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await run_in_process(operator.mul, 6, 7, timeout=30) == 42


async def test_run_in_thread_returns_and_raises():
    assert await run_in_thread(operator.add, 1, 2, timeout=5) == 3
    with pytest.raises(ZeroDivisionError):
        await run_in_thread(operator.truediv, 1, 0, timeout=5)


def test_a_script_without_a_main_guard_is_not_rerun_in_workers(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text("import asyncio, operator\nfrom agentgym.offload import run_in_process\n"
                      "print('ran', flush=True)\n"
                      "print(asyncio.run(run_in_process(operator.add, 2, 3, timeout=60)))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ran", "5"]
