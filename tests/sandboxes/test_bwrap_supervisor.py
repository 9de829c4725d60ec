"""The persistent bwrap sandbox: its supervisor (pid 1), crash recovery, concurrency, timeouts, fallback."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from agentgym.sandboxes import Limits, make_sandbox
from agentgym.sandboxes import _supervisor_client

from agentgym.sandboxes.factory import bwrap_status

pytestmark = pytest.mark.bwrap
SMALL = Limits(timeout=10, memory_mb=512, pids=64, file_size_mb=64, output_bytes=4096)


@functools.cache
def backend_skip_reason(_backend: str) -> str | None:
    status = bwrap_status()
    return None if status.ok else f"bwrap unavailable: {status.detail}"


@pytest.fixture
async def sb():
    reason = backend_skip_reason("bwrap")
    if reason:
        pytest.skip(reason)
    sandbox = make_sandbox("bwrap", limits=SMALL)
    async with sandbox:
        assert sandbox.persistent and sandbox._supervisor.alive, sandbox._supervisor and sandbox._supervisor.failure()
        yield sandbox


async def processes(sandbox) -> str:
    return (await sandbox.exec("ps -eo pid,args", timeout=10)).stdout


async def test_supervisor_is_pid_1_and_survives_kill_attempts(sb):
    r = await sb.exec("cat /proc/1/cmdline | tr '\\0' ' '; kill -9 1; kill -KILL -1; echo done")
    assert "agentgym-supervisor" in r.stdout and r.stdout.endswith("done\n")
    assert (await sb.exec("echo alive")).stdout == "alive\n"
    assert sb.restarts == 0 and sb._supervisor.alive


async def test_supervisor_is_not_readable_by_commands(sb):
    r = await sb.exec("cat /proc/1/environ; ls /proc/1/fd")
    assert r.exit_code != 0 and "Permission denied" in r.stderr


async def test_crash_during_exec_restarts_with_workspace(sb):
    await sb.write_file("kept.txt", "still here\n")
    await sb.exec("echo tmpdata > /tmp/kept")
    pid = sb._supervisor.child_pid
    task = asyncio.create_task(sb.exec("sleep 30"))
    await asyncio.sleep(0.5)
    os.kill(pid, signal.SIGKILL)  # as if the supervisor had crashed
    r = await asyncio.wait_for(task, 15)
    assert r.exit_code == 137 and not r.timed_out and "supervisor died" in r.stderr
    r = await sb.exec("cat kept.txt /tmp/kept")
    assert r.stdout == "still here\ntmpdata\n"
    assert "sleep 30" not in await processes(sb)
    assert sb.restarts == 1 and sb._supervisor.child_pid != pid


async def test_crash_while_idle_is_transparent(sb):
    os.kill(sb._supervisor.child_pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    assert (await sb.exec("echo fine")).stdout == "fine\n"
    assert sb.restarts == 1


async def test_concurrent_execs_run_in_parallel(sb):
    waiter = asyncio.create_task(sb.exec("while [ ! -f flag ]; do sleep 0.05; done; echo saw flag", timeout=10))
    await asyncio.sleep(0.3)
    r = await sb.exec("touch flag && echo set")
    assert r.stdout == "set\n"
    r = await waiter
    assert r.ok and r.stdout == "saw flag\n"


async def test_timeout_of_one_exec_spares_a_concurrent_one(sb):
    slow = asyncio.create_task(sb.exec("sleep 2; echo finished", timeout=10))
    r = await sb.exec("sleep 30", timeout=1)
    assert r.timed_out
    assert (await slow).stdout == "finished\n"


async def test_timeout_kills_session_members_in_other_groups(sb):
    # `set -m` gives each background job its own process group inside the command's session
    r = await sb.exec("set -m; sleep 301 & sleep 302 & sleep 600", timeout=1)
    assert r.timed_out
    assert "sleep 30" not in await processes(sb)


async def test_background_processes_end_with_their_exec(sb):
    r = await sb.exec("sleep 303 & (setsid sleep 304 > /dev/null 2>&1 &); (setsid nohup sleep 305 &); echo started")
    assert r.stdout == "started\n" and r.duration < 5
    assert "sleep 30" not in await processes(sb)


async def test_escaped_process_lives_only_while_another_exec_runs(sb):
    holder = asyncio.create_task(sb.exec("while [ ! -f release ]; do sleep 0.05; done", timeout=30))
    await asyncio.sleep(0.3)
    await sb.exec("setsid sh -c 'touch escaped; exec sleep 306' > /dev/null 2>&1 & "
                  "while [ ! -f escaped ]; do sleep 0.02; done")  # returns once it left the session
    assert "sleep 306" in await processes(sb)  # documented: a setsid escapee waits for the sandbox to go idle
    await sb.exec("touch release")
    assert (await holder).ok
    assert "sleep 306" not in await processes(sb)


async def test_cancelled_exec_kills_its_command(sb):
    task = asyncio.create_task(sb.exec("sleep 307"))
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)
    assert "sleep 307" not in await processes(sb)


async def test_fork_and_memory_bombs_leave_the_supervisor_alive(sb):
    await sb.exec("bomb() { bomb | bomb & }; bomb", timeout=3)
    await sb.exec(["python3", "-c", "x = bytearray(2 * 1024**3)"], timeout=10)
    r = await sb.exec("echo ok; ps -e | wc -l")
    ok, lines = r.stdout.split()
    assert ok == "ok" and int(lines) <= 5  # header, supervisor, sh, ps, wc: no bomb left
    assert sb.restarts == 0


async def test_restore_is_seen_by_the_running_sandbox(sb):
    await sb.write_file("state.txt", "v1")
    ref = await sb.snapshot()
    await sb.exec("echo v2 > state.txt; touch extra")
    await sb.restore(ref)
    r = await sb.exec("cat state.txt; ls")
    assert r.stdout == "v1state.txt\n"
    assert sb._supervisor.alive and sb.restarts == 0


@pytest.mark.parametrize("spawn", ["prlimit", "fork"])
async def test_rlimits_apply_to_every_command(spawn, monkeypatch):
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    from agentgym.sandboxes import bwrap

    if spawn == "fork":  # no prlimit binary: the supervisor forks and sets the limits itself
        monkeypatch.setattr(bwrap, "_prlimit", lambda: None)
    elif bwrap._prlimit() is None:
        pytest.skip("util-linux prlimit is not installed")
    limits = Limits(timeout=10, memory_mb=300, pids=50, file_size_mb=7, cpu_seconds=9)
    async with make_sandbox("bwrap", limits=limits) as sandbox:
        r = await sandbox.exec("ulimit -v; ulimit -f; ulimit -t; ulimit -c; ulimit -Hv; nonexistent-command-x", cwd=".")
        assert r.stdout.split() == [str(300 << 10), str(7 << 11), "9", "0", str(300 << 10)]
        r = await sandbox.exec(["nonexistent-command-x"])
        assert r.exit_code == 127 and "nonexistent-command-x" in r.stderr
        r = await sandbox.exec("pwd", cwd="missing-dir")
        assert r.exit_code == 1 and "chdir" in r.stderr
        if os.geteuid() == 0:
            r = await sandbox.exec("grep 'Max processes' /proc/self/limits")
            assert r.stdout.split()[2:4] == ["50", "50"]


async def test_stdin_argv_and_env_reach_the_command(sb):
    big = "x" * 200_000
    script = "import os,sys; d=sys.stdin.read(); print(len(d), sys.argv[1], os.environ['K'])"
    r = await sb.exec(["python3", "-c", script, "a b"], stdin=big, env={"K": "v"})
    assert r.stdout == "200000 a b v\n"


def test_usable_from_successive_event_loops():
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    sandbox = make_sandbox("bwrap", limits=SMALL)
    try:
        assert asyncio.run(sandbox.exec("echo one")).stdout == "one\n"
        assert asyncio.run(sandbox.exec("echo two")).stdout == "two\n"
        assert sandbox.restarts == 0
    finally:
        asyncio.run(sandbox.close())


async def test_per_exec_mode_on_request():
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    async with make_sandbox("bwrap", limits=SMALL, persistent=False) as sandbox:
        assert sandbox._supervisor is None
        r = await sandbox.exec("cat /proc/1/cmdline | tr '\\0' ' '; echo; echo hi")
        assert "agentgym-supervisor" not in r.stdout and r.stdout.endswith("hi\n")


async def test_falls_back_to_per_exec_when_the_supervisor_cannot_start(monkeypatch, caplog):
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    monkeypatch.setattr(_supervisor_client, "BOOTSTRAP", "import sys; sys.exit('supervisor broke')")
    with caplog.at_level(logging.WARNING, logger="agentgym.sandboxes.bwrap"):
        async with make_sandbox("bwrap", limits=Limits(timeout=10)) as sandbox:
            assert not sandbox.persistent and sandbox._supervisor is None
            assert (await sandbox.exec("echo fallback")).stdout == "fallback\n"
    assert "supervisor broke" in caplog.text


def test_supervisor_refuses_to_run_outside_a_pid_namespace():
    source = _supervisor_client.SOURCE
    done = subprocess.run([sys.executable, "-I", "-S", str(source), "{}"], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "pid is not 1" in done.stderr


def test_replies_larger_than_the_output_cap_are_refused():
    import base64

    def wire(data: bytes, total: int) -> list:
        return [base64.b64encode(data).decode(), "", total]

    ok = {"op": "result", "id": 1, "exit_code": 0, "timed_out": False, "duration": 0.1,
          "stdout": wire(b"x" * 100, 100), "stderr": wire(b"", 0)}
    out, err = _supervisor_client.ExecReply.model_validate(ok).buffers(100)
    assert out.text() == "x" * 100 and not out.truncated and err.text() == ""
    with pytest.raises(ValueError, match="output cap"):
        _supervisor_client.ExecReply.model_validate({**ok, "stdout": wire(b"x" * 101, 101)}).buffers(100)
    with pytest.raises(ValueError, match="output cap"):
        _supervisor_client.ExecReply.model_validate({**ok, "stdout": wire(b"x" * 10, 5)}).buffers(100)


HOST_SCRIPT = """
import asyncio, sys
from agentgym.sandboxes import make_sandbox

async def main():
    sb = make_sandbox("bwrap")
    await sb.start()
    print(sb.id, flush=True)
    await sb.exec("sleep 1000")

asyncio.run(main())
"""


def test_nothing_survives_a_killed_host_process():
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    if os.geteuid() != 0:
        pytest.skip("reading other processes' environment to find strays needs root")
    from agentgym.sandboxes.base import MARKER_ENV, runtime_dir

    host = subprocess.Popen([sys.executable, "-c", HOST_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        sandbox_id = host.stdout.readline().strip()
        assert sandbox_id.startswith("bwrap-")
        needle = f"{MARKER_ENV}={sandbox_id}".encode()

        def strays() -> list[int]:
            found = []
            for entry in os.listdir("/proc"):
                try:
                    with open(f"/proc/{entry}/environ", "rb") as handle:
                        if needle in handle.read():
                            with open(f"/proc/{entry}/stat") as stat:
                                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                                    found.append(int(entry))
                except (OSError, ValueError):
                    pass
            return found

        for _ in range(100):  # wait until the exec is running: supervisor + sleep carry the marker
            if len(strays()) >= 2:
                break
            time.sleep(0.05)
        assert len(strays()) >= 2
    finally:
        host.kill()  # SIGKILL: no close(), no cleanup code runs
        host.wait()
    for _ in range(100):
        if not strays():
            break
        time.sleep(0.05)
    assert not strays()
    from agentgym.sandboxes.cleanup import prune_dirs

    leftover = runtime_dir() / f"agentgym-{sandbox_id}"  # the workspace stays for `agentgym sandbox prune`
    assert str(leftover) in prune_dirs() and not leftover.exists()


@pytest.mark.parametrize("bad", [
    {"timeout": 1e300}, {"timeout": "5"}, {"timeout": -1}, {"argv": ["echo", 5]}, {"argv": []},
    {"argv": ["echo", "a\x00b"]}, {"env": {"X": 1}}, {"cwd": None}, {"cwd": "/no/such/dir"},
    {"stdin": "not base64!"}, {"argv": ["echo", "\udcff\ud83d"]},
], ids=["huge-timeout", "str-timeout", "negative-timeout", "int-arg", "empty-argv", "nul-arg", "int-env",
        "no-cwd", "missing-cwd", "bad-stdin", "surrogates"])
async def test_malformed_requests_never_kill_the_supervisor(sb, bad):
    """Requests the host would never send (it checks first) still get a reply, never a dead pid 1."""
    request = {"argv": ["sh", "-c", "sleep 0.3; echo hi"], "env": {"PATH": "/usr/bin:/bin"}, "cwd": "/workspace", "timeout": 5,
               "stdin": None, **bad}
    reply, out, _err = await sb._supervisor.exec(request, deadline=30)
    assert reply.exit_code in (0, 1, 126) and reply.op == "result"
    assert sb._supervisor.alive
    assert (await sb.exec("echo alive")).stdout == "alive\n"
    assert sb.restarts == 0


@pytest.mark.parametrize("persistent", [True, False])
async def test_host_dirs_under_tmp_stay_visible_behind_the_private_tmp(persistent, tmp_path_factory):
    """A venv cloned under /tmp (CI clones anywhere) must not vanish behind the sandbox's own /tmp:
    the swe tests once ran the system python without pytest because /tmp/clone/.venv was hidden."""
    if backend_skip_reason("bwrap"):
        pytest.skip(backend_skip_reason("bwrap"))
    host = tmp_path_factory.mktemp("ro-under-tmp")
    assert str(host).startswith("/tmp/")
    (host / "tool.py").write_text("print('from the host')\n")
    host.chmod(0o755)  # a clone's .venv is world-readable; pytest's own tmp dirs are not
    async with make_sandbox("bwrap", limits=SMALL, ro_binds=(str(host),), persistent=persistent) as sandbox:
        r = await sandbox.exec(f"python3 {host}/tool.py && touch {host}/x; echo rc=$?; touch /tmp/mine && echo ok")
        assert r.stdout.splitlines()[0] == "from the host", r
        assert "rc=1" in r.stdout and r.stdout.strip().endswith("ok"), r  # read-only there, /tmp still writable
        await sandbox.restore(await sandbox.snapshot())  # a restore empties /tmp but keeps the mount
        r = await sandbox.exec(f"python3 {host}/tool.py; ls /tmp/mine")
        assert r.stdout.strip() == "from the host" and r.exit_code != 0, r
    assert not (host / "x").exists()
