"""write_file/read_file/upload/download and snapshot/restore/fork, with escapes refused."""

from __future__ import annotations

import os

import pytest

from agentgym.sandboxes import Limits, SandboxArgumentError, SandboxPathError, make_sandbox

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")


async def test_write_read_text_and_binary(sandbox):
    await sandbox.write_file("main.py", "print(2)")
    assert await sandbox.read_file("main.py") == b"print(2)"
    assert (await sandbox.exec("python3 main.py")).stdout == "2\n"
    blob = bytes(range(256)) * 1000
    await sandbox.write_file("deep/er/blob.bin", blob)
    assert await sandbox.read_file(f"{sandbox.workdir}/deep/er/blob.bin") == blob
    assert (await sandbox.exec("wc -c < deep/er/blob.bin")).stdout.strip() == str(len(blob))


async def test_sandbox_can_modify_written_files(sandbox):
    await sandbox.write_file("notes.txt", "v1")
    r = await sandbox.exec("echo v2 > notes.txt && mkdir -p newdir && touch newdir/f")
    assert r.ok, r.stderr
    assert await sandbox.read_file("notes.txt") == b"v2\n"


async def test_executable_mode(sandbox):
    await sandbox.write_file("run.sh", "#!/bin/sh\necho ran\n", mode=0o755)
    assert (await sandbox.exec("./run.sh")).stdout == "ran\n"


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "/workspace/../etc/x",
                                  "bad\x00name", ""])
async def test_bad_paths_are_refused(sandbox, path):
    with pytest.raises(SandboxPathError):
        await sandbox.write_file(path, "x")
    with pytest.raises(SandboxPathError):
        await sandbox.read_file(path)


async def test_missing_file_and_directory_reads(sandbox):
    with pytest.raises(FileNotFoundError):
        await sandbox.read_file("nope.txt")
    await sandbox.exec("mkdir adir")
    with pytest.raises(SandboxPathError):
        await sandbox.read_file("adir")


async def test_huge_file_read_needs_max_bytes(sandbox):
    await sandbox.exec("head -c 300000 /dev/zero > big.bin")
    with pytest.raises(SandboxArgumentError, match="max_bytes"):
        await sandbox.read_file("big.bin", max_bytes=100_000)
    assert len(await sandbox.read_file("big.bin", max_bytes=300_000)) == 300_000


async def test_symlinks_inside_workspace_are_refused_when_escaping(sandbox):
    r = await sandbox.exec("ln -s /etc etc_link && ln -s /etc/hostname host_link && ln -s .. up")
    assert r.ok, r.stderr
    for path in ("etc_link/hostname", "host_link", "up/x"):
        with pytest.raises(SandboxPathError):
            await sandbox.read_file(path)
        with pytest.raises(SandboxPathError):
            await sandbox.write_file(path, "pwned")
    with pytest.raises(SandboxPathError):
        await sandbox.download("etc_link", "/tmp/never-created")
    assert not os.path.exists("/tmp/never-created")


async def test_upload_and_download_trees(sandbox, tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "mod.py").write_text("VALUE = 41\n")
    (src / "top.txt").write_bytes(b"\x00\x01")
    await sandbox.upload(src, "proj")
    r = await sandbox.exec("python3 -c 'import pkg.mod as m; print(m.VALUE + 1)'", cwd="proj")
    assert r.stdout == "42\n", r.stderr
    await sandbox.exec("echo made > proj/pkg/new.txt")
    out = tmp_path / "out"
    await sandbox.download("proj", out)
    assert (out / "pkg" / "new.txt").read_text() == "made\n"
    assert (out / "top.txt").read_bytes() == b"\x00\x01"
    await sandbox.upload(src / "top.txt", "single.bin")
    assert await sandbox.read_file("single.bin") == b"\x00\x01"
    await sandbox.download("single.bin", out / "copy.bin")
    assert (out / "copy.bin").read_bytes() == b"\x00\x01"


async def test_upload_missing_source(sandbox, tmp_path):
    with pytest.raises(SandboxArgumentError, match="does not exist"):
        await sandbox.upload(tmp_path / "missing")


async def test_snapshot_restore(sandbox):
    await sandbox.write_file("a.txt", "original")
    ref = await sandbox.snapshot()
    assert ref.backend == sandbox.backend and ref.size_bytes > 0
    await sandbox.exec("echo changed > a.txt; echo extra > b.txt; mkdir d")
    await sandbox.restore(ref)
    assert await sandbox.read_file("a.txt") == b"original"
    assert (await sandbox.exec("ls")).stdout.split() == ["a.txt"]
    assert (await sandbox.exec("echo writable > a.txt")).ok


async def test_fork_is_independent(sandbox):
    await sandbox.write_file("shared.txt", "v1")
    child = await sandbox.fork()
    try:
        assert child.backend == sandbox.backend and child.id != sandbox.id
        assert await child.read_file("shared.txt") == b"v1"
        await child.write_file("shared.txt", "child")
        assert (await child.exec("echo more >> shared.txt")).ok
        assert await sandbox.read_file("shared.txt") == b"v1"
    finally:
        await child.close()


async def test_restore_refuses_other_backends_and_deleted_snapshots(sandbox):
    other = "local" if sandbox.backend != "local" else "bwrap"
    async with make_sandbox(other, allow_local=True) as foreign:
        ref = await foreign.snapshot()
        with pytest.raises(SandboxArgumentError, match="snapshot"):
            await sandbox.restore(ref)
    child = await sandbox.fork()
    ref = await child.snapshot()
    await child.close()  # its snapshots go with it
    from agentgym.sandboxes import SandboxError

    with pytest.raises(SandboxError, match="no longer exists"):
        await sandbox.restore(ref)


async def test_files_over_file_size_limit_are_refused(backend, tmp_path):
    """write_file/upload refuse a file over Limits.file_size_mb, naming it; nothing lands in the workspace."""
    limit = 1 << 20
    async with make_sandbox(backend, limits=Limits(timeout=10, file_size_mb=1, disk_mb=64), allow_local=True) as sb:
        await sb.write_file("exact.bin", b"x" * limit)  # at the limit: fine
        assert (await sb.exec("stat -c %s exact.bin")).stdout.strip() == str(limit)
        with pytest.raises(SandboxArgumentError, match=r"over Limits\.file_size_mb=1 \(1048576 bytes\)"):
            await sb.write_file("big.bin", b"x" * (limit + 1))
        with pytest.raises(SandboxArgumentError, match="file_size_mb=1"):
            await sb.write_file("big.txt", "y" * (limit + 1))
        src = tmp_path / "src"
        (src / "sub").mkdir(parents=True)
        (src / "a_small.txt").write_text("small")
        (src / "sub" / "huge.bin").write_bytes(b"z" * (limit + 1))
        with pytest.raises(SandboxArgumentError, match=r"huge\.bin.*file_size_mb=1"):
            await sb.upload(src, "proj")
        with pytest.raises(SandboxArgumentError, match="file_size_mb=1"):
            await sb.upload(src / "sub" / "huge.bin", "single.bin")
        listing = await sb.exec("ls -A")
        assert listing.stdout.split() == ["exact.bin"], listing  # refused before anything was copied


def test_host_copy_checks_the_size_while_reading(tmp_path):
    """copy_in bounds what it reads, so a file that grew after upload()'s check is still refused."""
    from agentgym.sandboxes import _hostfs

    (tmp_path / "ws").mkdir()
    (tmp_path / "grown.bin").write_bytes(b"g" * 11)
    with pytest.raises(SandboxArgumentError, match="10-byte file size limit"):
        _hostfs.copy_in(tmp_path / "grown.bin", str(tmp_path / "ws"), "grown.bin", owner=None, max_bytes=10)
    assert list((tmp_path / "ws").iterdir()) == []
    _hostfs.copy_in(tmp_path / "grown.bin", str(tmp_path / "ws"), "ok.bin", owner=None, max_bytes=11)
    assert (tmp_path / "ws" / "ok.bin").read_bytes() == b"g" * 11
