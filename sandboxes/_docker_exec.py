"""One `docker exec` over the raw attach socket: stdin, capped output, a hard deadline.

Blocking; run it in a thread. The docker SDK's exec_run cannot send stdin, cap output
or stop at a deadline, so this speaks the multiplexed stream protocol directly:
every frame is an 8-byte header (stream id, 3 zero bytes, big-endian length) + payload.

The stream stays open while any process holds the command's stdout or stderr, so a
background job (`server &`) would keep it open long after the command itself exited:
while the stream is open, the exec is inspected every `POLL_INTERVAL` s, and once its
main process has exited the output is read for `DRAIN_GRACE` s more and the call returns
(the caller then kills what was left behind).
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

from ._process import CappedBuffer

POLL_INTERVAL = 0.5  # seconds between checks that the main process still runs (only while output is open)
DRAIN_GRACE = 0.5  # seconds of reading after the main process exited


@dataclass
class RawExec:
    exit_code: int | None
    stdout: CappedBuffer
    stderr: CappedBuffer
    deadline_hit: bool
    duration: float


def _raw_socket(sock) -> socket.socket:
    return getattr(sock, "_sock", sock)


def docker_exec(api, container_id: str, argv: list[str], *, user: str, workdir: str, env: dict[str, str],
                stdin: bytes | None, timeout: float, output_bytes: int) -> RawExec:
    """Run argv in the container; stop reading at `timeout` (the caller then kills the processes)."""
    started = time.monotonic()
    exec_id = api.exec_create(container_id, argv, stdout=True, stderr=True, stdin=stdin is not None,
                              user=user, workdir=workdir, environment=env)["Id"]
    sock = api.exec_start(exec_id, socket=True)
    raw = _raw_socket(sock)
    out, err = CappedBuffer(output_bytes), CappedBuffer(output_bytes)
    deadline = started + timeout
    deadline_hit = False
    try:
        if stdin is not None:
            _send_all(raw, stdin, deadline)
            raw.shutdown(socket.SHUT_WR)
        pending = b""
        next_poll = started + POLL_INTERVAL
        drain_until = None
        while True:
            now = time.monotonic()
            if drain_until is not None and now >= drain_until:
                break
            remaining = deadline - now
            if remaining <= 0:
                deadline_hit = True
                break
            if drain_until is None and now >= next_poll:
                next_poll = now + POLL_INTERVAL
                state = api.exec_inspect(exec_id)
                if not state.get("Running") and state.get("ExitCode") is not None:
                    drain_until = now + DRAIN_GRACE  # ended; a leftover process holds the output open
            wake = min(remaining, max(0.0, (drain_until or next_poll) - now))
            ready, _, _ = select.select([raw], [], [], wake)
            if not ready:
                continue
            chunk = raw.recv(262144)
            if not chunk:
                break
            pending += chunk
            while len(pending) >= 8:
                size = int.from_bytes(pending[4:8], "big")
                if len(pending) < 8 + size:
                    break
                (err if pending[0] == 2 else out).feed(pending[8: 8 + size])
                pending = pending[8 + size:]
    finally:
        try:
            raw.close()
        finally:
            if sock is not raw:
                sock.close()
    info = api.exec_inspect(exec_id)
    if deadline_hit and not info.get("Running"):
        deadline_hit = False  # the command ended; a background process was holding its output open
    return RawExec(exit_code=info.get("ExitCode"), stdout=out, stderr=err, deadline_hit=deadline_hit,
                   duration=time.monotonic() - started)


def _send_all(raw: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        _, ready, _ = select.select([], [raw], [], min(remaining, 1.0))
        if ready:
            try:
                sent = raw.send(view[:262144])
            except (BrokenPipeError, ConnectionResetError):
                return
            view = view[sent:]
