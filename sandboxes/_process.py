"""Run one host process with a timeout, capped output and whole-tree cleanup.

Shared by the bwrap and local backends. The process starts in a new session; on
timeout, cancellation or exit, its process group is killed, so nothing it started in
that group outlives the call.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Mapping, Sequence

from .models import TIMEOUT_EXIT_CODE, ExecResult

SPAWN_FAILED_EXIT_CODE = 126  # as a shell reports a command it cannot execute
_READ_CHUNK = 65536
_DRAIN_GRACE = 0.5  # seconds to wait for pipes after the main process exited


class CappedBuffer:
    """Keeps the first and last `limit // 2` bytes of a stream and counts the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            keep = self.limit - self.limit // 2
            if len(self.tail) > keep:
                del self.tail[: len(self.tail) - keep]

    @property
    def truncated(self) -> bool:
        return self.total > self.limit

    def text(self) -> str:
        if not self.truncated:
            return bytes(self.head).decode("utf-8", errors="replace")
        keep = self.limit - self.limit // 2
        head = bytes(self.head[: self.limit // 2])
        tail = (bytes(self.head) + bytes(self.tail))[-keep:] if keep else b""
        marker = f"\n[... {self.total - len(head) - len(tail)} bytes truncated ...]\n".encode()
        return (head + marker + tail).decode("utf-8", errors="replace")


def kill_marked(name: str, value: str, *, rounds: int = 4) -> int:
    """SIGKILL every process whose environment holds `name=value` (those we may read); how many.

    Finds what a command left running outside its process group (setsid, nohup, double
    forks) as long as it kept the sandbox's marker variable. At least two rounds, a moment
    apart: a process in the middle of execve() shows an empty environment, and children
    forked while a round ran are caught by the next.
    """
    needle = f"{name}={value}".encode()
    me, killed = os.getpid(), 0
    for round_ in range(rounds):
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    if needle not in handle.read().split(b"\0"):
                        continue
                os.kill(int(entry), signal.SIGKILL)
                found += 1
            except (OSError, ValueError):
                continue
        killed += found
        if not found and round_ > 0:
            break
        time.sleep(0.002)  # lets a process caught inside fork()/execve() show up with its environment
    return killed


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def _exited(proc: asyncio.subprocess.Process) -> None:
    """Return when the process itself exits; unlike `proc.wait()`, never waits for its pipes to close
    (a background job holding stdout would otherwise hold the call until its timeout)."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (old kernel, or already reaped): poll the exit status
        fd = None
    if fd is not None:
        ready = loop.create_future()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    delay = 0.001
    while proc.returncode is None:  # the child watcher records the status a moment after the exit
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


async def _pump(stream: asyncio.StreamReader, buffer: CappedBuffer) -> None:
    while chunk := await stream.read(_READ_CHUNK):
        buffer.feed(chunk)


async def _feed_stdin(writer: asyncio.StreamWriter, data: bytes) -> None:
    try:
        writer.write(data)
        await writer.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        writer.close()


async def run_process(
    argv: Sequence[str],
    *,
    timeout: float,
    output_bytes: int,
    env: Mapping[str, str],
    cwd: str | None = None,
    stdin: bytes | None = None,
    running: set[int] | None = None,
) -> ExecResult:
    """Run `argv`, return its ExecResult; kills the process group on timeout or cancel.

        result = await run_process(["echo", "hi"], timeout=5, output_bytes=65536, env={})

    `running`, if given, holds the process-group ids of live calls so the owner can kill
    them all at close().
    """
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:  # E2BIG (argv over the kernel's limit), ENOENT, ...: the command never ran
        return ExecResult(exit_code=SPAWN_FAILED_EXIT_CODE, stderr=f"cannot start the command: {exc.strerror or exc}",
                          duration=time.monotonic() - started)
    if running is not None:
        running.add(proc.pid)
    out, err = CappedBuffer(output_bytes), CappedBuffer(output_bytes)
    pumps = [asyncio.ensure_future(_pump(proc.stdout, out)), asyncio.ensure_future(_pump(proc.stderr, err))]
    if stdin is not None:
        pumps.append(asyncio.ensure_future(_feed_stdin(proc.stdin, stdin)))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(_exited(proc), timeout)
        except asyncio.TimeoutError:
            timed_out = True
            kill_group(proc.pid)
            await _exited(proc)
        kill_group(proc.pid)  # leftovers in the group (background jobs) die with the command
        _done, pending = await asyncio.wait(pumps, timeout=_DRAIN_GRACE)
        for task in pending:  # a process outside the group still holds a pipe: stop listening
            task.cancel()
    except BaseException:  # cancelled: never leave the tree running
        kill_group(proc.pid)
        for task in pumps:
            task.cancel()
        raise
    finally:
        if running is not None:
            running.discard(proc.pid)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None and getattr(pipe, "_transport", None) is not None:
                pipe._transport.close()
    code = TIMEOUT_EXIT_CODE if timed_out else proc.returncode
    return ExecResult(
        exit_code=code if code is not None else -1,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        truncated=out.truncated or err.truncated,
        duration=time.monotonic() - started,
    )
