"""Sandbox images: names, where their Dockerfiles live, and an idempotent, cached build.

    from agentgym.sandboxes.images import build_images
    build_images()          # builds agentgym/python and agentgym/swe; skips up-to-date ones

Each image carries the label `agentgym.content-hash` (Dockerfile + base image id + build
args); a build whose hash matches the existing image is skipped. With no registry, the
base comes from docker/bootstrap-base.sh (debootstrap → `docker import`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import SandboxUnavailableError

DEFAULT_IMAGE = "agentgym/python:latest"
SWE_IMAGE = "agentgym/swe:latest"
LOCAL_BASE_IMAGE = "agentgym/base:bookworm"  # $BASE_TAG overrides it, as in docker/bootstrap-base.sh
PUBLIC_BASE_IMAGE = "python:3.12-slim"
HASH_LABEL = "agentgym.content-hash"


@dataclass(frozen=True)
class ImageSpec:
    tag: str
    dockerfile: str  # relative to the docker/ directory


IMAGES = (ImageSpec(DEFAULT_IMAGE, "python/Dockerfile"), ImageSpec(SWE_IMAGE, "swe/Dockerfile"))


def docker_dir() -> Path:
    """The docker/ directory: $AGENTGYM_DOCKER_DIR, the source checkout, or the copy in the wheel."""
    env = os.environ.get("AGENTGYM_DOCKER_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent / "docker")
    candidates.append(Path(__file__).resolve().parent.parent / "dockerfiles")  # installed: agentgym/dockerfiles
    for path in candidates:
        if (path / "python" / "Dockerfile").is_file():
            return path
    raise SandboxUnavailableError(
        "cannot find the docker/ directory with the sandbox Dockerfiles; run from an agentgym source "
        "checkout or set AGENTGYM_DOCKER_DIR=/path/to/agentgym/docker"
    )


def content_hash(dockerfile: Path, base_id: str, buildargs: dict[str, str]) -> str:
    digest = hashlib.sha256(dockerfile.read_bytes())
    digest.update(base_id.encode())
    for key in sorted(buildargs):
        digest.update(f"{key}={buildargs[key]}".encode())
    return digest.hexdigest()[:16]


def ensure_base(client, base_image: str | None, log=print) -> str:
    """The base image to build on: the given one, the bootstrapped one, or a fresh bootstrap."""
    import docker.errors

    if base_image:
        return base_image
    local_base = os.environ.get("BASE_TAG") or LOCAL_BASE_IMAGE
    try:
        client.images.get(local_base)
        return local_base
    except docker.errors.ImageNotFound:
        pass
    script = docker_dir() / "bootstrap-base.sh"
    if os.geteuid() == 0 and _which("debootstrap"):
        log(f"bootstrapping {local_base} with {script} (debootstrap; about a minute)")
        result = subprocess.run(["bash", str(script)], env={**os.environ, "BASE_TAG": local_base})
        if result.returncode != 0:
            raise SandboxUnavailableError(
                f"{script} failed (exit {result.returncode}); its message is above. Fix that (for a missing "
                "mirror: DEBIAN_MIRROR=<Debian mirror URL>) and rerun `agentgym sandbox build`")
        return local_base
    log(f"no {local_base} and no debootstrap; building FROM {PUBLIC_BASE_IMAGE} (needs a registry)")
    return PUBLIC_BASE_IMAGE


def build_images(base_image: str | None = None, *, only: list[str] | None = None, force: bool = False,
                 network: str = "host", log=print) -> list[str]:
    """Build the sandbox images that are missing or out of date; returns the tags built or kept."""
    from .docker import LABEL, docker_client

    client = docker_client()
    base = ensure_base(client, base_image, log)
    base_id = _image_id(client, base)
    folder = docker_dir()
    done = []
    for spec in IMAGES:
        if only and not any(name in spec.tag for name in only):
            continue
        buildargs = {"BASE_IMAGE": base}
        wanted = content_hash(folder / spec.dockerfile, base_id or base, buildargs)
        if not force and _label(client, spec.tag, HASH_LABEL) == wanted:
            log(f"{spec.tag}: up to date ({wanted})")
            done.append(spec.tag)
            continue
        log(f"{spec.tag}: building from {spec.dockerfile} on {base}")
        try:
            client.images.build(path=str(folder), dockerfile=spec.dockerfile, tag=spec.tag, buildargs=buildargs,
                                labels={HASH_LABEL: wanted, LABEL: "1"}, pull=False, rm=True, forcerm=True,
                                network_mode=network)
        except Exception as exc:
            raise SandboxUnavailableError(f"building {spec.tag} failed: {exc}") from None
        done.append(spec.tag)
    return done


def image_status(client) -> dict[str, str]:
    """tag -> 'present' / 'missing', for the doctor."""
    return {spec.tag: "present" if _image_id(client, spec.tag) else "missing" for spec in IMAGES}


def _image_id(client, tag: str) -> str | None:
    try:
        return client.images.get(tag).id
    except Exception:
        return None


def _label(client, tag: str, key: str) -> str | None:
    try:
        return (client.images.get(tag).labels or {}).get(key)
    except Exception:
        return None


def _which(name: str) -> bool:
    from shutil import which

    return which(name) is not None
