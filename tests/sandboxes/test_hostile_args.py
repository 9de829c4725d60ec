"""No argument kills a sandbox or hangs it: odd timeouts, lone surrogates, NUL, huge inputs, bad modes and sizes.

Each bad value is either clamped (huge timeouts) or refused with a clear SandboxArgumentError /
SandboxPathError before anything reaches the backend; afterwards the same sandbox still works
(for bwrap: the same supervisor, never restarted).
"""

from __future__ import annotations

import math

import pytest

from agentgym.sandboxes import Limits, SandboxArgumentError, SandboxPathError
from agentgym.sandboxes._hostfs import remove_tree
from agentgym.sandboxes.base import MAX_STDIN_BYTES
from agentgym.sandboxes.models import MAX_TIMEOUT

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")


async def _still_works(sandbox) -> None:
    assert (await sandbox.exec("echo alive", timeout=10)).stdout == "alive\n"
    if sandbox.backend == "bwrap":
        assert sandbox.restarts == 0 and sandbox._supervisor.alive, sandbox._supervisor.failure()


@pytest.mark.parametrize("timeout", [1e9, math.inf, 1e308, 10**400, 2**63, MAX_TIMEOUT * 2])
async def test_huge_timeouts_are_clamped_never_fatal(sandbox, timeout):
    r = await sandbox.exec("echo ok", timeout=timeout)
    assert r.ok and r.stdout == "ok\n"
    r = await sandbox.exec("sleep 0.2; echo slow", timeout=timeout)
    assert r.ok and r.stdout == "slow\n"
    await _still_works(sandbox)


@pytest.mark.parametrize("timeout", [0, -1, -math.inf, math.nan, -(10**400), True, "5", [5], object()])
async def test_bad_timeouts_are_refused_never_fatal(sandbox, timeout):
    with pytest.raises(SandboxArgumentError, match="timeout must be a number of seconds > 0"):
        await sandbox.exec("true", timeout=timeout)
    await _still_works(sandbox)


def test_limits_clamp_huge_timeouts_and_refuse_what_the_kernel_cannot_hold():
    assert Limits(timeout=math.inf).timeout == MAX_TIMEOUT
    assert Limits(timeout=1e12).timeout == MAX_TIMEOUT
    for bad in ({"timeout": math.nan}, {"timeout": -math.inf}, {"cpus": math.inf}, {"memory_mb": 10**30},
                {"pids": 2**40}, {"file_size_mb": 2**60}, {"output_bytes": 2**40}, {"cpu_seconds": 10**20}):
        with pytest.raises(ValueError):
            Limits(**bad)


async def test_sandbox_with_infinite_default_timeout_runs(backend):
    from agentgym.sandboxes import make_sandbox

    async with make_sandbox(backend, limits=Limits(timeout=math.inf), allow_local=True) as sb:
        assert (await sb.exec("echo ok")).stdout == "ok\n"
        await _still_works(sb)


LONE = "\ud83d"


@pytest.mark.parametrize("call", [
    lambda sb: sb.exec(f"echo {LONE}"),
    lambda sb: sb.exec(["echo", LONE]),
    lambda sb: sb.exec("true", env={"X": LONE}),
    lambda sb: sb.exec("true", env={f"X{LONE}": "1"}),
    lambda sb: sb.exec("cat", stdin=LONE),
    lambda sb: sb.exec("true", cwd=LONE),
    lambda sb: sb.write_file(f"a{LONE}.txt", "x"),
    lambda sb: sb.write_file("a.txt", f"x{LONE}"),
    lambda sb: sb.read_file(f"a{LONE}.txt"),
    lambda sb: sb.download(f"a{LONE}", "/tmp/agentgym-never-written"),
], ids=["shell", "argv", "env-value", "env-name", "stdin", "cwd", "write-path", "write-data", "read-path",
        "download-path"])
async def test_lone_surrogates_are_refused_clearly(sandbox, call):
    with pytest.raises((SandboxArgumentError, SandboxPathError), match="not valid text"):
        await call(sandbox)
    await _still_works(sandbox)


@pytest.mark.parametrize("call", [
    lambda sb: sb.exec("true", cwd="a\x00b"),
    lambda sb: sb.exec("true", env={"X": "a\x00"}),
    lambda sb: sb.write_file("a\x00b", "x"),
    lambda sb: sb.read_file("a\x00b"),
    lambda sb: sb.upload("/tmp\x00x"),
    lambda sb: sb.download("a.txt", "/tmp/\x00x"),
], ids=["cwd", "env", "write", "read", "upload-source", "download-target"])
async def test_nul_bytes_are_refused_clearly(sandbox, call):
    with pytest.raises((SandboxArgumentError, SandboxPathError), match="NUL"):
        await call(sandbox)
    await _still_works(sandbox)


@pytest.mark.parametrize("call, message", [
    (lambda sb: sb.write_file("a.txt", "x", mode=-1), "mode must be"),
    (lambda sb: sb.write_file("a.txt", "x", mode=0o4755), "mode must be"),
    (lambda sb: sb.write_file("a.txt", "x", mode=1 << 70), "mode must be"),
    (lambda sb: sb.write_file("a.txt", "x", mode="755"), "mode must be"),
    (lambda sb: sb.write_file("a.txt", 12), "must be str or bytes"),
    (lambda sb: sb.read_file("a.txt", max_bytes=-1), "max_bytes must be"),
    (lambda sb: sb.read_file("a.txt", max_bytes=1.5), "max_bytes must be"),
    (lambda sb: sb.read_file(123), "path must be text"),
    (lambda sb: sb.read_file("d/" * 3000 + "f"), "PATH_MAX"),
    (lambda sb: sb.exec("cat", stdin=12), "stdin must be str or bytes"),
    (lambda sb: sb.exec("cat", stdin=b"x" * (MAX_STDIN_BYTES + 1)), "write_file"),
    (lambda sb: sb.exec(["true", *["y" * 100_000] * 200]), "over the"),
    (lambda sb: sb.download("a.txt", 12), "must be a path"),
], ids=["mode-negative", "mode-setuid", "mode-huge", "mode-str", "data-int", "max-negative", "max-float",
        "path-int", "path-too-long", "stdin-int", "stdin-huge", "argv-huge", "download-target-int"])
async def test_out_of_range_arguments_are_refused_clearly(sandbox, call, message):
    await sandbox.write_file("a.txt", "x")
    with pytest.raises((SandboxArgumentError, SandboxPathError), match=message):
        await call(sandbox)
    await _still_works(sandbox)


async def test_read_file_with_zero_max_bytes(sandbox):
    await sandbox.write_file("empty", b"")
    await sandbox.write_file("one", b"1")
    assert await sandbox.read_file("empty", max_bytes=0) == b""
    with pytest.raises(SandboxArgumentError, match="max_bytes=0"):
        await sandbox.read_file("one", max_bytes=0)


async def test_binary_and_invalid_utf8_output_and_files(sandbox):
    blob = bytes(range(256)) * 64
    await sandbox.write_file("blob.bin", blob)
    assert await sandbox.read_file("blob.bin") == blob
    r = await sandbox.exec("cat blob.bin; cat blob.bin >&2")
    assert r.ok and "\ufffd" in r.stdout and "\ufffd" in r.stderr and r.truncated
    r = await sandbox.exec(["cat"], stdin=blob)
    assert r.ok and r.truncated


async def test_nonexistent_cwd_is_a_result_not_an_error(sandbox):
    r = await sandbox.exec("pwd", cwd="no/such/dir")
    assert r.exit_code != 0 and not r.timed_out
    await _still_works(sandbox)


async def test_download_of_a_very_deep_tree_neither_recurses_nor_hangs(sandbox, tmp_path):
    # 1100 levels: past Python's recursion limit, within PATH_MAX (2 bytes per level)
    r = await sandbox.exec("p=deep; i=0; while [ $i -lt 1100 ]; do p=$p/d; i=$((i+1)); done; "
                           "mkdir -p $p && echo bottom > $p/f && echo ok", timeout=60)
    assert r.stdout == "ok\n", r.stderr
    bottom = tmp_path / "out" / "/".join(["d"] * 1100) / "f"
    try:
        await sandbox.download("deep", tmp_path / "out")
        assert bottom.read_text() == "bottom\n"
        await _still_works(sandbox)
    finally:
        remove_tree(tmp_path / "out")  # pytest's own cleanup recurses per level


async def test_download_skips_symlinks_planted_in_the_tree(sandbox, tmp_path):
    await sandbox.exec("mkdir -p tree/sub && echo in > tree/sub/f && ln -s /etc tree/etc && ln -s /etc/passwd tree/pw "
                       "&& ln -s .. tree/sub/up")
    await sandbox.download("tree", tmp_path / "out")
    found = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*"))
    assert found == ["sub", "sub/f"]


@pytest.mark.parametrize("size", [0, -1, True, 2.5, "4", 10**9])
def test_pool_size_out_of_range_is_refused(size):
    from agentgym.sandboxes import SandboxPool, make_sandbox

    with pytest.raises(SandboxArgumentError, match="pool size must be an integer from 1 to"):
        SandboxPool(lambda: make_sandbox("local", allow_local=True), size=size)


async def test_pool_acquire_timeouts_are_checked_or_clamped(tmp_path, monkeypatch):
    from agentgym.sandboxes import SandboxPool, make_sandbox

    monkeypatch.setenv("AGENTGYM_SANDBOX_DIR", str(tmp_path))
    async with SandboxPool(lambda: make_sandbox("local", allow_local=True), size=1) as pool:
        for bad in (0, -1, math.nan, "1", True):
            with pytest.raises(SandboxArgumentError, match="acquire timeout must be"):
                await pool.acquire(bad)
        for huge in (math.inf, 10**400, 1e300):
            sb = await pool.acquire(huge)
            await pool.release(sb)


async def test_upload_skips_fifos_and_sockets_in_a_tree(sandbox, tmp_path):
    import os
    import socket

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f.txt").write_text("kept")
    os.mkfifo(tree / "fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tree / "sock"))
    try:
        await sandbox.upload(tree, "up")
    finally:
        server.close()
    assert await sandbox.read_file("up/sub/f.txt") == b"kept"
    r = await sandbox.exec("ls -A up")
    assert r.stdout.split() == ["sub"]


async def test_exec_timeout_longer_than_the_default_gets_the_cpu_time_to_use_it(backend):
    """RLIMIT_CPU follows each exec's own timeout (was: the default timeout + 2, so SIGXCPU at 3 s here)."""
    if backend == "docker":
        pytest.skip("docker bounds the CPU share (cpus), not CPU seconds")
    from agentgym.sandboxes import make_sandbox

    async with make_sandbox(backend, limits=Limits(timeout=1), allow_local=True) as sb:
        r = await sb.exec(["python3", "-c", "import time\nwhile time.process_time() < 4: pass\nprint('done')"],
                          timeout=120)
        assert r.ok and r.stdout == "done\n", (r.exit_code, r.stderr)
