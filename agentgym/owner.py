"""Who owns a resource (a sandbox, a temp folder, a site server), and whether that owner is gone for sure.

    me = Owner.current()                  # this process: pid, start time, boot id, host
    labels = me.labels()                  # docker labels of a container / volume
    folder = make_owned_dir(tmp / "agentgym-x-1")   # a folder with owner.json already inside
    Owner.from_text(text).is_gone()       # True only when the creating process no longer exists
    env = marked_env(folder)              # a child's environment, its marker recorded in the folder
    reclaim_dirs(tmp, ("agentgym-x-",))   # folders of dead owners: marked processes killed, then removed

A pid alone cannot tell a dead owner from a new process that reuses its number, so an
owner is (pid, start time of that pid in clock ticks since boot, kernel boot id, host).
The owner is gone when the machine rebooted since (boot id differs), the pid does not
exist, is a zombie, or belongs to a process that started at another time. On another
host or in another pid namespace, or when unsure, it is never gone: a live process's
resources are never reclaimed.
Records written by older versions (a bare pid) are judged by the pid alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import time
import uuid
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

OWNER_FILE = "owner.json"
MARK_VAR = "AGENTGYM_OWNED_BY"  # in the environment of a child that must not outlive its owner
MARKS_PREFIX = "marked-"         # an owned folder's record of such a child: marked-<marker>
LEGACY_OWNER_FILE = "owner.pid"
STAGING_PREFIX = ".agentgym-new-"  # a directory being created (renamed to its real name once owned)
LABEL_PID, LABEL_START, LABEL_BOOT, LABEL_HOST = "agentgym.pid", "agentgym.pid_start", "agentgym.boot_id", "agentgym.host"
LABEL_PIDNS = "agentgym.pidns"


@lru_cache(maxsize=1)
def boot_id() -> str | None:
    """The kernel's boot id (changes at every boot), or None where /proc does not have it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


@lru_cache(maxsize=1)
def pid_namespace() -> str | None:
    """This process's pid namespace (``pid:[4026531836]``), or None where /proc does not say."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()  # the name may hold spaces and ')'
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 19 else None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of `pid`, None when it does not exist."""
    fields = _stat_fields(pid)
    return (fields[0].decode(), int(fields[19])) if fields else None


@dataclass(frozen=True)
class Owner:
    """The process that created a resource (a sandbox, a folder, a process group)."""

    pid: int
    start: int | None = None
    boot: str | None = None
    host: str | None = None
    pidns: str | None = None  # the pid namespace: containers sharing a /tmp, a boot id and a hostname differ here

    @classmethod
    def current(cls) -> Owner:
        return _current(os.getpid())  # keyed by pid: a forked child is another owner

    # ---- records ---------------------------------------------------------------------
    def labels(self) -> dict[str, str]:
        labels = {LABEL_PID: str(self.pid), LABEL_HOST: self.host or ""}
        if self.start is not None:
            labels[LABEL_START] = str(self.start)
        if self.boot:
            labels[LABEL_BOOT] = self.boot
        if self.pidns:
            labels[LABEL_PIDNS] = self.pidns
        return labels

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Owner | None:
        try:
            pid = int(labels.get(LABEL_PID, ""))
            start = int(labels[LABEL_START]) if labels.get(LABEL_START) else None
        except ValueError:
            return None
        return cls(pid, start, labels.get(LABEL_BOOT) or None, labels.get(LABEL_HOST), labels.get(LABEL_PIDNS) or None)

    def to_text(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_text(cls, text: str) -> Owner | None:
        """Parse an owner file: this module's JSON, or an older bare pid. None when unreadable."""
        text = text.strip()
        if text.isdigit():
            return cls(int(text))
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), data.get("start"), data.get("boot"), data.get("host"), data.get("pidns"))
        except (ValueError, TypeError, KeyError):
            return None

    # ---- liveness ----------------------------------------------------------------------
    def is_gone(self) -> bool:
        """True only when this owner surely no longer runs (see the module docstring)."""
        if self.host is not None and self.host != socket.gethostname():
            return False  # another machine (or container): its processes are not ours to judge
        if self.boot and boot_id() and self.boot != boot_id():
            return True  # a reboot ended every process of the machine, whatever its namespace
        if self.pidns and pid_namespace() and self.pidns != pid_namespace():
            return False  # another pid namespace (a container sharing this folder): its pids mean nothing here
        if self.pid <= 0:
            return True
        info = _proc_stat(self.pid)
        if info is None:
            return not _signalable(self.pid)  # no /proc (or no such pid): ask the kernel
        state, start = info
        if state in ("Z", "X"):
            return True
        return self.start is not None and start != self.start


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


@lru_cache(maxsize=4)
def _current(pid: int) -> Owner:
    info = _proc_stat(pid)
    return Owner(pid, info[1] if info else None, boot_id(), socket.gethostname(), pid_namespace())


def read_owner(path: Path) -> Owner | None:
    """The owner recorded in a sandbox directory, None when there is no readable record."""
    for name in (OWNER_FILE, LEGACY_OWNER_FILE):
        try:
            return Owner.from_text((path / name).read_text())
        except (OSError, UnicodeDecodeError):
            continue
    return None


def make_owned_dir(final: Path, *, mode: int = 0o700) -> Path:
    """Create the directory `final` with this process's owner file already inside.

    It is built under a staging name and renamed into place, so a concurrent prune never
    sees it without an owner. Raises FileExistsError when `final` exists.
    """
    staging = final.parent / f"{STAGING_PREFIX}{final.name}"
    staging.mkdir(mode=mode)
    try:
        (staging / OWNER_FILE).write_text(Owner.current().to_text())
        if final.exists():
            raise FileExistsError(f"{final} already exists")
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


# ---- processes an owner started (servers that must not outlive it) ------------------------
def marked_env(folder: Path) -> dict[str, str]:
    """The environment for a child that must not outlive this process: ``os.environ`` plus a marker of
    its own, recorded in ``folder``; its children (a shell's server, a daemon it forks) inherit the marker.

        env = marked_env(folder)
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        ...
        stop_marked(folder, env[MARK_VAR])       # at close; a reclaim does it after a SIGKILL
    """
    marker = uuid.uuid4().hex
    (folder / f"{MARKS_PREFIX}{marker}").touch(mode=0o600)
    return {**os.environ, MARK_VAR: marker}


def marked_processes(markers: set[str], group: int | None = None) -> list[int]:
    """Live processes (zombies left out) whose environment carries ``MARK_VAR`` with one of ``markers``,
    and the members of process group ``group`` when given.

    Found by the marker, not by pid or process group: a recorded pid may be reused and a group outlives
    its leader, but no process carries the marker unless it descends from the one it was given to (pass
    ``group`` only while its id cannot be reused: its leader is an unreaped child of this process)."""
    wanted = {f"{MARK_VAR}={m}".encode() for m in markers}
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:  # no /proc: nothing can be told apart, so nothing is touched
        return found
    for name in names:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        fields = _stat_fields(name)
        if fields is None or fields[0] in (b"Z", b"X"):  # gone, or a zombie
            continue
        if group is not None and int(fields[2]) == group:
            found.append(int(name))
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                entries = handle.read().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if wanted.intersection(entries):
            found.append(int(name))
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_marked(folder: Path, marker: str, grace: float = 5.0, group: int | None = None) -> None:
    """Stops every process carrying ``marker``, and the members of process ``group`` (see
    :func:`marked_processes`): SIGTERM, SIGKILL to those left after ``grace`` s; forgets the record."""
    pids = marked_processes({marker}, group)
    if pids:
        _signal_all(pids, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while (pids := marked_processes({marker}, group)) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_all(pids, signal.SIGKILL)
    (folder / f"{MARKS_PREFIX}{marker}").unlink(missing_ok=True)


def kill_recorded(folder: Path) -> int:
    """SIGKILLs the processes carrying a marker recorded in ``folder`` (scanning again for children forked
    meanwhile, a few times at most); returns how many."""
    try:
        markers = {p.name[len(MARKS_PREFIX):] for p in folder.iterdir() if p.name.startswith(MARKS_PREFIX)}
    except OSError:
        return 0
    killed: set[int] = set()
    for _ in range(5):
        pids = marked_processes(markers) if markers else []
        if not pids:
            break
        _signal_all(pids, signal.SIGKILL)
        killed.update(pids)
        time.sleep(0.02)
    return len(killed)


def own_folder(path: Path) -> bool:
    """A folder this user made and nobody else could have written into (records in a shared /tmp are
    otherwise anybody's to plant)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def reclaim_dirs(root: Path, prefixes: tuple[str, ...]) -> list[Path]:
    """Removes the folders under ``root`` named ``prefix…`` whose owner is gone, after killing the
    processes they recorded (:func:`marked_env`); returns the folders removed. Folders without an owner
    record, of another user or writable by others are left alone.

    A process that overwrites its environment (setproctitle: postgres, nginx, gunicorn) loses its marker
    and escapes a reclaim; a run that closes normally still stops it through its process group."""
    removed = []
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(prefixes)]
    except OSError:
        return removed
    for path in entries:
        if not own_folder(path):
            continue
        owner = read_owner(path)
        if owner is None or not owner.is_gone():
            continue
        kill_recorded(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
