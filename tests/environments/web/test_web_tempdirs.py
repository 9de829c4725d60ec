"""Episode databases live in one folder per process: removed at exit, and reclaimed after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import agentgym
from agentgym.environments.web.server import reclaim_dead_episode_dirs
from agentgym.owner import marked_processes

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


TASK = {"task_id": "listing", "sites": ["files"], "intent": "Say hi.", "start_url": "__FILES__/",
        "eval": {"eval_types": ["string_match"], "reference_answers": {"exact_match": "hi"}}}
SERVE_SITE = f"""
import asyncio, sys
import agentgym
env = agentgym.make("web/tasks", tasks=[{TASK!r}], site="files",
                    start_command=sys.executable + " -m http.server {{port}} --bind 127.0.0.1")
asyncio.run(env.reset(seed=0))
print(env.procs[0][2], env._tmp, flush=True)
sys.stdin.read()
"""


def _serving(marker: str) -> list[int]:
    return marked_processes({marker})


def _start_child() -> tuple[subprocess.Popen, str, Path]:
    proc = subprocess.Popen([sys.executable, "-c", SERVE_SITE], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().split()
    assert len(line) == 2, f"the child did not start its site: {line}"
    return proc, line[0], Path(line[1])


def _kill_leftovers(marker: str) -> None:
    for pid in _serving(marker):
        os.kill(pid, signal.SIGKILL)


def test_a_killed_processs_site_servers_are_stopped_by_the_next_run():
    """web/tasks starts your site (start_command) in its own session, so a SIGKILL of the run would
    leave it serving forever: the next run's reclaim kills what carries its marker and removes its folder."""
    proc, marker, folder = _start_child()
    try:
        assert folder.name.startswith(f"agentgym-webtasks-{proc.pid}-") and _serving(marker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _serving(marker), "the site server should outlive the killed run (its own session)"
        assert folder in reclaim_dead_episode_dirs(Path(tempfile.gettempdir()))
        assert not folder.exists()
        for _ in range(100):
            if not _serving(marker):
                break
            time.sleep(0.05)
        assert not _serving(marker), "the killed run's site server still runs"
    finally:
        proc.kill()
        _kill_leftovers(marker)


def test_a_live_processs_site_servers_are_left_alone_and_stopped_at_its_exit():
    proc, marker, folder = _start_child()
    try:
        assert folder not in reclaim_dead_episode_dirs(Path(tempfile.gettempdir()))
        assert folder.exists() and _serving(marker)
        proc.stdin.close()  # the child exits without env.close()
        assert proc.wait(timeout=60) == 0
        assert not _serving(marker), "the site server outlived a run that exited normally"
    finally:
        proc.kill()
        _kill_leftovers(marker)


async def test_a_server_that_leaves_its_shell_is_stopped_at_close():
    """A start_command that backgrounds its server (the shell exits, the server lives on in no process
    group agentgym started) is stopped too: every process carrying the server's marker is."""
    env = agentgym.make("web/tasks", tasks=[TASK], site="files",
                        start_command=f"({sys.executable} -m http.server {{port}} --bind 127.0.0.1 &); sleep 1")
    await env.reset(seed=0)
    shell, folder, marker = env.procs[0]
    try:
        shell.wait(timeout=30)  # the shell is gone; its server is not
        assert _serving(marker)
        await env.close()
        assert not _serving(marker) and not folder.exists()
    finally:
        _kill_leftovers(marker)


async def test_a_server_that_drops_its_marker_is_stopped_at_close_through_its_process_group():
    """setproctitle (postgres, nginx, gunicorn) overwrites the environment and with it the marker; the
    server still belongs to the process group of the shell agentgym started."""
    env = agentgym.make("web/tasks", tasks=[TASK], site="files",
                        start_command=f"env -u AGENTGYM_OWNED_BY {sys.executable} -m http.server {{port}} "
                                      "--bind 127.0.0.1")
    await env.reset(seed=0)
    shell, folder, marker = env.procs[0]
    members = marked_processes(set(), group=shell.pid)
    unmarked = set(members) - set(_serving(marker))  # the server: in the shell's group, without the marker
    try:
        assert unmarked, (members, _serving(marker))
        await env.close()
        assert shell.returncode is not None and not folder.exists()
        assert not any(Path(f"/proc/{pid}").exists() and pid in marked_processes(set(), group=shell.pid)
                       for pid in unmarked)
    finally:
        for pid in unmarked:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
