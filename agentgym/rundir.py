"""Run-directory I/O: ``trajectories.jsonl`` streamed one atomic line per episode, JSON files written atomically.

    writer = TrajectoryWriter(Path("runs/maze/trajectories.jsonl"))
    writer.write(traj)                     # one os.write on an O_APPEND fd, then fsync
    trajs = load_trajectories("runs/maze/trajectories.jsonl")   # schema 1 and 2 files alike
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .types import Trajectory, jsonable


class TrajectoryWriter:
    """Appends one JSON line per trajectory with a single ``write`` on an ``O_APPEND`` fd.

    A line is either whole or absent after a kill; :func:`load_trajectories` drops a torn tail.
    Each line is in the OS's hands once ``write`` returns (a killed run loses nothing); it is also
    flushed to disk (``fsync``) at most every ``fsync_every`` seconds and on ``close`` — against a
    machine crash, without paying an fsync per episode.
    """

    def __init__(self, path: Path, fsync_every: float = 1.0):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.fsync_every = fsync_every
        self._synced = time.monotonic()

    def write(self, traj: Trajectory) -> None:
        """Appends ``traj``; text pydantic cannot encode (lone surrogates) and odd objects in
        ``infos`` are escaped (:func:`agentgym.types.jsonable`), never dropped."""
        self.write_line(trajectory_line(traj))

    def write_line(self, data: bytes) -> None:
        """Appends one ready JSONL record (``trajectory_line``'s bytes, e.g. sent by a worker process)."""
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        now = time.monotonic()
        if now - self._synced >= self.fsync_every:
            os.fsync(self.fd)
            self._synced = now

    def close(self) -> None:
        try:
            os.fsync(self.fd)
        finally:
            os.close(self.fd)


def trajectory_line(traj: Trajectory) -> bytes:
    """One JSONL record of ``traj`` that always encodes and reads back."""
    try:
        return (traj.model_dump_json() + "\n").encode()
    except (ValueError, TypeError):  # PydanticSerializationError is a ValueError
        data = jsonable(traj.model_dump(mode="python"))
        return (json.dumps(data, ensure_ascii=False) + "\n").encode()


def load_trajectories(path: str | Path, *, repair: bool = False, latest: bool = True) -> list[Trajectory]:
    """Reads ``trajectories.jsonl``; a torn last line (killed mid-write) is skipped (and cut when ``repair``).

    The file is append-only: a resumed run appends the episodes it redoes (the errored ones)
    after their failed attempts. With ``latest`` (default) each episode appears once, as its
    last written record, in file order of first appearance; ``latest=False`` returns every line.
    """
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    if repair and raw and not raw.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(raw.rfind(b"\n") + 1)
        raw = raw[: raw.rfind(b"\n") + 1]
    out = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            out.append(Trajectory.model_validate_json(line))
        except ValueError:
            continue
    return latest_per_episode(out) if latest else out


def latest_per_episode(trajectories: list[Trajectory]) -> list[Trajectory]:
    """One record per episode number (its last), in order of first appearance; unnumbered ones kept."""
    last: dict[int, Trajectory] = {t.episode: t for t in trajectories if t.episode is not None}
    seen: set[int] = set()
    out = []
    for t in trajectories:
        if t.episode is None:
            out.append(t)
        elif t.episode not in seen:
            seen.add(t.episode)
            out.append(last[t.episode])
    return out


def atomic_write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


__all__ = ["TrajectoryWriter", "trajectory_line", "load_trajectories", "latest_per_episode", "atomic_write_json"]
