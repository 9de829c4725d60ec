"""The escape battery: untrusted code tries to get out; every attempt ends as a plain ExecResult.

docs/security.md lists what each backend guarantees; these cases are its evidence.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time

import pytest

from agentgym.sandboxes import SandboxError, SandboxPathError

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")

PY_CONNECT = """
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("CONNECTED")
except OSError as e:
    print("refused:", e)
"""


# ---- network ---------------------------------------------------------------------------
async def test_tcp_connect_to_host_loopback_port(isolated):
    sb, _ = isolated
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        port = server.getsockname()[1]
        r = await sb.exec(["python3", "-c", PY_CONNECT, "127.0.0.1", str(port)], timeout=10)
        assert "CONNECTED" not in r.stdout and "refused" in r.stdout
    finally:
        server.close()


async def test_dns_lookup_fails(isolated):
    sb, _ = isolated
    r = await sb.exec(["python3", "-c", "import socket; print(socket.getaddrinfo('example.com', 80))"], timeout=10)
    assert r.exit_code != 0 and "gaierror" in r.stderr


async def test_connect_to_external_address_fails(isolated):
    sb, _ = isolated
    r = await sb.exec(["python3", "-c", PY_CONNECT, "192.0.2.1", "80"], timeout=10)
    assert "CONNECTED" not in r.stdout and "unreachable" in r.stdout.lower()


async def test_only_loopback_interface(isolated):
    sb, _ = isolated
    r = await sb.exec("cat /proc/net/dev")
    interfaces = {line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]}
    assert interfaces <= {"lo"}


# ---- host secrets ----------------------------------------------------------------------
async def test_read_root_home_secret(isolated):
    sb, escapes = isolated
    secret = f"/root/agentgym-secret-{sb.id}"
    with open(secret, "w") as handle:
        handle.write("TOPSECRET")
    try:
        r = await sb.exec(f"cat {secret}; ls -la /root; cat /root/.bash_history")
        assert "TOPSECRET" not in r.stdout
    finally:
        os.unlink(secret)


async def test_read_etc_shadow(isolated):
    sb, _ = isolated
    r = await sb.exec("cat /etc/shadow")
    assert r.exit_code != 0 and "root:" not in r.stdout


async def test_host_environment_is_not_visible(isolated, monkeypatch):
    sb, _ = isolated
    monkeypatch.setenv("AGENTGYM_HOST_SECRET", "hunter2")
    r = await sb.exec("env; cat /proc/1/environ /proc/self/environ 2>/dev/null | tr '\\0' '\\n'")
    assert "hunter2" not in r.stdout


async def test_proc_1_is_not_the_host_init(isolated):
    sb, _ = isolated
    host_init = open("/proc/1/cmdline", "rb").read()
    r = await sb.exec(["python3", "-c", "import os; print(open('/proc/1/cmdline','rb').read()); "
                                        "print(len([p for p in os.listdir('/proc') if p.isdigit()]))"])
    lines = r.stdout.splitlines()
    assert repr(host_init) != lines[0]
    assert int(lines[1]) < 20  # only the sandbox's own processes are visible
    r = await sb.exec("ls /proc/1/root/root/ 2>&1; cat /proc/1/root/etc/shadow 2>&1")
    assert "root:" not in r.stdout


async def test_other_sandboxes_are_invisible(isolated):
    sb, _ = isolated
    from agentgym.sandboxes import make_sandbox

    async with make_sandbox(sb.backend) as other:
        await other.write_file("private.txt", "NEIGHBOUR")
        path = str(getattr(other, "host_workspace", "/workspace"))
        r = await sb.exec(f"cat {path}/private.txt /workspace/private.txt 2>&1; grep -rs NEIGHBOUR /tmp /var /home /workspace | head -1",
                          timeout=30)
        assert "NEIGHBOUR" not in r.stdout


# ---- writes outside the workspace ------------------------------------------------------
async def test_write_outside_workspace(isolated):
    sb, escapes = isolated
    targets = [escapes.target(d) for d in ("/tmp", "/var/tmp", "/root", "/etc", "/usr")]
    r = await sb.exec("; ".join(f"echo x > {t}" for t in targets) + "; mkdir /newdir; touch /usr/bin/evil")
    assert r.exit_code != 0
    assert not os.path.exists("/newdir") and not os.path.exists("/usr/bin/evil")


async def test_dotdot_escape_via_file_api(any_backend):
    sb, escapes = any_backend
    target = escapes.target("/tmp")
    rel = "../" * 12 + target.lstrip("/")
    with pytest.raises(SandboxPathError):
        await sb.write_file(rel, "x")
    with pytest.raises(SandboxPathError):
        await sb.read_file("../../../../etc/passwd")
    with pytest.raises(SandboxPathError):
        await sb.download("../../", "/tmp/agentgym-never")
    assert not os.path.exists("/tmp/agentgym-never")


async def test_symlink_escape_via_file_api(any_backend, tmp_path):
    sb, escapes = any_backend
    target = escapes.target("/tmp")
    r = await sb.exec(f"ln -s {target} planted && ln -s /etc dir_link && ln -s / root_link")
    assert r.ok, r.stderr
    with pytest.raises(SandboxPathError):
        await sb.write_file("planted", "pwned")
    with pytest.raises(SandboxPathError):
        await sb.write_file("dir_link/agentgym-pwned", "pwned")
    with pytest.raises(SandboxPathError):
        await sb.read_file("dir_link/passwd")
    with pytest.raises(SandboxPathError):
        await sb.download("root_link", tmp_path / "dl")
    assert not os.path.exists("/etc/agentgym-pwned")
    await sb.download(".", tmp_path / "all")  # symlinks inside are skipped, never followed
    assert not any(p.is_symlink() for p in (tmp_path / "all").rglob("*"))
    assert not (tmp_path / "all" / "dir_link").exists()


async def test_hardlink_to_host_file(isolated):
    sb, _ = isolated
    r = await sb.exec("ln /etc/passwd hl && echo LINKED")
    assert "LINKED" not in r.stdout


# ---- resource exhaustion ---------------------------------------------------------------
PY_COUNT_PROCS = "len([p for p in __import__('os').listdir('/proc') if p.isdigit()])"

# Samples the sandbox's process count for 4 s, keeping the maximum in ./maxprocs (atomically).
PY_SAMPLER = f"""
import os, time
end, top = time.monotonic() + 4, 0
while time.monotonic() < end:
    top = max(top, {PY_COUNT_PROCS})
    with open("maxprocs.tmp", "w") as handle:
        handle.write(str(top))
    os.replace("maxprocs.tmp", "maxprocs")
    time.sleep(0.02)
"""

# Forks children that wait on a pipe until fork fails; prints: forked, errno name, processes visible.
PY_FORK_UNTIL_REFUSED = f"""
import errno, os
r, w = os.pipe()
forked, failure = 0, None
while forked < 1000:
    try:
        pid = os.fork()
    except OSError as exc:
        failure = errno.errorcode.get(exc.errno, str(exc.errno))
        break
    if pid == 0:
        os.close(w); os.read(r, 1); os._exit(0)
    forked += 1
print(forked, failure, {PY_COUNT_PROCS})
"""


def _skip_without_pids_limit(sb) -> None:
    if sb.backend == "bwrap" and os.geteuid() != 0:  # docs/security.md: RLIMIT_NPROC is set as root only
        pytest.skip("bwrap bounds processes only when run as root")


async def test_fork_bomb(isolated):
    sb, _ = isolated
    _skip_without_pids_limit(sb)
    started = time.monotonic()
    # The sampler is the exec's main process (bwrap ends the session when that exits), started without a fork.
    r = await sb.exec(["/bin/sh", "-c", 'bomb() { bomb | bomb & }; bomb; exec python3 -c "$1"', "sh", PY_SAMPLER],
                      timeout=5)
    assert time.monotonic() - started < 20
    assert "Cannot fork" in r.stderr or "Resource temporarily unavailable" in r.stderr, r.stderr[-500:]
    # The sandbox recovers: the bomb's processes are killed and reaped within moments (until then a new
    # command may itself hit the process limit, so poll for a few seconds).
    survived, sampled = None, None
    for _ in range(50):
        try:
            survived = await sb.exec("echo survived", timeout=10)
            sampled = await sb.read_file("maxprocs")
            if survived.stdout == "survived\n":
                break
        except SandboxError:
            pass
        await asyncio.sleep(0.2)
    assert survived is not None and survived.stdout == "survived\n" and sampled is not None, survived
    top = int(sampled)  # the sampled peak of processes visible in the sandbox
    # A /proc scan is not atomic (processes exit and new ones start while it reads), and bwrap's RLIMIT_NPROC
    # is checked fork by fork without a global lock: a small overshoot of the sampled count is expected under
    # load (73 for 64 seen once), while an unbounded bomb reaches thousands within the timeout.
    assert top <= sb.limits.pids + 24, f"{top} processes ran at once; the limit is {sb.limits.pids}"


async def test_pids_limit_refuses_fork(isolated):
    sb, _ = isolated
    _skip_without_pids_limit(sb)
    r = await sb.exec(["python3", "-c", PY_FORK_UNTIL_REFUSED], timeout=30)
    forked, failure, visible = r.stdout.split()
    assert failure == "EAGAIN", r  # "Resource temporarily unavailable": the process limit, not memory
    assert int(forked) < sb.limits.pids and int(visible) <= sb.limits.pids
    assert int(forked) >= sb.limits.pids - 8  # the configured limit stopped it, not some lower one


async def test_memory_bomb(any_backend):
    sb, _ = any_backend
    r = await sb.exec(["python3", "-c", "x = bytearray(2 * 1024**3); print('ALLOCATED')"], timeout=20)
    assert r.exit_code != 0 and "ALLOCATED" not in r.stdout and not r.timed_out


async def test_disk_fill(any_backend):
    sb, _ = any_backend
    r = await sb.exec("dd if=/dev/zero of=big bs=1M count=500 2>&1; ls -l big", timeout=30)
    assert r.exit_code != 0 or "File size limit" in r.stdout
    size = int((await sb.exec("stat -c %s big")).stdout)
    assert size <= 64 * 1024 * 1024


async def test_endless_stdout(any_backend):
    sb, _ = any_backend
    r = await sb.exec("yes", timeout=2)
    assert r.timed_out and r.truncated
    assert len(r.stdout) < 8192 + 200


async def test_sleep_forever(any_backend):
    sb, _ = any_backend
    started = time.monotonic()
    r = await sb.exec("sleep infinity", timeout=1)
    assert r.timed_out and time.monotonic() - started < 5


async def test_background_process_does_not_survive_close(isolated):
    sb, _ = isolated
    r = await sb.exec("(setsid sleep 1000 >/dev/null 2>&1 &); (nohup sleep 1001 >/dev/null 2>&1 &); echo spawned")
    assert r.stdout == "spawned\n"
    # host_leftovers() in the fixture asserts that nothing of this sandbox runs after close()


async def test_timeout_kills_the_whole_tree(isolated):
    sb, _ = isolated
    r = await sb.exec("sleep 500 & sleep 501 & (setsid sleep 502 &) ; sleep 600", timeout=1)
    assert r.timed_out
    await asyncio.sleep(0.3)
    r = await sb.exec("ps -eo args 2>/dev/null || ls /proc", timeout=10)
    assert "sleep 50" not in r.stdout


# ---- privileges and signals ------------------------------------------------------------
async def test_signal_to_host_process(isolated):
    sb, _ = isolated
    victim = subprocess.Popen(["sleep", "60"])
    try:
        r = await sb.exec(f"kill -9 {victim.pid}; kill -9 1; kill -9 -1; echo done")
        assert victim.poll() is None, "the sandbox killed a host process"
    finally:
        victim.kill()
        victim.wait()


async def test_no_root_no_capabilities(isolated):
    sb, _ = isolated
    r = await sb.exec("id -u; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; grep NoNewPrivs /proc/self/status")
    lines = r.stdout.split()
    assert lines[0] != "0" and int(lines[0]) > 0
    assert lines[-2:] == ["NoNewPrivs:", "1"]
    assert "0000000000000000" in r.stdout and "CapEff:\t0000000000000000" in r.stdout
    r = await sb.exec(["python3", "-c", "import os; os.setuid(0)"])
    assert r.exit_code != 0 and "PermissionError" in r.stderr


async def test_setuid_binary_does_not_elevate(isolated):
    sb, _ = isolated
    r = await sb.exec("cp /bin/sh ./rootsh && chmod u+s ./rootsh; ./rootsh -c 'id -u'; "
                      "su -c id root </dev/null 2>&1; mount -t tmpfs none /mnt 2>&1; echo end")
    assert r.stdout.splitlines()[0] != "0"
    assert "uid=0" not in r.stdout


async def test_one_megabyte_argv(any_backend):
    sb, _ = any_backend
    many = await sb.exec(["python3", "-c", "import sys; print(len(''.join(sys.argv[1:])))", *["y" * 1000] * 1000])
    assert many.stdout.strip() == "1000000"
    huge = await sb.exec(["echo", "x" * 1_000_000], timeout=10)
    assert huge.exit_code != 0 and "argument list too long" in huge.stderr.lower()
