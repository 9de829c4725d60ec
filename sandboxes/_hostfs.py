"""Workspace file operations on a host directory that untrusted code can also modify.

Every path is walked one component at a time with O_NOFOLLOW relative to the workspace
directory's file descriptor, so a symlink or `..` planted by sandboxed code can never
make the host read or write outside the workspace. Used by the bwrap and local backends.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import subprocess
from pathlib import Path

from .errors import SandboxArgumentError, SandboxPathError

MAX_PATH_BYTES = 4096
MAX_TREE_DEPTH = 2048  # directory levels download() copies (a path walk per level; no recursion)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str | os.PathLike) -> None:
    """rm -rf `path` (never following symlinks), however deep the sandbox nested it; errors ignored.

    shutil.rmtree recurses per level (Python < 3.12) and fails past ~1000 levels, which
    a sandbox can build in a second; coreutils `rm` walks any depth.
    """
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", os.fspath(path)], capture_output=True)
    if os.path.lexists(path):  # rmtree gave up on part of it (deep): rm finishes the job
        subprocess.run(["rm", "-rf", "--one-file-system", "--", os.fspath(path)], capture_output=True)


def normalize(path: str | os.PathLike, workdir: str) -> str:
    """Turn a user path into a workspace-relative POSIX path ("" is the workspace itself).

    Accepts relative paths and absolute paths under `workdir`; refuses NUL bytes and
    anything that resolves above the workspace.

        normalize("src/../main.py", "/workspace") == "main.py"
    """
    try:
        text = os.fspath(path)
    except TypeError:
        raise SandboxPathError(f"path must be text, got {type(path).__name__}") from None
    if not isinstance(text, str):
        raise SandboxPathError(f"path must be text, got {type(text).__name__}")
    if "\x00" in text:
        raise SandboxPathError(f"path {text!r:.200} contains a NUL byte; remove it")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise SandboxPathError(f"path {text!r:.200} is not valid text: a lone surrogate at index {exc.start} "
                               "(invalid UTF-8?); use a proper Unicode name") from None
    if size > MAX_PATH_BYTES:
        raise SandboxPathError(f"path is {size} bytes long, over the {MAX_PATH_BYTES}-byte limit (PATH_MAX)")
    if text.strip() == "":
        raise SandboxPathError("path is empty; pass a file name relative to the workspace")
    if posixpath.isabs(text):
        rel = posixpath.relpath(posixpath.normpath(text), workdir)
    else:
        rel = posixpath.normpath(text)
    if rel == "." or rel == "":
        return ""
    if rel == ".." or rel.startswith("../") or posixpath.isabs(rel):
        raise SandboxPathError(
            f"path {text!r} is outside the workspace {workdir}; use a path relative to it (no leading '..')"
        )
    return rel


def _refuse(path: str, exc: OSError) -> SandboxPathError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return SandboxPathError(f"{path!r} goes through a symlink or a non-directory; symlinks are not followed")
    return SandboxPathError(f"{path!r}: {exc.strerror}")


def _open_parent(root: str, rel: str, *, create: bool, owner: tuple[int, int] | None) -> int:
    """An fd of the directory that holds `rel` (creating missing directories if asked)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in rel.split("/")[:-1]:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                if owner is not None:
                    os.chown(part, *owner, dir_fd=fd, follow_symlinks=False)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_bytes(root: str, rel: str, *, max_bytes: int) -> bytes:
    """Contents of the regular file `rel` under `root`, refusing symlinks, FIFOs and huge files."""
    if rel == "":
        raise SandboxPathError("the workspace is a directory; read a file inside it (or use download())")
    try:
        parent = _open_parent(root, rel, create=False, owner=None)
        try:
            fd = os.open(posixpath.basename(rel), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=parent)
        finally:
            os.close(parent)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no such file in the sandbox workspace: {rel!r}") from None
    except OSError as exc:
        raise _refuse(rel, exc) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SandboxPathError(f"{rel!r} is not a regular file; read_file reads files only")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise SandboxArgumentError(
                f"{rel!r} is {info.st_size} bytes, over max_bytes={max_bytes}; pass a larger max_bytes or use download()"
            )
        chunks, size = [], 0
        while size <= max_bytes and (chunk := handle.read(min(1 << 20, max_bytes + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:
        raise SandboxArgumentError(f"{rel!r} grew past max_bytes={max_bytes} while being read")
    return data


def write_bytes(root: str, rel: str, data: bytes, *, mode: int = 0o644, owner: tuple[int, int] | None = None) -> None:
    """Write `data` to `rel` under `root`, creating parent directories, never through a symlink."""
    if rel == "":
        raise SandboxPathError("cannot write to the workspace directory itself; name a file inside it")
    try:
        parent = _open_parent(root, rel, create=True, owner=owner)
        try:
            name = posixpath.basename(rel)
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         mode, dir_fd=parent)
        finally:
            os.close(parent)
    except OSError as exc:
        raise _refuse(rel, exc) from None
    with os.fdopen(fd, "wb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SandboxPathError(f"{rel!r} is not a regular file; refusing to write")
        if owner is not None:
            os.fchown(handle.fileno(), *owner)
        handle.write(data)


def lstat(root: str, rel: str) -> os.stat_result:
    """lstat of `rel` (the workspace itself for ""), refusing symlinked parents."""
    if rel == "":
        return os.lstat(root)
    try:
        parent = _open_parent(root, rel, create=False, owner=None)
        try:
            return os.lstat(posixpath.basename(rel), dir_fd=parent)
        finally:
            os.close(parent)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no such path in the sandbox workspace: {rel!r}") from None
    except OSError as exc:
        raise _refuse(rel, exc) from None


def copy_out(root: str, rel: str, local: Path, *, max_bytes: int) -> None:
    """Copy a file or directory tree from the workspace to the host, skipping symlinks and special files.

    Iterative, so any nesting the sandbox can build is copied without recursion; trees
    deeper than MAX_TREE_DEPTH levels are refused.
    """
    info = lstat(root, rel)
    if stat.S_ISLNK(info.st_mode):
        raise SandboxPathError(f"{rel!r} is a symlink; download() does not follow symlinks")
    if stat.S_ISREG(info.st_mode):
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(read_bytes(root, rel, max_bytes=max_bytes))
        return
    if not stat.S_ISDIR(info.st_mode):
        raise SandboxPathError(f"{rel!r} is neither a file nor a directory")
    pending = [(rel, local, 0)]
    while pending:
        current, target, depth = pending.pop()
        if depth > MAX_TREE_DEPTH:
            raise SandboxPathError(f"{rel!r} nests directories deeper than {MAX_TREE_DEPTH} levels; "
                                   "download a subdirectory or archive it in the sandbox first")
        target.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, _DIR_FLAGS) if current == "" else _open_dir(root, current)
        try:
            for name in os.listdir(fd):
                try:
                    mode = os.lstat(name, dir_fd=fd).st_mode
                except FileNotFoundError:  # removed meanwhile by the sandbox
                    continue
                child = f"{current}/{name}" if current else name
                if stat.S_ISDIR(mode):
                    pending.append((child, target / name, depth + 1))
                elif stat.S_ISREG(mode):
                    _copy_at(fd, name, child, target / name, max_bytes)
        finally:
            os.close(fd)


def _copy_at(dir_fd: int, name: str, rel: str, target: Path, max_bytes: int) -> None:
    """Stream a regular file, opened relative to its directory's fd without following symlinks, to `target`."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        raise _refuse(rel, exc) from None
    with os.fdopen(fd, "rb") as handle, open(target, "wb") as out:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SandboxPathError(f"{rel!r} changed into a non-file while being copied")
        size = 0
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise SandboxArgumentError(f"{rel!r} is over max_bytes={max_bytes}")
            out.write(chunk)


def _open_dir(root: str, rel: str) -> int:
    parent = _open_parent(root, rel, create=False, owner=None)
    try:
        return os.open(posixpath.basename(rel), _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        raise _refuse(rel, exc) from None
    finally:
        os.close(parent)


def copy_in(local: Path, root: str, rel: str, *, owner: tuple[int, int] | None, max_bytes: int | None = None) -> None:
    """Copy a host file or directory into the workspace (regular files and directories only).

    A file over `max_bytes` (checked while reading, so one that grows meanwhile too) is refused.
    """
    if local.is_symlink():
        return
    if local.is_file():
        with open(local, "rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            raise SandboxArgumentError(f"upload of {str(local)!r}: over the {max_bytes}-byte file size limit "
                                       "(Limits.file_size_mb); raise it or send a smaller file")
        write_bytes(root, rel, data, mode=local.stat().st_mode & 0o777, owner=owner)
        return
    if not local.is_dir():
        raise SandboxPathError(f"{str(local)!r} is not a file or directory on the host")
    for child in sorted(local.iterdir()):
        target = f"{rel}/{child.name}" if rel else child.name
        if child.is_symlink() or not (child.is_dir() or child.is_file()):
            continue  # symlinks, FIFOs, sockets and devices in a tree are skipped, as docker's upload does
        if child.is_dir():
            write_dir(root, target, owner=owner)
        copy_in(child, root, target, owner=owner, max_bytes=max_bytes)


def write_dir(root: str, rel: str, *, owner: tuple[int, int] | None) -> None:
    """mkdir -p `rel` inside the workspace without following symlinks."""
    if rel == "":
        return
    fd = _open_parent(root, rel + "/x", create=True, owner=owner)
    os.close(fd)
