"""Errors raised by agentgym sandboxes.

    AgentGymError
    └── SandboxError                 anything a sandbox refuses or cannot do
        ├── SandboxUnavailableError  backend missing: no daemon, no image, no bwrap (says how to fix)
        ├── SandboxPathError         a path escapes the workspace, contains NUL, or is not a regular file
        ├── SandboxArgumentError     a bad argument: timeout <= 0, bad limits (also a ValueError)
        └── SandboxClosedError       the sandbox was used after close()

What untrusted code does inside a sandbox (crash, time out, print forever) is never an
exception: it comes back as an ExecResult.
"""

from __future__ import annotations

from agentgym.errors import AgentGymError


class SandboxError(AgentGymError):
    """Base class of every error a sandbox raises on purpose."""


class SandboxUnavailableError(SandboxError):
    """The backend cannot run here; the message names the command that fixes it."""


class SandboxPathError(SandboxError, ValueError):
    """A workspace path was refused (escape via `..` or a symlink, NUL byte, wrong type)."""


class SandboxArgumentError(SandboxError, ValueError):
    """An argument is out of range (timeout <= 0, negative limits, ...)."""


class SandboxClosedError(SandboxError):
    """The sandbox was closed; create a new one (or fork before closing)."""
