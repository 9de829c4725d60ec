"""Episode databases live in one folder per process: removed at exit, and reclaimed after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentgym.environments.web.server import reclaim_dead_episode_dirs
from agentgym.owner import group_members

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


SERVE_SITE = """
import asyncio, sys
import agentgym
task = {"task_id": "listing", "sites": ["files"], "intent": "Say hi.", "start_url": "__FILES__/",
        "eval": {"eval_types": ["string_match"], "reference_answers": {"exact_match": "hi"}}}
env = agentgym.make("web/tasks", tasks=[task], site="files",
                    start_command=sys.executable + " -m http.server {port} --bind 127.0.0.1")
asyncio.run(env.reset(seed=0))
print(env.procs[0].pid, env._tmp, flush=True)
sys.stdin.read()
"""


def _group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def test_a_killed_processs_site_servers_are_stopped_by_the_next_run():
    """web/tasks starts your site (start_command) in its own session, so a SIGKILL of the run would
    leave it serving forever: the next run's reclaim kills its process group and removes its folder."""
    proc = subprocess.Popen([sys.executable, "-c", SERVE_SITE], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline().split()
        assert len(line) == 2, f"the child did not start its site: {line}"
        pgid, folder = int(line[0]), Path(line[1])
        assert folder.name.startswith(f"agentgym-webtasks-{proc.pid}-") and _group_alive(pgid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _group_alive(pgid), "the site server should outlive the killed run (its own session)"
        assert folder in reclaim_dead_episode_dirs(Path(tempfile.gettempdir()))
        assert not folder.exists()
        for _ in range(100):
            if not _group_alive(pgid):
                break
            time.sleep(0.05)
        assert not _group_alive(pgid), "the killed run's site server still runs"
    finally:
        proc.kill()


def test_a_live_processs_site_servers_are_left_alone_and_stopped_at_its_exit():
    proc = subprocess.Popen([sys.executable, "-c", SERVE_SITE], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                            text=True)
    pgid, folder = proc.stdout.readline().split()
    pgid, folder = int(pgid), Path(folder)
    try:
        assert folder not in reclaim_dead_episode_dirs(Path(tempfile.gettempdir()))
        assert folder.exists() and _group_alive(pgid)
    finally:
        proc.stdin.close()  # the child exits without env.close()
        assert proc.wait(timeout=60) == 0
    alive = _group_alive(pgid)
    if alive:
        os.killpg(pgid, signal.SIGKILL)
    assert not alive, "the site server outlived a run that exited normally"
