"""make_sandbox: pick a backend by name, or the strongest one that works here ("auto").

    sb = make_sandbox("auto", limits=Limits(timeout=10))    # docker if ready, else bwrap
    sb = make_sandbox("docker", image="agentgym/swe:latest")
    sb = make_sandbox("local", allow_local=True)            # no isolation: explicit only
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from .base import Sandbox
from .errors import SandboxArgumentError, SandboxUnavailableError
from .images import DEFAULT_IMAGE
from .models import Limits

BACKENDS = ("auto", "docker", "bwrap", "local")


@dataclass
class BackendStatus:
    """Whether a backend works on this machine, and if not, why and how to fix it."""

    name: str
    ok: bool
    detail: str


def docker_status(image: str = DEFAULT_IMAGE) -> BackendStatus:
    """Daemon reachable and `image` present? (never pulls)."""
    try:
        from .docker import docker_client

        client = docker_client()
    except SandboxUnavailableError as exc:
        return BackendStatus("docker", False, str(exc))
    try:
        client.images.get(image)
    except Exception:
        return BackendStatus("docker", False, f"daemon OK but image {image!r} is missing; build it with: "
                                              "agentgym sandbox build")
    finally:
        client.close()
    return BackendStatus("docker", True, f"daemon answers, image {image} present")


def bwrap_status() -> BackendStatus:
    """bwrap found and able to create namespaces?"""
    from .bwrap import find_bwrap

    try:
        path = find_bwrap()
    except SandboxUnavailableError as exc:
        return BackendStatus("bwrap", False, str(exc))
    argv = [path, "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    if os.geteuid() != 0:
        argv.insert(1, "--unshare-user")
    try:
        done = subprocess.run([*argv, "true"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return BackendStatus("bwrap", False, f"{path} cannot run: {exc}")
    if done.returncode != 0:
        return BackendStatus("bwrap", False, f"{path} cannot create namespaces: {done.stderr.strip()[:300]}; "
                                             "enable unprivileged user namespaces "
                                             "(sysctl kernel.unprivileged_userns_clone=1) or run as root")
    return BackendStatus("bwrap", True, f"{path} creates namespaces")


def make_sandbox(backend: str = "auto", *, image: str | None = None, limits: Limits | None = None,
                 allow_local: bool = False, **kwargs) -> Sandbox:
    """A new, unstarted sandbox of the named backend ("auto" probes docker, then bwrap).

    Extra keyword arguments (`env`, `network`, `name`, `ro_binds` for bwrap, `user` for docker)
    go to the backend. Raises SandboxUnavailableError saying what is missing and how to fix it.
    """
    if backend not in BACKENDS:
        raise SandboxArgumentError(f"unknown sandbox backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        reasons = []
        for status in (docker_status(image or DEFAULT_IMAGE), bwrap_status()):
            if status.ok:
                backend = status.name
                break
            reasons.append(f"{status.name}: {status.detail}")
        else:
            if not allow_local:
                raise SandboxUnavailableError("no isolating sandbox backend works here:\n  " + "\n  ".join(reasons)
                                              + "\n(LocalSandbox has no isolation; pass allow_local=True to use it)")
            backend = "local"
    if backend == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(image=image or DEFAULT_IMAGE, limits=limits, **kwargs)
    if image is not None:
        raise SandboxArgumentError(f"image= applies to the docker backend only, not {backend!r}")
    if backend == "bwrap":
        from .bwrap import BwrapSandbox

        return BwrapSandbox(limits=limits, **kwargs)
    if not allow_local:
        raise SandboxArgumentError("the local backend runs code WITHOUT isolation; pass allow_local=True "
                                   "to make_sandbox if you really mean it")
    from .local import LocalSandbox

    return LocalSandbox(limits=limits, **kwargs)
