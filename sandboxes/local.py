"""LocalSandbox: a subprocess in a temporary directory, with rlimits and NO isolation.

    sb = make_sandbox("local", allow_local=True)   # or LocalSandbox() directly

The command sees the whole host filesystem, network and processes; only the wall-clock
timeout, output caps, rlimits (address space, file size, CPU time) and cleanup apply:
the command's process group dies with it, and once no exec runs, every process still
carrying the sandbox's marker variable (setsid, nohup, double forks) is killed too. Use it for trusted code or when neither docker nor bwrap is available.
"""

from __future__ import annotations

import os
import shutil
import warnings

import asyncio

from ._hostdir import HostDirSandbox
from ._process import kill_group, kill_marked, run_process
from .base import MARKER_ENV
from .models import ExecResult

_warned = False


def cpu_limit(limits, timeout: float | None = None) -> int:
    """RLIMIT_CPU of one exec: `Limits.cpu_seconds`, else its wall-clock timeout + 2 s (never below it)."""
    return limits.cpu_seconds or int(timeout if timeout is not None else limits.timeout) + 2


def rlimit_prefix(limits, *, nproc: bool, timeout: float | None = None) -> list[str]:
    """`prlimit ... --` setting address space, file size, CPU seconds and (optionally) processes."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    cpu = cpu_limit(limits, timeout)
    argv = [prlimit, f"--as={limits.memory_mb << 20}", f"--fsize={limits.file_size_mb << 20}", f"--cpu={cpu}",
            "--core=0"]
    if nproc:
        argv.append(f"--nproc={limits.pids}")
    return [*argv, "--"]


class LocalSandbox(HostDirSandbox):
    """Runs commands on the host in a temp workspace. No isolation: explicit opt-in only."""

    backend = "local"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.workdir = str(self.host_workspace)  # commands see real host paths
        global _warned
        if not _warned:
            _warned = True
            warnings.warn("LocalSandbox runs untrusted code WITHOUT isolation (host files, network and "
                          "processes are reachable); use bwrap or docker for model-written code.",
                          RuntimeWarning, stacklevel=3)

    async def _exec(self, argv, *, timeout, cwd, env, stdin) -> ExecResult:
        run_env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": self.workdir,
            "TMPDIR": str(self.root / "tmp"),
            "LANG": "C.UTF-8",
            **env,
            MARKER_ENV: self.id,
        }
        try:
            return await run_process([*rlimit_prefix(self.limits, nproc=False, timeout=timeout), *argv],
                                     timeout=timeout,
                                     output_bytes=self.limits.output_bytes, env=run_env, cwd=cwd, stdin=stdin,
                                     running=self._running)
        finally:
            if not self._running:  # nothing else runs: nothing an exec started may survive it
                await asyncio.to_thread(kill_marked, MARKER_ENV, self.id)

    async def _kill_all(self) -> None:
        for pgid in list(self._running):
            kill_group(pgid)
        await asyncio.to_thread(kill_marked, MARKER_ENV, self.id)

    def _clone(self) -> LocalSandbox:
        return LocalSandbox(limits=self.limits, env=self.env, network=self.network)
