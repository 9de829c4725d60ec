"""`agentgym sandbox prune` removes what a killed SWE run left behind (its containers and workspace volumes)."""

import os
import signal
import subprocess
import sys

from swe_helpers import left_behind

SCRIPT = """
import asyncio, agentgym

async def main():
    env = agentgym.make("swe/tasks", sandbox="docker")
    await env.reset(seed=0)
    twin = await env.fork()          # a second container
    print("ready", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def test_prune_removes_a_killed_runs_containers_and_volumes(docker_backend, tmp_path):
    proc = subprocess.Popen([sys.executable, "-P", "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.poll() is not None else ""
        leftovers = left_behind(proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # no atexit, no close(): everything it made is left behind
        proc.wait(timeout=60)
    assert len(leftovers) >= 4  # two containers and their two workspace volumes
    done = subprocess.run([sys.executable, "-P", "-m", "agentgym.cli", "sandbox", "prune"], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert left_behind(proc.pid) == []
