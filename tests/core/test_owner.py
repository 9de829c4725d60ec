"""Owner records (agentgym/owner.py): which folders a reclaim may remove and which processes it may kill."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from agentgym.owner import (MARKS_PREFIX, OWNER_FILE, Owner, marked_env, marked_processes, pid_namespace,
                            reclaim_dirs)


def _dead_owner() -> Owner:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Owner(child.pid, 1, None, None)


def _folder(root: Path, name: str, owner: Owner, mode: int = 0o700) -> Path:
    folder = root / name
    folder.mkdir(mode=0o700)
    (folder / OWNER_FILE).write_text(owner.to_text())
    folder.chmod(mode)
    return folder


def _sleeper(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True)


def test_a_dead_owners_folder_goes_with_the_processes_it_marked(tmp_path):
    folder = _folder(tmp_path, "agentgym-t-1", _dead_owner())
    env = marked_env(folder)
    server = _sleeper(env)
    try:
        assert marked_processes({env["AGENTGYM_OWNED_BY"]}) == [server.pid]
        assert reclaim_dirs(tmp_path, ("agentgym-t-",)) == [folder]
        assert server.wait(timeout=10) == -9 and not folder.exists()
    finally:
        server.kill()
        server.wait()


def test_folders_others_could_write_or_a_live_owner_holds_are_left_alone(tmp_path):
    """A record in a shared /tmp is anybody's to plant: a folder writable by others is never trusted,
    so a planted marker never gets a victim killed."""
    planted = _folder(tmp_path, "agentgym-t-planted", _dead_owner(), mode=0o777)
    (planted / f"{MARKS_PREFIX}victim").touch()
    live = _folder(tmp_path, "agentgym-t-live", Owner.current())
    victim = _sleeper({**os.environ, "AGENTGYM_OWNED_BY": "victim"})
    try:
        assert reclaim_dirs(tmp_path, ("agentgym-t-",)) == []
        time.sleep(0.2)
        assert victim.poll() is None and planted.exists() and live.exists()
    finally:
        victim.kill()
        victim.wait()


def test_a_marker_nobody_carries_kills_nothing(tmp_path):
    """Processes are found by the marker in their environment, never by a pid or group id that may be reused."""
    folder = _folder(tmp_path, "agentgym-t-2", _dead_owner())
    (folder / f"{MARKS_PREFIX}0123456789abcdef").touch()
    bystander = _sleeper(dict(os.environ))
    try:
        assert reclaim_dirs(tmp_path, ("agentgym-t-",)) == [folder]
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_an_owner_in_another_pid_namespace_is_never_gone():
    dead = _dead_owner()
    assert Owner(dead.pid, dead.start, None, None, pid_namespace()).is_gone()
    assert not Owner(dead.pid, dead.start, None, None, "pid:[1]").is_gone()  # its pids mean nothing here
    assert Owner.from_text(Owner.current().to_text()) == Owner.current()
