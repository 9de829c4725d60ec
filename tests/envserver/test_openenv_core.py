"""OpenEnv's older package, ``openenv-core``, drives an agentgym server with its own client.

``openenv-core`` and ``openenv`` (agentgym[dev]) both install the ``openenv`` module, so the
older one is installed (without dependencies: the client needs only websockets and pydantic)
into a folder of its own and its client runs in a subprocess with that folder first on
``PYTHONPATH``. Both packages' clients speak the WebSocket ``/ws`` protocol only (checked here
and in test_remote_env.py); neither calls HTTP ``/reset`` or ``/step``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentgym

CLIENT = textwrap.dedent('''
    import asyncio, importlib.metadata, inspect, json, sys
    import openenv
    from openenv.core.env_client import EnvClient
    from openenv.core.generic_client import GenericEnvClient

    url, actions = sys.argv[1], json.loads(sys.argv[2])
    assert openenv.__file__.startswith(sys.argv[3]), openenv.__file__   # the isolated copy, not agentgym[dev]'s

    async def episode():
        out = {"version": importlib.metadata.version("openenv-core"),
               "client_uses_http_reset": "/reset" in inspect.getsource(EnvClient)}
        async with GenericEnvClient(base_url=url) as client:
            first = await client.reset(seed=2)
            out["first"] = {"done": first.done, "text": first.observation["messages"][0]["content"]}
            for action in actions:
                result = await client.step(action)
            out["last"] = {"done": result.done, "reward": result.reward, "success": result.observation["success"]}
            out["state"] = await client.state()
        return out

    out = asyncio.run(episode())
    with GenericEnvClient(base_url=url).sync() as client:   # the sync wrapper
        out["sync_done"] = client.reset(seed=2).done
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def openenv_core(tmp_path_factory) -> Path:
    """A folder holding only ``openenv-core`` (cached per process run in the pytest temp dir)."""
    target = tmp_path_factory.mktemp("openenv-core")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-qq", "--no-deps", "--only-binary=:all:",
                           "--target", str(target), "openenv-core"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pip could not install openenv-core: {proc.stderr[-2000:]}"
    return target


async def test_openenv_core_client_drives_an_agentgym_server(maze_server, openenv_core):
    url, app = maze_server
    env = agentgym.make("toy/maze", size=3)
    await env.reset(seed=2)
    plan = [a.to_openai() for a in await env.oracle()]
    await env.close()
    proc = subprocess.run([sys.executable, "-c", CLIENT, url, json.dumps(plan), str(openenv_core)],
                          env={**os.environ, "PYTHONPATH": str(openenv_core)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["version"].split(".")[0] == "0" and out["client_uses_http_reset"] is False
    assert out["first"]["done"] is False and "maze" in out["first"]["text"]
    assert out["last"] == {"done": True, "reward": 1.0, "success": True}
    assert out["state"]["step_count"] == len(plan)
    assert out["sync_done"] is False
    for _ in range(250):
        if not app.state.manager.sessions:
            break
        await asyncio.sleep(0.02)
    assert app.state.manager.stats()["sessions"] == 0  # both clients' close messages released their sessions
