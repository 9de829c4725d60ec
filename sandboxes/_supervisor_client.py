"""Host side of a persistent bwrap sandbox: start the supervisor, send it commands, read results.

    sup = SupervisorProcess(bwrap_argv, env={...}, log=root / "supervisor.log", output_bytes=65536)
    await sup.start(config={"rlimits": {...}, "output_bytes": 65536})
    reply, out, err = await sup.exec({"argv": ["true"], "env": {}, "cwd": "/workspace", "timeout": 5,
                                      "stdin": None}, deadline=5 + GRACE)
    await sup.close()

The supervisor (`_supervisor.py`) runs as pid 1 inside the bwrap namespaces. Frames go
through its stdin/stdout pipes, which are registered with the running event loop (and
moved to another loop when the sandbox is next used from one, e.g. `asyncio.run` per
call), so a command costs no thread hand-off. Replies are
untrusted (the supervisor shares the sandbox with the commands): they are size-checked
and validated; anything malformed is treated as a dead supervisor.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import struct
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ._process import CappedBuffer
from .errors import SandboxError

HEADER = struct.Struct(">I")
SOURCE = Path(__file__).with_name("_supervisor.py")
#: `python3 -I -S -c BOOTSTRAP <fd> <config>`: read the supervisor's source from the inherited fd and run it.
BOOTSTRAP = ("import os,sys;f=int(sys.argv[1]);"
             "exec(compile(b''.join(iter(lambda:os.read(f,65536),b'')),'agentgym-supervisor','exec'))")


class SupervisorDied(SandboxError):
    """The supervisor process is gone (crashed, killed, or closed); the sandbox must restart it."""


class ExecReply(BaseModel):
    """One command's outcome as the supervisor reports it."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["result"]
    id: int
    exit_code: int
    timed_out: bool
    stdout: tuple[str, str, int]
    stderr: tuple[str, str, int]
    duration: float

    def buffers(self, limit: int) -> tuple[CappedBuffer, CappedBuffer]:
        """The two streams as CappedBuffers, refusing anything larger than the cap allows."""
        out = []
        for head64, tail64, total in (self.stdout, self.stderr):
            buffer = CappedBuffer(limit)
            buffer.head = bytearray(base64.b64decode(head64, validate=True))
            buffer.tail = bytearray(base64.b64decode(tail64, validate=True))
            buffer.total = total
            if len(buffer.head) > limit or len(buffer.tail) > limit - limit // 2 or \
                    total < len(buffer.head) + len(buffer.tail):
                raise ValueError("stream sizes do not match the output cap")
            out.append(buffer)
        return out[0], out[1]


class SupervisorProcess:
    """One running `bwrap ... python3 _supervisor.py`; exec requests may overlap."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path, output_bytes: int):
        self.argv = argv
        self.env = env
        self.log = log
        self.output_bytes = output_bytes
        self.max_reply = 4 * output_bytes + (64 << 10)  # two capped streams in base64, plus the envelope
        self.proc: subprocess.Popen | None = None
        self.child_pid: int | None = None  # host pid of the supervisor (pid 1 inside)
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._dead: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop our pipe fds are registered with
        self._inbox = bytearray()
        self._outbox = bytearray()

    @property
    def alive(self) -> bool:
        return self._dead is None and self.proc is not None and self.proc.poll() is None

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self, config: dict, timeout: float = 30.0) -> None:
        """Spawn bwrap + supervisor and wait for its ready frame. Raises SupervisorDied on failure."""
        info_r, info_w = os.pipe()
        source_r, source_w = os.pipe()  # the source goes through a pipe: `ps` inside stays readable
        os.write(source_w, SOURCE.read_bytes())  # well under the 64 KiB pipe buffer
        os.close(source_w)
        try:
            with open(self.log, "wb") as log:
                # Spawned from the calling thread on purpose: bwrap's --die-with-parent follows the
                # thread that forked it, and a worker thread of to_thread() may exit before the sandbox.
                self.proc = subprocess.Popen(
                    [*self.argv[:1], "--info-fd", str(info_w), *self.argv[1:], BOOTSTRAP, str(source_r),
                     json.dumps(config)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=self.env,
                    pass_fds=(info_w, source_r), start_new_session=True,
                )
        finally:
            os.close(info_w)
            os.close(source_r)
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        try:
            await asyncio.wait_for(self._request({"op": "hello"}, ident=0), timeout)
            self.child_pid = await asyncio.to_thread(_child_pid, info_r)
        except (asyncio.TimeoutError, SupervisorDied) as exc:
            await self.close()
            raise SupervisorDied(f"the sandbox supervisor did not start: {self.failure() or exc}") from None
        finally:
            os.close(info_r)

    async def close(self) -> None:
        """Kill the supervisor (and with it every process in the sandbox) and wait for bwrap to exit."""
        self.kill_hard("the sandbox was closed")
        if self.proc is not None:
            await asyncio.to_thread(_wait, self.proc)
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def failure(self) -> str:
        """Why the supervisor is gone: its stderr (bwrap errors, a Python traceback) or the reason noted."""
        try:
            text = self.log.read_text(errors="replace").strip()[-600:]
        except OSError:
            text = ""
        return text or self._dead or ""

    def kill_hard(self, reason: str) -> None:
        """Mark dead and SIGKILL the supervisor now (the kernel then kills its whole pid namespace)."""
        self._fail_all(reason)
        self._detach()
        for pid in (self.child_pid, self.proc.pid if self.proc else None):
            if pid is not None:
                _kill(pid)

    # ---- requests ----------------------------------------------------------------------
    async def exec(self, request: dict, *, deadline: float) -> tuple[ExecReply, CappedBuffer, CappedBuffer]:
        """Run one command: (reply, stdout, stderr). SupervisorDied if it dies or stays silent past `deadline` s."""
        self._next_id += 1
        ident = self._next_id
        try:
            raw = await asyncio.wait_for(self._request({"op": "exec", **request}, ident), deadline)
        except asyncio.TimeoutError:
            self.kill_hard(f"the supervisor did not answer within {deadline:.0f} s")
            raise SupervisorDied(self._dead) from None
        except asyncio.CancelledError:
            if self._pending.pop(ident, None) is not None and self._dead is None:
                self._send({"op": "kill", "id": ident})  # the caller gave up: kill the command's session
            raise
        try:
            reply = ExecReply.model_validate(raw)
            return (reply, *reply.buffers(self.output_bytes))
        except (ValidationError, ValueError) as exc:
            self.kill_hard(f"malformed reply from the supervisor: {exc}")
            raise SupervisorDied(self._dead) from None

    async def kill_all(self, timeout: float = 30.0) -> None:
        """Kill every process in the sandbox except the supervisor."""
        self._next_id += 1
        try:
            await asyncio.wait_for(self._request({"op": "kill_all"}, self._next_id), timeout)
        except asyncio.TimeoutError:
            self.kill_hard("kill_all was not acknowledged")
            raise SupervisorDied(self._dead) from None

    def _request(self, message: dict, ident: int) -> asyncio.Future:
        self._attach()
        future = self._loop.create_future()
        if self._dead is not None:
            future.set_exception(SupervisorDied(self._dead))
            return future
        self._pending[ident] = future
        self._send({**message, "id": ident})
        return future

    # ---- pipes, driven by the running event loop ---------------------------------------
    def _attach(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None and self._pending and self._loop.is_running():
            raise SandboxError("this sandbox is busy in another event loop; use it from one loop at a time")
        self._detach()
        self._pending.clear()  # waiters of a finished loop can never resume
        if self._dead is None:
            loop.add_reader(self.proc.stdout.fileno(), self._on_readable)
            if self._outbox:
                loop.add_writer(self.proc.stdin.fileno(), self._on_writable)
        self._loop = loop

    def _detach(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed() and self.proc is not None:
            for remove, pipe in ((loop.remove_reader, self.proc.stdout), (loop.remove_writer, self.proc.stdin)):
                try:
                    remove(pipe.fileno())
                except (ValueError, OSError, RuntimeError):  # already closed
                    pass

    def _send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        pending = bool(self._outbox)
        self._outbox += HEADER.pack(len(body)) + body
        if not pending:
            self._on_writable()
            if self._outbox and self._loop is not None:
                self._loop.add_writer(self.proc.stdin.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        try:
            while self._outbox:
                del self._outbox[: os.write(self.proc.stdin.fileno(), self._outbox)]
        except BlockingIOError:
            return
        except OSError:
            self.kill_hard("the supervisor stopped reading requests")
            return
        if self._loop is not None:
            self._loop.remove_writer(self.proc.stdin.fileno())

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            self.kill_hard(f"reading from the supervisor failed: {exc}")
            return
        if not chunk:
            self.kill_hard("the supervisor exited")
            return
        self._inbox += chunk
        while len(self._inbox) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._inbox)
            if size > self.max_reply:
                self.kill_hard(f"the supervisor sent an oversized reply ({size} bytes)")
                return
            if len(self._inbox) < HEADER.size + size:
                return
            body = bytes(self._inbox[HEADER.size: HEADER.size + size])
            del self._inbox[: HEADER.size + size]
            try:
                message = json.loads(body)
                ident = message["id"]
            except (ValueError, TypeError, KeyError):
                self.kill_hard("the supervisor sent a malformed reply")
                return
            future = self._pending.pop(ident, None) if isinstance(ident, int) else None
            if future is not None and not future.done():
                future.set_result(message)

    def _fail_all(self, reason: str) -> None:
        if self._dead is None:
            self._dead = reason
        pending, self._pending = list(self._pending.values()), {}
        for future in pending:
            if not future.done() and not future.get_loop().is_closed():
                future.set_exception(SupervisorDied(reason))


def _child_pid(fd: int) -> int | None:
    """bwrap's --info-fd JSON: {"child-pid": N, ...} (the supervisor's pid on the host)."""
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except (ValueError, KeyError):
            continue
    return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
