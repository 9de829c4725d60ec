"""DockerSandbox: a long-lived container per sandbox, commands via `docker exec`.

    async with DockerSandbox(image="agentgym/python:latest") as sb:
        r = await sb.exec("python3 -c 'print(1)'")

Container settings: network "none" (opt in with `network=True` or a mode name), memory,
CPU, pids and file-size limits, every capability dropped, `no-new-privileges`, a
read-only root filesystem, /workspace on a size-limited tmpfs volume and /tmp on tmpfs,
no host mounts. Commands run as uid 1000 while the container's init runs as another
uid, so every command process can be killed (`kill -9 -1`) without stopping the
container. As on bwrap, nothing an exec starts outlives it: each exec carries a marker
($AGENTGYM_EXEC_ID) and runs under a small sh wrapper that, when the command exits, kills
in the same `docker exec` every process still carrying that marker (`&`, setsid, nohup,
double forks) and every process whose environment was scrubbed of markers; a timed-out,
cancelled or signalled exec (whose wrapper may be dead) is cleaned up by the host: its
marked processes at once, then everything once no operation runs. The image needs
/bin/sh and GNU grep (`-z`). Everything created carries the label `agentgym.managed=1` (see
`agentgym sandbox prune`). Images are never pulled: a missing one is an error that
names `agentgym sandbox build`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import os
import tarfile
import tempfile
import types
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from ._docker_exec import docker_exec
from agentgym.owner import Owner
from .base import MARKER_ENV, Sandbox
from .errors import SandboxArgumentError, SandboxError, SandboxPathError, SandboxUnavailableError
from .images import DEFAULT_IMAGE
from .models import TIMEOUT_EXIT_CODE, ExecResult, SnapshotRef

LABEL = "agentgym.managed"
AGENT_USER = "1000:1000"
INIT_USER = "65534:65534"
_executor: ThreadPoolExecutor | None = None

_CHECK = ('p=$(realpath -m -- "$1") || exit 96; case "$p" in {wd}|{wd}/*) ;; *) exit 97;; esac; '
          '[ "{flag}" = -m ] || [ -e "$p" ] || exit 96; ')
_WRITE = ('[ -e "$p" ] && [ ! -f "$p" ] && exit 98; mkdir -p -- "$(dirname -- "$p")" && cat > "$p" '
          '&& chmod "$2" "$p"')
EXEC_MARKER_ENV = "AGENTGYM_EXEC_ID"  # set per exec (and per internal operation): whose process is whose
# Kill the processes whose environment holds $1; run by the exec wrapper itself, and by the
# host on timeout or cancel. Passes repeat (at least two, at most eight) until one kills nothing:
# they catch what was forked, or was starting, during the previous one.
_KILL_MARKED = r"""
n=0
while [ $n -lt 8 ]; do
  n=$((n+1)); found=
  for f in $(grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}; [ "$p" = "$$" ] || { kill -9 "$p" 2>/dev/null && found=1; }
  done
  [ -z "$found" ] && [ $n -ge 2 ] && break
done
"""
# Every exec runs as `sh -c _EXEC_WRAPPER agentgym-exec argv...`: the command; then, in the same
# docker exec (no extra round trip), whatever it left running is killed. A process with no
# marker (its environment scrubbed, or empty: in the middle of execve(), or a zombie) cannot be
# told apart from another exec's starting process: the wrapper only reports it, with a last
# stderr line the host strips, and the host kills everything once no operation runs.
_EXEC_WRAPPER = ('"$@"\nrc=$?\nset -- "AGENTGYM_EXEC_ID=$AGENTGYM_EXEC_ID"\n' + _KILL_MARKED + r"""
[ -n "$found" ] && printf '\n%s\n' "agentgym-unmarked-$AGENTGYM_EXEC_ID" >&2 || \
for f in $(grep -LzF -- "AGENTGYM_EXEC_ID=" /proc/[0-9]*/environ 2>/dev/null); do
  [ "$f" = "/proc/$$/environ" ] || { printf '\n%s\n' "agentgym-unmarked-$AGENTGYM_EXEC_ID" >&2; break; }
done
exit $rc
""")
_READ = '[ -f "$p" ] || exit 98; s=$(stat -c %s -- "$p"); [ "$s" -le "$2" ] || { echo "$s"; exit 99; }; cat -- "$p"'


def _pool() -> ThreadPoolExecutor:
    """Threads for blocking docker calls (the default executor is too small for many sandboxes)."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="agentgym-docker")
    return _executor


def docker_client():
    """A docker SDK client; SandboxUnavailableError (with the fix) when the SDK or daemon is missing."""
    try:
        import docker
    except ImportError:
        raise SandboxUnavailableError('the docker SDK is not installed: pip install "agentgym[sandbox]"') from None
    if not hasattr(docker, "from_env"):
        where = getattr(docker, "__file__", None) or list(getattr(docker, "__path__", []))
        raise SandboxUnavailableError(
            f"'import docker' found {where}, not the docker SDK: a directory named docker/ on sys.path shadows "
            "it (python -m / python -c put the current directory first); run from another directory"
        )
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        return client
    except Exception as exc:
        raise SandboxUnavailableError(
            f"the Docker daemon does not answer ({type(exc).__name__}: {str(exc)[:200]}); start it "
            "(here: docker/start-dockerd.sh, as root) or check DOCKER_HOST"
        ) from None


def labels_for(sandbox_id: str) -> dict[str, str]:
    """Labels of a sandbox's container and volume: managed, its id, and its owner (see `agentgym/owner.py`)."""
    return {LABEL: "1", "agentgym.sandbox": sandbox_id, **Owner.current().labels()}


class DockerSandbox(Sandbox):
    """A sandbox in a Docker container built from docker/ (see `agentgym sandbox build`)."""

    backend = "docker"
    reclaim_kind = "docker"

    def __init__(self, *, image: str = DEFAULT_IMAGE, user: str = AGENT_USER, **kwargs):
        super().__init__(**kwargs)
        self.image = image
        self.user = user
        self._client = None
        self._container = None
        self._volume = None
        self._active = 0  # operations in flight (execs and file operations)
        self._dirty = False  # an exec ended since the last sweep: it may have left processes
        self._sweep: concurrent.futures.Future | None = None

    async def _call(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(_pool(), partial(fn, *args, **kwargs))

    # ---- lifecycle -------------------------------------------------------------------
    async def _start(self) -> None:
        await self._call(self._start_blocking)

    def _start_blocking(self) -> None:
        import docker.errors
        from docker.types import Ulimit

        self._client = docker_client()
        try:
            self._client.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailableError(
                f"docker image {self.image!r} is not present and images are never pulled; build it with: "
                "agentgym sandbox build   (or: python -m agentgym.sandboxes.cli build)"
            ) from None
        network = self.network if isinstance(self.network, str) else "bridge" if self.network else "none"
        if network not in ("none", "host"):
            try:
                self._client.networks.get(network)
            except docker.errors.NotFound:
                raise SandboxUnavailableError(
                    f"docker network {network!r} does not exist on this daemon (started with --bridge=none?); "
                    "opt in with network='host' (the host's network, loopback included) or create one: "
                    f"docker network create {network}"
                ) from None
        limits, labels = self.limits, labels_for(self.id)
        uid, gid = self.user.split(":") if ":" in self.user else (self.user, self.user)
        self._volume = self._client.volumes.create(
            name=f"agentgym-{self.id}", driver="local", labels=labels,
            driver_opts={"type": "tmpfs", "device": "tmpfs",
                         "o": f"size={limits.disk_mb}m,uid={uid},gid={gid},mode=0755"},
        )
        self._container = self._client.containers.run(
            self.image, ["sleep", "infinity"], name=f"agentgym-{self.id}", detach=True, init=True,
            user=INIT_USER, labels=labels, network_mode=network, read_only=True,
            volumes={self._volume.name: {"bind": self.workdir, "mode": "rw"}},
            tmpfs={"/tmp": f"size={limits.disk_mb}m,mode=1777,exec"},
            mem_limit=f"{limits.memory_mb}m", memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9), pids_limit=limits.pids,
            ulimits=[Ulimit(name="fsize", soft=limits.file_size_mb << 20, hard=limits.file_size_mb << 20),
                     Ulimit(name="core", soft=0, hard=0)],
            cap_drop=["ALL"], security_opt=["no-new-privileges"], working_dir=self.workdir,
        )

    async def _close(self) -> None:
        await self._call(self._close_blocking)

    def _close_blocking(self) -> None:
        for thing in (self._container, self._volume):
            if thing is not None:
                try:
                    thing.remove(force=True)
                except Exception:  # already gone (pruned, daemon restarted)
                    pass
        if self._client is not None:
            self._client.close()

    # ---- in-flight bookkeeping: sweep leftovers once nothing runs ----------------------
    @contextlib.asynccontextmanager
    async def _busy(self):
        """Wait for a pending sweep, count this operation in flight; sweep when the last one ends.

        Set `.leaves_processes` on the yielded object when the operation may have left
        processes its own cleanup did not kill: once nothing runs, everything is killed.
        """
        while self._sweep is not None and not self._sweep.done():
            await asyncio.wrap_future(self._sweep)
        self._active += 1
        state = types.SimpleNamespace(leaves_processes=False)
        try:
            yield state
        finally:
            self._active -= 1
            self._dirty = self._dirty or state.leaves_processes
            if self._active == 0 and self._dirty and self._container is not None and not self._closed:
                self._dirty = False
                self._sweep = _pool().submit(self._sweep_blocking)

    def _sweep_blocking(self) -> None:
        try:
            self._kill_blocking()
        except Exception:  # noqa: BLE001 - the container is gone (closed, pruned): nothing left to kill
            pass

    async def _settled(self) -> None:
        """Return once the last sweep finished (processes left by earlier execs are dead)."""
        while self._sweep is not None and not self._sweep.done():
            await asyncio.wrap_future(self._sweep)

    # ---- commands --------------------------------------------------------------------
    async def _exec(self, argv, *, timeout, cwd, env, stdin) -> ExecResult:
        marker = uuid.uuid4().hex
        run_env = {"HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", **env,
                   MARKER_ENV: self.id, EXEC_MARKER_ENV: marker}
        wrapped = ["/bin/sh", "-c", _EXEC_WRAPPER, "agentgym-exec", *argv]
        async with self._busy() as busy:
            try:
                raw = await self._call(docker_exec, self._client.api, self._container.id, wrapped, user=self.user,
                                       workdir=cwd, env=run_env, stdin=stdin, timeout=timeout,
                                       output_bytes=self.limits.output_bytes)
            except asyncio.CancelledError:
                busy.leaves_processes = True
                if self._active > 1:  # others run: kill only this exec's processes (the sweep does the rest)
                    _pool().submit(self._kill_marked_blocking, marker)
                raise
            except Exception as exc:
                raise SandboxError(f"docker exec failed in {self.id}: {type(exc).__name__}: {exc}") from exc
            # The wrapper cleaned up after a normal exit; killed (timeout, signal) it could not.
            unmarked = _strip_suffix(raw.stderr, f"\nagentgym-unmarked-{marker}\n".encode())
            busy.leaves_processes = unmarked or raw.deadline_hit or raw.exit_code is None or raw.exit_code >= 128
            if raw.deadline_hit and self._active > 1:
                await self._call(self._kill_marked_blocking, marker)
        if raw.deadline_hit:
            await self._settled()  # a timed-out command is dead when exec() returns
        code = TIMEOUT_EXIT_CODE if raw.deadline_hit else raw.exit_code if raw.exit_code is not None else -1
        return ExecResult(exit_code=code, stdout=raw.stdout.text(), stderr=raw.stderr.text(),
                          timed_out=raw.deadline_hit, truncated=raw.stdout.truncated or raw.stderr.truncated,
                          duration=raw.duration)

    def _kill_blocking(self) -> None:
        """Kill every process of the agent user (the init process runs as another uid)."""
        docker_exec(self._client.api, self._container.id, ["/bin/sh", "-c", "kill -9 -1"], user=self.user,
                    workdir="/", env={}, stdin=None, timeout=10, output_bytes=1024)

    def _kill_marked_blocking(self, marker: str) -> None:
        """Kill the processes of one exec (those still carrying its marker), sparing concurrent execs."""
        try:
            docker_exec(self._client.api, self._container.id,
                        ["/bin/sh", "-c", _KILL_MARKED, "agentgym", f"{EXEC_MARKER_ENV}={marker}", "-"],
                        user=self.user, workdir="/", env={}, stdin=None, timeout=10, output_bytes=1024)
        except Exception:  # noqa: BLE001 - the container is gone
            pass

    async def _internal(self, script: str, *args: str, stdin: bytes | None = None, cap: int = 65536):
        argv = ["/bin/sh", "-c", script, "agentgym", *args]
        async with self._busy():
            return await self._call(docker_exec, self._client.api, self._container.id, argv, user=self.user,
                                    workdir="/", env={EXEC_MARKER_ENV: f"internal-{uuid.uuid4().hex}"}, stdin=stdin, timeout=max(60.0, self.limits.timeout),
                                    output_bytes=cap)

    async def _archive(self, fn, *args):
        """A docker archive call (get/put) counted in flight, after any pending sweep."""
        async with self._busy():
            return await self._call(fn, *args)

    def _check_result(self, raw, rel: str, what: str) -> None:
        if raw.exit_code == 0:
            return
        if raw.exit_code in (96, 97):
            raise SandboxPathError(f"{rel!r} resolves outside {self.workdir} (symlink or '..'); refused")
        if raw.exit_code == 98:
            raise SandboxPathError(f"{rel!r} is not a regular file")
        if raw.exit_code == 1 and "No such file" in raw.stderr.text():
            raise FileNotFoundError(f"no such file in the sandbox workspace: {rel!r}")
        raise SandboxError(f"{what} {rel!r} failed (exit {raw.exit_code}): {raw.stderr.text()[:300]}")

    # ---- files -----------------------------------------------------------------------
    def _abs(self, rel: str) -> str:
        return f"{self.workdir}/{rel}" if rel else self.workdir

    async def _write(self, rel: str, data: bytes, mode: int) -> None:
        script = _CHECK.format(flag="-m", wd=self.workdir) + _WRITE
        raw = await self._internal(script, self._abs(rel), f"{mode:o}", stdin=data)
        self._check_result(raw, rel, "writing")

    async def _read(self, rel: str, max_bytes: int) -> bytes:
        script = _CHECK.format(flag="-e", wd=self.workdir) + _READ
        raw = await self._internal(script, self._abs(rel), str(max_bytes), cap=max_bytes + 1)
        if raw.exit_code == 96:
            raise FileNotFoundError(f"no such file in the sandbox workspace: {rel!r}")
        if raw.exit_code == 99:
            raise SandboxArgumentError(f"{rel!r} is {raw.stdout.text().strip()} bytes, over max_bytes={max_bytes}; "
                                       "pass a larger max_bytes or use download()")
        self._check_result(raw, rel, "reading")
        return bytes(raw.stdout.head)

    async def _resolve(self, rel: str, *, must_exist: bool) -> str:
        script = _CHECK.format(flag="-e" if must_exist else "-m", wd=self.workdir) + 'printf %s "$p"'
        raw = await self._internal(script, self._abs(rel))
        if raw.exit_code == 96:
            raise FileNotFoundError(f"no such path in the sandbox workspace: {rel!r}")
        self._check_result(raw, rel, "resolving")
        return raw.stdout.text()

    async def _upload(self, local: Path, rel: str) -> None:
        dest = await self._resolve(rel, must_exist=False)
        uid = int(self.user.split(":")[0])
        data = await asyncio.to_thread(_tar_of, local, uid)
        if local.is_dir():
            await self._internal('mkdir -p -- "$1"', dest)
            target = dest
        else:  # a file lands at dest itself
            target = os.path.dirname(dest)
            await self._internal('mkdir -p -- "$1"', target)
            data = await asyncio.to_thread(_tar_of, local, uid, os.path.basename(dest))
        ok = await self._archive(self._container.put_archive, target, data)
        if not ok:
            raise SandboxError(f"uploading {local} to {dest} failed")

    async def _download(self, rel: str, local: Path) -> None:
        path = await self._resolve(rel, must_exist=True)
        with tempfile.TemporaryFile() as spool:
            await self._archive(self._archive_to, path, spool)
            spool.seek(0)
            await asyncio.to_thread(_extract, spool, local)

    def _archive_to(self, path: str, handle) -> int:
        stream, _stat = self._container.get_archive(path, chunk_size=1 << 20)
        size = 0
        for chunk in stream:
            handle.write(chunk)
            size += len(chunk)
        return size

    # ---- snapshots -------------------------------------------------------------------
    async def _snapshot(self, dest: Path) -> tuple[Path, int]:
        # A workspace tarball, not `docker commit`: the workspace is a tmpfs volume, which a
        # commit leaves out (it captures only the container's own layer), and the root is read-only.
        path = dest.with_suffix(".tar")
        with open(path, "wb") as handle:
            size = await self._archive(self._archive_to, self.workdir + "/.", handle)
        return path, size

    async def _restore(self, ref: SnapshotRef) -> None:
        await self._settled()
        await self._call(self._kill_blocking)
        await self._internal(f'find {self.workdir} /tmp -mindepth 1 -delete 2>/dev/null; true')
        with open(ref.path, "rb") as handle:
            ok = await self._archive(self._container.put_archive, self.workdir, handle.read())
        if not ok:
            raise SandboxError(f"restoring snapshot {ref.id} into {self.id} failed")

    def _clone(self) -> DockerSandbox:
        return DockerSandbox(image=self.image, user=self.user, limits=self.limits, env=self.env,
                             network=self.network)


def _strip_suffix(buffer, suffix: bytes) -> bool:
    """Remove `suffix` from the end of a CappedBuffer's stream if it ends with it; whether it did."""
    if not (bytes(buffer.head) + bytes(buffer.tail)).endswith(suffix):
        return False
    cut = len(suffix)
    from_tail = min(cut, len(buffer.tail))
    if from_tail:
        del buffer.tail[len(buffer.tail) - from_tail:]
    if cut - from_tail:
        del buffer.head[len(buffer.head) - (cut - from_tail):]
    buffer.total -= cut
    return True


def _tar_of(local: Path, uid: int, arcname: str | None = None) -> bytes:
    """A tar of a host file or of a directory's contents, owned by the agent user."""
    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if not (info.isfile() or info.isdir()):
            return None
        info.uid = info.gid = uid
        info.uname = info.gname = ""
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if local.is_dir():
            for child in sorted(local.iterdir()):
                tar.add(child, arcname=child.name, filter=owned)
        else:
            tar.add(local, arcname=arcname or local.name, filter=owned)
    return buffer.getvalue()


def _extract(handle, local: Path) -> None:
    """Extract a docker archive (top entry = the requested path) to `local`; files and dirs only."""
    with tarfile.open(fileobj=handle, mode="r|") as tar:
        for member in tar:
            parts = member.name.split("/", 1)
            inner = parts[1] if len(parts) > 1 else ""
            if not (member.isfile() or member.isdir()) or ".." in inner.split("/"):
                continue
            target = local / inner if inner else local
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            with open(target, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
