"""Who owns a resource (a sandbox, a temp folder, a site server), and whether that owner is gone for sure.

    me = Owner.current()                  # this process: pid, start time, boot id, host
    labels = me.labels()                  # docker labels of a container / volume
    folder = make_owned_dir(tmp / "agentgym-x-1")   # a folder with owner.json already inside
    Owner.from_text(text).is_gone()       # True only when the creating process no longer exists
    record_group(folder, proc.pid)        # a child started with start_new_session=True
    reclaim_dirs(tmp, ("agentgym-x-",))   # folders of dead owners: their groups killed, then removed

A pid alone cannot tell a dead owner from a new process that reuses its number, so an
owner is (pid, start time of that pid in clock ticks since boot, kernel boot id, host).
The owner is gone when the machine rebooted since (boot id differs), the pid does not
exist, is a zombie, or belongs to a process that started at another time. On another
host, or when unsure, it is never gone: a live process's resources are never reclaimed.
Records written by older versions (a bare pid) are judged by the pid alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

OWNER_FILE = "owner.json"
GROUPS_FILE = "groups.jsonl"  # process groups started by the owner, one Owner record of each group's leader a line
LEGACY_OWNER_FILE = "owner.pid"
STAGING_PREFIX = ".agentgym-new-"  # a directory being created (renamed to its real name once owned)
LABEL_PID, LABEL_START, LABEL_BOOT, LABEL_HOST = "agentgym.pid", "agentgym.pid_start", "agentgym.boot_id", "agentgym.host"


@lru_cache(maxsize=1)
def boot_id() -> str | None:
    """The kernel's boot id (changes at every boot), or None where /proc does not have it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of `pid`, None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()  # the name may hold spaces and ')'
        return fields[0].decode(), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Owner:
    """The process that created a resource (a sandbox, a folder, a process group)."""

    pid: int
    start: int | None = None
    boot: str | None = None
    host: str | None = None

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
        return labels

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Owner | None:
        try:
            pid = int(labels.get(LABEL_PID, ""))
            start = int(labels[LABEL_START]) if labels.get(LABEL_START) else None
        except ValueError:
            return None
        return cls(pid, start, labels.get(LABEL_BOOT) or None, labels.get(LABEL_HOST))

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
            return cls(int(data["pid"]), data.get("start"), data.get("boot"), data.get("host"))
        except (ValueError, TypeError, KeyError):
            return None

    # ---- liveness ----------------------------------------------------------------------
    def is_gone(self) -> bool:
        """True only when this owner surely no longer runs (see the module docstring)."""
        if self.host is not None and self.host != socket.gethostname():
            return False  # another machine (or container): its processes are not ours to judge
        if self.boot and boot_id() and self.boot != boot_id():
            return True
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
    return Owner(pid, info[1] if info else None, boot_id(), socket.gethostname())


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


# ---- process groups an owner started (servers that must not outlive it) ------------------
def record_group(folder: Path, pid: int) -> None:
    """Records in ``folder`` the process group led by ``pid`` (a child started with
    ``start_new_session=True``), so that :func:`reclaim_dirs` can stop it once this process is gone."""
    info = _proc_stat(pid)
    leader = Owner(pid, info[1] if info else None, boot_id(), socket.gethostname())
    with open(folder / GROUPS_FILE, "a") as handle:
        handle.write(leader.to_text() + "\n")


def _group_runs(leader: Owner) -> bool:
    """Whether the process group ``leader`` started still has processes (of that group, not of a reused pid)."""
    if (leader.host is not None and leader.host != socket.gethostname()) or (
            leader.boot and boot_id() and leader.boot != boot_id()):
        return False  # another machine's group, or one a reboot ended
    info = _proc_stat(leader.pid)
    if info is not None:  # the leader runs: the same process only if it started at the recorded time
        return leader.start is None or info[1] == leader.start
    # the leader exited; while members of its group remain the kernel never reuses the id
    return bool(group_members(leader.pid))


def group_members(pgid: int) -> list[int]:
    """The processes of process group ``pgid`` that still run (zombies left out: a PID 1 that does not
    reap leaves them listed after they died)."""
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.getpgid(int(name)) == pgid and (_proc_stat(int(name)) or ("Z",))[0] not in ("Z", "X"):
                    members.append(int(name))
            except OSError:
                continue
    return members


def kill_recorded_groups(folder: Path) -> int:
    """SIGKILLs the process groups recorded in ``folder`` that still run; returns how many."""
    try:
        lines = (folder / GROUPS_FILE).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    killed = 0
    for line in lines:
        leader = Owner.from_text(line)
        if leader is not None and leader.pid > 1 and _group_runs(leader):
            try:
                os.killpg(leader.pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed


def reclaim_dirs(root: Path, prefixes: tuple[str, ...]) -> list[Path]:
    """Removes the folders under ``root`` named ``prefix…`` whose owner is gone, after killing the
    process groups they record; returns the folders removed. Folders without an owner record are
    left alone (being made right now, or not ours)."""
    removed = []
    try:
        entries = [p for p in root.iterdir() if p.name.startswith(prefixes)]
    except OSError:
        return removed
    for path in entries:
        if path.is_symlink() or not path.is_dir():
            continue
        owner = read_owner(path)
        if owner is None or not owner.is_gone():
            continue
        kill_recorded_groups(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
