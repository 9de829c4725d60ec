"""write_file/read_file/upload/download and snapshot/restore/fork, with escapes refused."""

from __future__ import annotations

import os

import pytest

from agentgym.sandboxes import SandboxArgumentError, SandboxPathError, make_sandbox

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
