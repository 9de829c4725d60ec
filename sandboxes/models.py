"""Typed values that cross the sandbox boundary: Limits, ExecResult, SnapshotRef."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: exit_code reported when an exec was killed at its timeout (as coreutils `timeout`).
TIMEOUT_EXIT_CODE = 124
#: the longest timeout an exec gets (24 h); larger values, `inf` included, are clamped to it.
MAX_TIMEOUT = 86400.0

Backend = Literal["docker", "bwrap", "local"]


class Limits(BaseModel):
    """Resource limits of one sandbox; every exec runs under them.

        Limits(timeout=10, memory_mb=512, cpus=1.0, pids=64, file_size_mb=64, output_bytes=65536)

    `timeout` is the default wall-clock limit of one exec (seconds; larger than
    MAX_TIMEOUT, `inf` included, means MAX_TIMEOUT). `cpus` is enforced by
    docker only; bwrap and local bound CPU time with RLIMIT_CPU (`cpu_seconds`, default
    derived from the exec timeout). `disk_mb` sizes docker's workspace and /tmp tmpfs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(30.0, description="default wall-clock seconds per exec")
    memory_mb: int = Field(1024, description="address space (bwrap/local) or cgroup memory (docker)")
    cpus: float = Field(1.0, description="CPU share (docker only)")
    pids: int = Field(256, description="max processes/threads")
    file_size_mb: int = Field(256, description="largest file a process may write")
    output_bytes: int = Field(65536, description="stdout and stderr are each capped at this many bytes")
    disk_mb: int = Field(1024, description="size of the docker workspace and /tmp tmpfs")
    cpu_seconds: int | None = Field(None, description="RLIMIT_CPU for bwrap/local; default: each exec's timeout + 2")

    @field_validator("timeout", "cpus")
    @classmethod
    def _positive_float(cls, value: float, info) -> float:
        if not value > 0:
            raise ValueError(f"{info.field_name} must be > 0 (got {value})")
        if info.field_name == "timeout":
            return min(float(value), MAX_TIMEOUT)  # inf means "as long as allowed"
        if value == float("inf"):
            raise ValueError(f"{info.field_name} must be a finite number (got {value})")
        return value

    @field_validator("memory_mb", "pids", "file_size_mb", "output_bytes", "disk_mb", "cpu_seconds")
    @classmethod
    def _positive_int(cls, value: int | None, info) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(f"{info.field_name} must be a positive integer (got {value})")
        cap = _INT_CAPS[info.field_name]
        if value is not None and value > cap:
            raise ValueError(f"{info.field_name} must be at most {cap} (got {value}); larger values do not fit "
                             "the kernel's limits")
        return value


# Largest accepted values: rlimits in bytes must fit 63 bits; pids the kernel's PID_MAX_LIMIT;
# output is held in memory (head + tail per stream).
_INT_CAPS = {"memory_mb": 1 << 40, "file_size_mb": 1 << 40, "disk_mb": 1 << 40, "pids": 1 << 22,
             "output_bytes": 1 << 30, "cpu_seconds": 1 << 40}


class ExecResult(BaseModel):
    """What one command did. Untrusted code failing is a result, never an exception.

    `stdout`/`stderr` are decoded as UTF-8 (invalid bytes become U+FFFD). When either
    stream exceeded `Limits.output_bytes`, its head and tail are kept around a
    `[... N bytes truncated ...]` marker and `truncated` is True. A timed-out exec has
    `timed_out=True` and `exit_code == 124`.
    """

    model_config = ConfigDict(extra="forbid")

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    truncated: bool = False
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0 in time."""
        return self.exit_code == 0 and not self.timed_out

    @property
    def output(self) -> str:
        """stdout followed by stderr, for feeding back to a model."""
        if self.stdout and self.stderr:
            return self.stdout + ("" if self.stdout.endswith("\n") else "\n") + self.stderr
        return self.stdout or self.stderr


class SnapshotRef(BaseModel):
    """A saved copy of a sandbox's workspace; restore it into any sandbox of the same backend.

    Snapshots live on the host (a directory or a tarball at `path`) until the sandbox
    that took them is closed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    backend: Backend
    sandbox_id: str
    path: str
    size_bytes: int = 0
    created_at: float = Field(default_factory=time.time)
