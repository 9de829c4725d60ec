"""Leftovers of SIGKILLed processes are reclaimed by the next sandbox start; a live owner's never are.

An owner is (pid, start time, boot id, host): a reused pid, a reboot or a zombie means the
owner is gone; another host, or an owner that still runs, means hands off.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentgym.sandboxes import SandboxPool, make_sandbox
from agentgym.owner import OWNER_FILE, STAGING_PREFIX, Owner, _proc_stat, boot_id
from agentgym.sandboxes.cleanup import prune_dirs, prune_docker

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from agentgym.sandboxes import make_sandbox
    async def main():
        sb = make_sandbox(sys.argv[1], allow_local=True)
        await sb.start()
        await sb.snapshot()
        print(sb.id, flush=True)
        await asyncio.sleep(600)
    asyncio.run(main())
""")


def _hold_sandbox(backend: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    """A child process holding a started sandbox (with a snapshot) of `backend`, and the sandbox id."""
    proc = subprocess.Popen([sys.executable, "-W", "ignore", "-c", HOLDER, backend], stdout=subprocess.PIPE, text=True,
                            cwd=cwd)  # not the checkout: its docker/ directory would shadow the docker SDK
    sandbox_id = proc.stdout.readline().strip()
    assert sandbox_id.startswith(backend), f"the holder did not start a sandbox (exit {proc.poll()})"
    return proc, sandbox_id


def _owned_by(root: Path, pid: int) -> list[Path]:
    found = []
    for path in root.iterdir():
        try:
            if json.loads((path / OWNER_FILE).read_text())["pid"] == pid:
                found.append(path)
        except (OSError, ValueError, KeyError):
            pass
    return found


def _docker_things(sandbox_id: str) -> list[str]:
    import docker

    client = docker.from_env()
    try:
        label = {"label": f"agentgym.sandbox={sandbox_id}"}
        return ([f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
                + [f"volume {v.name}" for v in client.volumes.list(filters=label)])
    finally:
        client.close()


async def test_sigkilled_process_leftovers_are_reclaimed_by_the_next_sandbox_start(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_SANDBOX_DIR", str(tmp_path))  # for the children and for this process
    victim, victim_id = _hold_sandbox(backend, tmp_path.parent)
    survivor, survivor_id = _hold_sandbox(backend, tmp_path.parent)
    try:
        os.kill(victim.pid, signal.SIGKILL)  # no close(), no cleanup code runs
        victim.wait()
        leaked = _owned_by(tmp_path, victim.pid)
        kept = _owned_by(tmp_path, survivor.pid)
        assert len(leaked) == (1 if backend == "docker" else 2), leaked  # workspace dir (not docker) + snapshots
        assert len(kept) == len(leaked)
        if backend == "docker":
            assert len(_docker_things(victim_id)) == 2, "the killed process should leave a container and a volume"

        async with make_sandbox(backend, allow_local=True) as sb:  # a plain start, no pool, no prune call
            assert (await sb.exec("echo fresh")).stdout == "fresh\n"

        assert not any(p.exists() for p in leaked), [p.name for p in leaked if p.exists()]
        assert all(p.exists() for p in kept), "a live process's sandbox was reclaimed"
        if backend == "docker":
            assert _docker_things(victim_id) == []
            assert len(_docker_things(survivor_id)) == 2, "a live process's container was reclaimed"
        assert survivor.poll() is None
    finally:
        for proc in (victim, survivor):
            proc.kill()
            proc.wait()
        prune_dirs(root=tmp_path)
        if backend == "docker":
            prune_docker()
    assert list(tmp_path.iterdir()) == []
    if backend == "docker":
        assert _docker_things(survivor_id) == []


async def test_pool_start_reclaims_too(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_SANDBOX_DIR", str(tmp_path))
    victim, _ = _hold_sandbox("local", tmp_path.parent)
    victim.kill()
    victim.wait()
    leaked = _owned_by(tmp_path, victim.pid)
    assert leaked
    async with SandboxPool(lambda: make_sandbox("local", allow_local=True), size=2) as pool:
        assert pool.idle == 2
        assert not any(p.exists() for p in leaked)


async def test_reclaim_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_SANDBOX_DIR", str(tmp_path))
    monkeypatch.setenv("AGENTGYM_SANDBOX_RECLAIM", "0")
    dead = _dead_owner()
    leaked = _owned_dir(tmp_path, "agentgym-local-leaked", dead)
    async with make_sandbox("local", allow_local=True):
        pass
    assert leaked.exists()


# ---- who counts as gone ------------------------------------------------------------------
def _dead_owner() -> Owner:
    proc = subprocess.Popen(["true"])
    start = _proc_stat(proc.pid)
    proc.wait()
    return Owner(proc.pid, start[1] if start else 1, boot_id(), socket.gethostname())


def _owned_dir(root: Path, name: str, owner: Owner | None, *, legacy_pid: int | None = None) -> Path:
    path = root / name
    (path / "workspace").mkdir(parents=True)
    if owner is not None:
        (path / OWNER_FILE).write_text(owner.to_text())
    if legacy_pid is not None:
        (path / "owner.pid").write_text(str(legacy_pid))
    return path


def test_owner_identity_tells_reused_pids_reboots_and_other_hosts_apart(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        live = Owner(sleeper.pid, _proc_stat(sleeper.pid)[1], boot_id(), socket.gethostname())
        reused = Owner(sleeper.pid, live.start - 1, boot_id(), socket.gethostname())  # same pid, older process
        rebooted = Owner(sleeper.pid, live.start, "another-boot", socket.gethostname())
        dead = _dead_owner()
        elsewhere = Owner(dead.pid, dead.start, "another-boot", "some-other-host")
        dirs = {
            "live": _owned_dir(tmp_path, "agentgym-bwrap-live", live),
            "mine": _owned_dir(tmp_path, "agentgym-local-mine", Owner.current()),
            "legacy-live": _owned_dir(tmp_path, "agentgym-bwrap-legacylive", None, legacy_pid=sleeper.pid),
            "elsewhere": _owned_dir(tmp_path, "agentgym-bwrap-elsewhere", elsewhere),
            "being-made": _owned_dir(tmp_path, "agentgym-snap-beingmade", None),  # no owner yet: too young
            "unrelated": _owned_dir(tmp_path, "someone-elses-dir", dead),
            "reused": _owned_dir(tmp_path, "agentgym-bwrap-reused", reused),
            "rebooted": _owned_dir(tmp_path, "agentgym-local-rebooted", rebooted),
            "dead": _owned_dir(tmp_path, "agentgym-snap-dead", dead),
            "legacy-dead": _owned_dir(tmp_path, "agentgym-local-legacydead", None, legacy_pid=dead.pid),
            "half-made": _owned_dir(tmp_path, f"{STAGING_PREFIX}agentgym-bwrap-halfmade", dead),
            "old-unowned": _owned_dir(tmp_path, "agentgym-bwrap-oldunowned", None),
        }
        old = time.time() - 3600
        os.utime(dirs["old-unowned"], (old, old))
        assert not live.is_gone() and not Owner.current().is_gone() and not elsewhere.is_gone()
        assert reused.is_gone() and rebooted.is_gone() and dead.is_gone()
        removed = prune_dirs(root=tmp_path)
        gone = sorted(name for name, path in dirs.items() if not path.exists())
        assert gone == ["dead", "half-made", "legacy-dead", "old-unowned", "rebooted", "reused"]
        assert sorted(removed) == sorted(str(dirs[name]) for name in gone)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_zombie_owner_is_gone():
    child = subprocess.Popen(["true"])
    for _ in range(200):  # exited, not yet reaped: a zombie
        if (_proc_stat(child.pid) or ("?",))[0] == "Z":
            break
        time.sleep(0.01)
    try:
        owner = Owner(child.pid, _proc_stat(child.pid)[1], boot_id(), socket.gethostname())
        assert owner.is_gone()
    finally:
        child.wait()


def test_owner_records_round_trip():
    me = Owner.current()
    assert Owner.from_text(me.to_text()) == me
    assert Owner.from_labels(me.labels()) == me
    assert Owner.from_text("1234") == Owner(1234)
    assert Owner.from_text("garbage") is None and Owner.from_labels({"agentgym.pid": "x"}) is None
    assert me.start is not None and me.boot == boot_id() and me.pid == os.getpid()


async def test_docker_volumes_of_dead_owners_are_reclaimed_and_live_ones_kept(docker_ready):
    import docker

    from agentgym.sandboxes.docker import LABEL

    sleeper = subprocess.Popen(["sleep", "60"])
    client = docker.from_env()
    live = Owner(sleeper.pid, _proc_stat(sleeper.pid)[1], boot_id(), socket.gethostname())
    reused = Owner(sleeper.pid, live.start - 1, boot_id(), socket.gethostname())
    names = {}
    try:
        for what, owner in (("live", live), ("reused", reused), ("dead", _dead_owner())):
            volume = client.volumes.create(name=f"agentgym-test-reclaim-{what}-{os.getpid()}",
                                           labels={LABEL: "1", "agentgym.sandbox": f"test-{what}", **owner.labels()})
            names[what] = volume.name
        async with make_sandbox("docker") as sb:
            await sb.exec("true")
        present = {v.name for v in client.volumes.list(filters={"label": f"{LABEL}=1"})}
        assert names["live"] in present
        assert names["reused"] not in present and names["dead"] not in present
    finally:
        sleeper.kill()
        sleeper.wait()
        for name in names.values():
            try:
                client.volumes.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
        client.close()
