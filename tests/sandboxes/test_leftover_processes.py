"""What an exec leaves running (`&`, setsid, nohup, double forks) dies with it, on docker as on bwrap.

Rules, on every isolating backend: once no exec runs, nothing an exec started is still running
when the next operation starts; an exec whose background job holds its output open returns
when its own command ends, not at its timeout; a timed-out or cancelled exec is killed without
killing a concurrent one; an escaped process never outlives the last running exec (docker
kills it with its own exec, found by the exec's marker; bwrap and local once no exec runs).
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes.base import MARKER_ENV
from agentgym.sandboxes.factory import bwrap_status, docker_status

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")
SMALL = Limits(timeout=10, memory_mb=512, pids=64, file_size_mb=64, output_bytes=4096, disk_mb=256)

PS = "for p in /proc/[0-9]*; do tr '\\000' ' ' < $p/cmdline 2>/dev/null; echo; done"


@functools.cache
def skip_reason(backend: str) -> str | None:
    if backend == "local":
        return None
    status = docker_status() if backend == "docker" else bwrap_status()
    return None if status.ok else f"{backend} unavailable: {status.detail}"


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker, id="docker"),
                        pytest.param("bwrap", marks=pytest.mark.bwrap, id="bwrap"),
                        pytest.param("local", id="local")])
async def sb(request):
    reason = skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    async with make_sandbox(request.param, limits=SMALL, allow_local=True) as sandbox:
        yield sandbox


async def processes(sandbox) -> str:
    """Command lines of the sandbox's processes (for local: the host's processes carrying its marker)."""
    if sandbox.backend != "local":
        return (await sandbox.exec(PS, timeout=10)).stdout
    needle = f"{MARKER_ENV}={sandbox.id}".encode()
    lines = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return "\n".join(lines)


@pytest.mark.parametrize("launch", [
    "(setsid sleep 401 >/dev/null 2>&1 &)",
    "(nohup sleep 401 >/dev/null 2>&1 &)",
    "sh -c 'sleep 401 >/dev/null 2>&1 &' &",
    "setsid sh -c '(sleep 401 >/dev/null 2>&1 &)' &",
    "sleep 401 >/dev/null 2>&1 &",
], ids=["setsid", "nohup", "double-fork", "setsid-double-fork", "plain-background"])
async def test_background_processes_die_with_their_exec(sb, launch):
    r = await sb.exec(f"{launch}\necho started", timeout=20)
    assert r.stdout == "started\n"
    assert "sleep 401" not in await processes(sb)


async def test_background_job_holding_the_output_does_not_hold_the_exec(sb):
    r = await sb.exec("sleep 402 & echo started", timeout=20)  # `sleep` keeps stdout open
    assert r.stdout == "started\n" and r.exit_code == 0 and not r.timed_out
    assert r.duration < 10, f"the exec waited for its background job ({r.duration:.1f} s)"
    assert "sleep 402" not in await processes(sb)


async def test_leftovers_are_dead_before_file_operations_too(sb):
    await sb.exec("(setsid sh -c 'sleep 1; echo late > late.txt' >/dev/null 2>&1 &); echo ok")
    await asyncio.sleep(1.5)
    with pytest.raises(FileNotFoundError):
        await sb.read_file("late.txt")


async def test_escaped_process_lives_only_while_another_exec_runs(sb):
    holder = asyncio.create_task(sb.exec("while [ ! -f release ]; do sleep 0.05; done", timeout=30))
    await asyncio.sleep(0.5)
    await sb.exec("setsid sh -c 'touch escaped; exec sleep 406' > /dev/null 2>&1 & "
                  "while [ ! -f escaped ]; do sleep 0.02; done")
    # bwrap (documented): a setsid escapee lives until no exec runs; docker finds it by its exec's marker
    assert ("sleep 406" in await processes(sb)) == (sb.backend != "docker")
    await sb.write_file("release", "")
    assert (await holder).ok
    assert "sleep 406" not in await processes(sb)


async def test_timeout_of_one_exec_spares_a_concurrent_one(sb):
    slow = asyncio.create_task(sb.exec("sleep 3; echo survived", timeout=30))
    await asyncio.sleep(0.5)
    r = await sb.exec("sleep 407 & sleep 600", timeout=1)
    assert r.timed_out
    assert "sleep 407" not in await processes(sb) and "sleep 600" not in await processes(sb)
    done = await slow
    assert done.ok and done.stdout == "survived\n"


async def test_cancelled_exec_is_killed(sb):
    task = asyncio.create_task(sb.exec("sleep 408", timeout=30))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if "sleep 408" not in await processes(sb):
            break
        await asyncio.sleep(0.1)
    assert "sleep 408" not in await processes(sb)


async def test_process_that_scrubbed_its_marker_dies_once_nothing_runs(sb):
    if sb.backend == "local":
        pytest.skip("local (no isolation) finds leftovers by their marker only; a scrubbed environment escapes it")
    r = await sb.exec("(setsid env -i /bin/sleep 409 >/dev/null 2>&1 &); echo started >&2", timeout=20)
    assert r.stderr == "started\n" and r.ok  # nothing of the cleanup's bookkeeping shows
    for _ in range(50):
        if "sleep 409" not in await processes(sb):
            break
    assert "sleep 409" not in await processes(sb)
