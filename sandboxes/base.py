"""The Sandbox contract: run untrusted commands and move files, behind one small async API.

    from agentgym.sandboxes import make_sandbox, Limits
    async with make_sandbox("bwrap", limits=Limits(timeout=10)) as sb:
        await sb.write_file("main.py", "print(2)")
        result = await sb.exec("python3 main.py")      # ExecResult(exit_code=0, stdout="2\\n", ...)
        ref = await sb.snapshot()
        child = await sb.fork()                          # independent copy of the workspace

Backends subclass `Sandbox` and implement the `_underscored` hooks; argument checking,
lifecycle and snapshot bookkeeping live here so every backend refuses bad input alike.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import os
import stat
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from . import _hostfs
from agentgym.owner import make_owned_dir
from .errors import SandboxArgumentError, SandboxClosedError, SandboxError
from .models import MAX_TIMEOUT, ExecResult, Limits, SnapshotRef

if TYPE_CHECKING:
    from .shell import ShellSession
    from .sync import SyncSandbox

DEFAULT_READ_LIMIT = 64 * 1024 * 1024
MAX_STDIN_BYTES = 64 << 20  # larger inputs go through write_file() and a redirect
MAX_COMMAND_BYTES = 16 << 20  # argv + env; the kernel itself takes ~2 MiB (larger ones fail as E2BIG)
MARKER_ENV = "AGENTGYM_SANDBOX_ID"  # set in every sandboxed process; used to find strays


def runtime_dir() -> Path:
    """Where host-side sandbox state lives (workspaces, snapshots): $AGENTGYM_SANDBOX_DIR or the temp dir."""
    return Path(os.environ.get("AGENTGYM_SANDBOX_DIR") or tempfile.gettempdir())


class Sandbox(ABC):
    """An isolated place to run commands, with a workspace directory at `workdir`.

    Not started on construction (cheap); `async with`, `start()` or the first `exec()`
    starts it. Use it from one event loop (or through `sync()`), then `close()`.
    """

    backend: ClassVar[str]
    workdir: ClassVar[str] = "/workspace"
    #: what start() reclaims from killed processes first (see cleanup.reclaim_stale)
    reclaim_kind: ClassVar[str] = "dirs"

    def __init__(self, *, limits: Limits | None = None, env: Mapping[str, str] | None = None,
                 network: bool = False, name: str | None = None):
        self.limits = limits or Limits()
        self.env = _check_env(env or {})
        self.network = network
        self.id = name or f"{self.backend}-{uuid.uuid4().hex[:12]}"
        self._started = False
        self._closed = False
        self._start_lock: asyncio.Lock | None = None
        self._snapshot_dir: Path | None = None

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self) -> Sandbox:
        """Start the sandbox (idempotent). Raises SandboxUnavailableError when the backend cannot run."""
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.id} is closed; create a new one")
        if self._started:
            return self
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if not self._started:
                from .cleanup import reclaim_stale

                await reclaim_stale(self.reclaim_kind)  # leftovers of killed processes; never raises
                try:
                    await self._start()
                except BaseException:
                    await self._close()
                    raise
                self._started = True
        return self

    async def close(self) -> None:
        """Kill everything running inside and delete the workspace and snapshots. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._close()
        finally:
            if self._snapshot_dir is not None:
                await asyncio.to_thread(_hostfs.remove_tree, self._snapshot_dir)

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- commands --------------------------------------------------------------------
    async def exec(self, cmd: str | Sequence[str], timeout: float | None = None, *, cwd: str | None = None,
                   env: Mapping[str, str] | None = None, stdin: str | bytes | None = None) -> ExecResult:
        """Run `cmd` (a shell string for /bin/sh, or an argv list) inside the sandbox.

            r = await sb.exec("ls -la", timeout=5)
            r = await sb.exec(["python3", "-c", "print(1)"], cwd="src", env={"X": "1"}, stdin="data")
        """
        argv = _argv(cmd)
        seconds = self._timeout(timeout)
        run_env = {**self.env, **_check_env(env or {})}
        _check_command_size(argv, run_env)
        data = _stdin_bytes(stdin)
        workdir = self._cwd(cwd)
        self._check_open()
        await self.start()
        return await self._exec(argv, timeout=seconds, cwd=workdir, env=run_env, stdin=data)

    async def health(self) -> bool:
        """True when a trivial command runs and exits 0 within 10 s."""
        try:
            return (await self.exec(["true"], timeout=10)).ok
        except SandboxError:
            return False

    # ---- files -----------------------------------------------------------------------
    async def write_file(self, path: str, data: str | bytes, *, mode: int = 0o644) -> None:
        """Write a file in the workspace (parents created). Refuses `..` and symlink escapes.

        Data over `Limits.file_size_mb` is refused with SandboxArgumentError on every
        backend (the host writes bwrap/local files itself, so RLIMIT_FSIZE would not apply).
        """
        rel = _hostfs.normalize(path, self.workdir)
        payload = _data_bytes(data, "write_file data")
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise SandboxArgumentError(f"mode must be permission bits between 0 and 0o777 (got {mode!r}); "
                                       "setuid, setgid and sticky bits are not written")
        check_file_size(f"write_file({path!r})", len(payload), self.limits)
        self._check_open()
        await self.start()
        await self._write(rel, payload, mode)

    async def read_file(self, path: str, *, max_bytes: int = DEFAULT_READ_LIMIT) -> bytes:
        """Bytes of a workspace file. Refuses escapes, non-files and files over `max_bytes`."""
        rel = _hostfs.normalize(path, self.workdir)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise SandboxArgumentError(f"max_bytes must be an integer >= 0 (got {max_bytes!r})")
        self._check_open()
        await self.start()
        return await self._read(rel, max_bytes)

    async def upload(self, local_dir: str | os.PathLike, dest: str = ".") -> None:
        """Copy a host file or directory into the workspace at `dest`.

        Refused before anything is copied when one of the files is over `Limits.file_size_mb`.
        """
        local = _host_path(local_dir, "upload source")
        if not local.exists():
            raise SandboxArgumentError(f"upload source {str(local)!r} does not exist on the host")
        rel = _hostfs.normalize(dest, self.workdir)
        oversized = await asyncio.to_thread(_oversized_file, local, self.limits.file_size_mb << 20)
        if oversized is not None:
            check_file_size(f"upload of {oversized[0]!r}", oversized[1], self.limits)
        self._check_open()
        await self.start()
        await self._upload(local, rel)

    async def download(self, path: str, local: str | os.PathLike) -> None:
        """Copy a workspace file or directory to the host path `local` (symlinks are skipped)."""
        rel = _hostfs.normalize(path, self.workdir)
        target = _host_path(local, "download target")
        self._check_open()
        await self.start()
        await self._download(rel, target)

    # ---- snapshots -------------------------------------------------------------------
    async def snapshot(self) -> SnapshotRef:
        """Save the workspace; restore it later into this or any sandbox of the same backend."""
        self._check_open()
        await self.start()
        if self._snapshot_dir is None:
            runtime_dir().mkdir(parents=True, exist_ok=True)
            self._snapshot_dir = await asyncio.to_thread(
                make_owned_dir, runtime_dir() / f"agentgym-snap-{uuid.uuid4().hex[:16]}")
        snap_id = uuid.uuid4().hex[:12]
        path, size = await self._snapshot(self._snapshot_dir / snap_id)
        return SnapshotRef(id=snap_id, backend=self.backend, sandbox_id=self.id, path=str(path), size_bytes=size)

    async def restore(self, ref: SnapshotRef) -> None:
        """Replace the workspace with the snapshot's, and kill every process still running."""
        if ref.backend != self.backend:
            raise SandboxArgumentError(f"snapshot {ref.id} is from a {ref.backend} sandbox; this one is {self.backend}")
        if not os.path.exists(ref.path):
            raise SandboxError(f"snapshot {ref.id} no longer exists (its sandbox {ref.sandbox_id} was closed)")
        self._check_open()
        await self.start()
        await self._restore(ref)

    async def fork(self) -> Sandbox:
        """A new, started sandbox with the same configuration and a copy of this workspace."""
        ref = await self.snapshot()
        child = self._clone()
        try:
            await child.start()
            await child.restore(ref)
        except BaseException:
            await child.close()
            raise
        finally:
            await asyncio.to_thread(_remove, ref.path)
        return child

    # ---- helpers ---------------------------------------------------------------------
    def sync(self) -> SyncSandbox:
        """A blocking facade for scripts: `sb.sync().exec("ls")`."""
        from .sync import SyncSandbox

        return SyncSandbox(self)

    def shell(self, **kwargs) -> ShellSession:
        """A bash session whose cwd and exported variables survive between commands."""
        from .shell import ShellSession

        return ShellSession(self, **kwargs)

    def _timeout(self, timeout: float | None) -> float:
        """Seconds for one exec: refuses non-numbers, NaN and values <= 0; clamps to MAX_TIMEOUT."""
        if timeout is None:
            return self.limits.timeout
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
            raise SandboxArgumentError(f"timeout must be a number of seconds > 0 (got {timeout!r:.80})")
        try:
            seconds = float(timeout)
        except (OverflowError, ValueError):  # an int too large for a float: as long as allowed
            seconds = math.inf if timeout > 0 else math.nan
        if not seconds > 0:  # also NaN
            raise SandboxArgumentError(f"timeout must be a number of seconds > 0 (got {timeout!r:.80})")
        return min(seconds, MAX_TIMEOUT)

    def _cwd(self, cwd: str | None) -> str:
        if cwd is None:
            return self.workdir
        rel = _hostfs.normalize(cwd, self.workdir)
        return f"{self.workdir}/{rel}" if rel else self.workdir

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosedError(f"sandbox {self.id} is closed; create a new one")

    def __repr__(self) -> str:
        state = "closed" if self._closed else "started" if self._started else "new"
        return f"<{type(self).__name__} {self.id} {state}>"

    # ---- backend hooks ---------------------------------------------------------------
    @abstractmethod
    async def _start(self) -> None: ...

    @abstractmethod
    async def _exec(self, argv: list[str], *, timeout: float, cwd: str, env: dict[str, str],
                    stdin: bytes | None) -> ExecResult: ...

    @abstractmethod
    async def _write(self, rel: str, data: bytes, mode: int) -> None: ...

    @abstractmethod
    async def _read(self, rel: str, max_bytes: int) -> bytes: ...

    @abstractmethod
    async def _upload(self, local: Path, rel: str) -> None: ...

    @abstractmethod
    async def _download(self, rel: str, local: Path) -> None: ...

    @abstractmethod
    async def _snapshot(self, dest: Path) -> tuple[Path, int]: ...

    @abstractmethod
    async def _restore(self, ref: SnapshotRef) -> None: ...

    @abstractmethod
    def _clone(self) -> Sandbox:
        """A new, unstarted sandbox with the same configuration (used by fork)."""

    @abstractmethod
    async def _close(self) -> None: ...


def _check_text(value: str, what: str, error: type[SandboxError] = SandboxArgumentError) -> str:
    """`value`, if it is valid Unicode text without NUL; else a clear error naming `what`."""
    if "\x00" in value:
        raise error(f"{what} contains a NUL byte; processes and paths cannot hold NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(f"{what} is not valid text: a lone surrogate {value[exc.start]!r} at index {exc.start} "
                    "(invalid UTF-8 decoded with surrogateescape?); pass proper text or bytes") from None
    return value


def _argv(cmd: str | Sequence[str]) -> list[str]:
    if isinstance(cmd, str):
        if not cmd.strip():
            raise SandboxArgumentError("command is empty; pass a shell string or an argv list")
        argv = ["/bin/sh", "-c", cmd]
    elif isinstance(cmd, Sequence) and cmd and all(isinstance(a, str) for a in cmd):
        argv = list(cmd)
    else:
        raise SandboxArgumentError(f"command must be a non-empty str or list of str, got {cmd!r:.80}")
    for index, arg in enumerate(argv):
        _check_text(arg, "command" if isinstance(cmd, str) else f"command argument {index}")
    return argv


def _check_env(env: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for key, value in env.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SandboxArgumentError(f"env must map str to str; got {key!r}: {value!r}")
        if not key or "=" in key or "\x00" in key or "\x00" in value:
            raise SandboxArgumentError(f"invalid env variable {key!r:.80}: names need no '=' and no NUL bytes")
        out[_check_text(key, "env name")] = _check_text(value, f"env variable {key!r:.80}")
    return out


def _check_command_size(argv: list[str], env: dict[str, str]) -> None:
    size = sum(len(a.encode()) + 1 for a in argv) + sum(len(k.encode()) + len(v.encode()) + 2 for k, v in env.items())
    if size > MAX_COMMAND_BYTES:
        raise SandboxArgumentError(
            f"command and env are {size} bytes, over the {MAX_COMMAND_BYTES} a sandbox accepts (the kernel itself "
            "refuses more than ~2 MiB); pass data through stdin or write_file()"
        )


def _data_bytes(data: object, what: str) -> bytes:
    if isinstance(data, str):
        return _encode_text(data, what)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise SandboxArgumentError(f"{what} must be str or bytes, got {type(data).__name__}")


def _encode_text(data: str, what: str) -> bytes:
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SandboxArgumentError(f"{what} is not valid text: a lone surrogate {data[exc.start]!r} at index "
                                   f"{exc.start}; pass bytes, or text without surrogates") from None


def _stdin_bytes(stdin: object) -> bytes | None:
    if stdin is None:
        return None
    data = _data_bytes(stdin, "stdin")
    if len(data) > MAX_STDIN_BYTES:
        raise SandboxArgumentError(f"stdin is {len(data)} bytes, over the {MAX_STDIN_BYTES} exec() sends; "
                                   "write it with write_file() and redirect it (cmd < file)")
    return data


def _host_path(value: object, what: str) -> Path:
    try:
        text = os.fspath(value)
    except TypeError:
        raise SandboxArgumentError(f"{what} must be a path (str or os.PathLike), got {type(value).__name__}") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if "\x00" in text or not text:
        raise SandboxArgumentError(f"{what} {text!r:.80} is empty or contains a NUL byte")
    return Path(text)


def check_file_size(what: str, size: int, limits: Limits) -> None:
    """SandboxArgumentError when `size` bytes exceed `limits.file_size_mb`, the largest file a sandbox holds."""
    cap = limits.file_size_mb << 20
    if size > cap:
        raise SandboxArgumentError(
            f"{what}: {size} bytes is over Limits.file_size_mb={limits.file_size_mb} ({cap} bytes), the largest "
            "file a sandbox may hold; raise file_size_mb or send a smaller file"
        )


def _oversized_file(local: Path, cap: int) -> tuple[str, int] | None:
    """(path, size) of the first regular file of a host file or tree over `cap` bytes; symlinks are skipped."""
    if local.is_symlink():
        return None
    if not local.is_dir():
        size = local.stat().st_size
        return (str(local), size) if size > cap else None
    for dirpath, _dirs, files in os.walk(local):  # symlinked directories are listed, never entered
        for name in files:
            info = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(info.st_mode) and info.st_size > cap:
                return os.path.join(dirpath, name), info.st_size
    return None


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        _hostfs.remove_tree(path)
    elif os.path.lexists(path):
        os.unlink(path)
