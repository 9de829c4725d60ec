"""agentgym.sandboxes — run untrusted, model-written code safely: docker, bubblewrap, local.

    from agentgym.sandboxes import make_sandbox, Limits
    async with make_sandbox("auto", limits=Limits(timeout=10, memory_mb=512)) as sb:
        await sb.write_file("main.py", "print(2)")
        r = await sb.exec("python3 main.py")           # r.exit_code, r.stdout, r.timed_out, ...

Backends: DockerSandbox (containers from docker/, network none), BwrapSandbox (bubblewrap
namespaces over a read-only host), LocalSandbox (no isolation; explicit opt-in).
SandboxPool keeps warm sandboxes; `agentgym sandbox build|doctor|prune` manages images
and leftovers. docs/security.md says what each backend guarantees.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Sandbox
from .errors import (
    SandboxArgumentError, SandboxClosedError, SandboxError, SandboxPathError, SandboxUnavailableError,
)
from .factory import make_sandbox
from .models import TIMEOUT_EXIT_CODE, ExecResult, Limits, SnapshotRef
from .pool import SandboxPool

_LAZY = {
    "DockerSandbox": "agentgym.sandboxes.docker",
    "BwrapSandbox": "agentgym.sandboxes.bwrap",
    "LocalSandbox": "agentgym.sandboxes.local",
    "ShellSession": "agentgym.sandboxes.shell",
    "SyncSandbox": "agentgym.sandboxes.sync",
    "prune": "agentgym.sandboxes.cleanup",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agentgym.sandboxes' has no attribute {name!r}")


__all__ = [
    "Sandbox", "ExecResult", "Limits", "SnapshotRef", "SandboxPool", "make_sandbox", "TIMEOUT_EXIT_CODE",
    "SandboxError", "SandboxUnavailableError", "SandboxPathError", "SandboxArgumentError", "SandboxClosedError",
    *_LAZY,
]
