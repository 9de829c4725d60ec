"""Episode databases live in one folder per process: removed at exit, and reclaimed after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from agentgym.environments.web.server import reclaim_dead_episode_dirs

MAKE_DIR = """
import sys
from agentgym.environments.web.server import site_host
host = site_host()
token, path = host.new_episode_db("shop")
print(path.parent, flush=True)
if sys.argv[1] == "hang":
    sys.stdin.read()
"""


def _child(mode: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", MAKE_DIR, mode], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                            text=True)
    folder = Path(proc.stdout.readline().strip())
    assert folder.name.startswith(f"agentgym-web-{proc.pid}-")
    assert mode == "exit" or any(folder.glob("shop-*.sqlite"))  # an exiting child may already be gone
    return proc, folder


def test_the_folder_is_removed_when_the_process_exits():
    proc, folder = _child("exit")
    assert proc.wait(timeout=60) == 0
    assert not folder.exists()


def test_a_killed_processs_folder_is_reclaimed_and_a_live_ones_kept():
    killed, dead_folder = _child("hang")
    live, live_folder = _child("hang")
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert dead_folder.exists()  # nothing ran at exit
        removed = reclaim_dead_episode_dirs(Path(tempfile.gettempdir()))
        assert dead_folder in removed and not dead_folder.exists()
        assert live_folder.exists() and live_folder not in removed
    finally:
        live.stdin.close()
        live.wait(timeout=60)
    assert not live_folder.exists()
