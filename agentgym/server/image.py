"""The env-server image (``docker/server/Dockerfile``), built with no registry and no network in Docker.

    from agentgym.server.image import build_server_image
    tag = build_server_image(extras=["tools"])       # "agentgym/server:latest"; skipped when up to date

    python -m agentgym.server.image --extras textworld --tag agentgym/server:textworld
    docker run -d --network host agentgym/server:latest toy/maze --host 127.0.0.1 --port 8000

The host builds a wheel of this checkout and installs it, with the env's extras, for the base
image's Python and platform (``pip install --target``; wheels only unless the base matches this
interpreter) into the build context; the Dockerfile copies that in. The base is the sandboxes'
registry-less one (``agentgym sandbox build`` bootstraps it) or any local image with python3
(``--base-image``). The image carries a hash of the sources, extras and base: an unchanged
checkout is not rebuilt.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import AgentGymError, MissingDependencyError

SERVER_IMAGE = "agentgym/server:latest"
LOCAL_BASE_IMAGE = "agentgym/base:bookworm"  # docker/bootstrap-base.sh's tag ($BASE_TAG overrides it)
PUBLIC_BASE_IMAGE = "python:3.12-slim"
HASH_LABEL = "agentgym.content-hash"
SOURCES = ("agentgym", "environments", "sandboxes", "trainers", "configs", "docker")
TOP_FILES = ("pyproject.toml", "setup.py", "README.md", "LICENSE")


def source_root() -> Path:
    """The checkout to install (the folder holding pyproject.toml next to this package)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "environments").is_dir():
        from ..errors import ConfigError

        raise ConfigError(f"building the server image needs an agentgym source checkout; {root} is not one")
    return root


def _files(root: Path) -> list[Path]:
    out = [root / f for f in TOP_FILES if (root / f).is_file()]
    for folder in SOURCES:
        out += sorted(p for p in (root / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                      and p.suffix not in (".pyc", ".pyo"))
    return out


def content_hash(root: Path, extras: Sequence[str], base_id: str, python: str) -> str:
    digest = hashlib.sha256(f"{sorted(extras)}|{base_id}|{python}".encode())
    for path in _files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def base_python(client, base: str) -> tuple[str, str, str]:
    """``(python "3.11", glibc "2.36", machine "x86_64")`` inside the base image."""
    out = client.containers.run(base, ["python3", "-c", "import platform, sys; print('%d.%d' % sys.version_info[:2], "
                                       "platform.libc_ver()[1] or '2.17', platform.machine())"],
                                network_mode="none", remove=True)
    py, glibc, machine = out.decode().split()
    return py, glibc, machine


def platform_tags(glibc: str, machine: str) -> list[str]:
    """The manylinux tags a base with this glibc accepts (pip's ``--platform``, repeated)."""
    minor = int(glibc.split(".")[1])
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{machine}" for m, name in legacy.items() if m <= minor]
    return tags + [f"linux_{machine}"]


def _pip() -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "-qq"]  # errors only


def host_compatible(python: str, glibc: str, machine: str) -> bool:
    """True when what this interpreter installs (sdists built here included) runs in the image as is."""
    import platform

    def ver(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split(".")[:2] if x.isdigit())

    here = platform.libc_ver()[1]
    return (python == "%d.%d" % sys.version_info[:2] and machine == platform.machine() and bool(here)
            and ver(glibc) >= ver(here))


def _install(target: Path, spec: str, python: str, glibc: str, machine: str, *, deps: bool) -> None:
    """``pip install --target``: natively when the image matches this interpreter (sdists allowed, e.g.
    textworld's), else wheels only, for the image's Python and platform tags."""
    if host_compatible(python, glibc, machine):
        cross: list[str] = []
    else:
        cross = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
                 *[a for tag in platform_tags(glibc, machine) for a in ("--platform", tag)]]
    subprocess.run([*_pip(), "install", "--target", str(target), *cross, "--no-compile", "--no-warn-conflicts",
                    *([] if deps else ["--no-deps"]), spec], check=True)


def dependencies_dir(root: Path, wheel: Path, extras: Sequence[str], python: str, glibc: str, machine: str,
                     log: Callable[[str], None] = print) -> Path:
    """agentgym's dependencies (with ``extras``) for the image's platform, cached by pyproject.toml + platform."""
    from ..models.tiny import cache_dir

    key = hashlib.sha256(b"|".join([(root / "pyproject.toml").read_bytes(), ",".join(sorted(extras)).encode(),
                                    f"{python}|{glibc}|{machine}".encode()])).hexdigest()[:16]
    prefix = f"deps-{'-'.join(sorted(extras)) or 'core'}-"
    target = cache_dir() / "server-image" / f"{prefix}{key}"
    if target.is_dir():
        return target
    for stale in target.parent.glob(f"{prefix}*") if target.parent.is_dir() else []:
        shutil.rmtree(stale, ignore_errors=True)  # the same extras for an older pyproject.toml
    target.parent.mkdir(parents=True, exist_ok=True)
    spec = f"agentgym[{','.join(extras)}] @ {wheel.as_uri()}" if extras else str(wheel)
    log(f"agentgym server image: installing the dependencies of {spec.split(' @ ')[0]} for Python {python} "
        f"({machine}, glibc {glibc}); cached in {target}")
    tmp = Path(tempfile.mkdtemp(prefix=".deps-", dir=target.parent))
    tmp.chmod(0o755)  # copied into the image as is: the non-root user must read it
    try:
        _install(tmp, spec, python, glibc, machine, deps=True)
        for own in [tmp / "agentgym", *tmp.glob("agentgym-*.dist-info"), tmp / "bin"]:
            shutil.rmtree(own, ignore_errors=True)  # agentgym itself goes in its own layer
        try:
            tmp.rename(target)
        except OSError:  # another build filled the cache meanwhile: use that one
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def prepare_context(ctx: Path, root: Path, extras: Sequence[str], python: str, glibc: str, machine: str,
                    log: Callable[[str], None] = print) -> None:
    """``ctx/Dockerfile``, ``ctx/site`` (the dependencies, cached) and ``ctx/app`` (agentgym itself)."""
    src, wheels = ctx / "src", ctx / "wheels"
    src.mkdir(parents=True)
    for name in TOP_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, src / name)
    for folder in SOURCES:
        shutil.copytree(root / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    log("agentgym server image: building the agentgym wheel")
    subprocess.run([*_pip(), "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)], check=True,
                   cwd=ctx)
    wheel = next(wheels.glob("agentgym-*.whl"))
    deps = dependencies_dir(root, wheel, extras, python, glibc, machine, log)
    shutil.copytree(deps, ctx / "site", symlinks=True)
    (ctx / "site").chmod(0o755)
    _install(ctx / "app", str(wheel), python, glibc, machine, deps=False)
    shutil.rmtree(ctx / "app" / "bin", ignore_errors=True)
    shutil.rmtree(src)
    shutil.rmtree(wheels)
    shutil.copy2(root / "docker" / "server" / "Dockerfile", ctx / "Dockerfile")


class ImageBuildError(AgentGymError):
    """The server image could not be built (no Docker daemon, no base image, pip or docker failed)."""


def _docker() -> Any:
    try:
        import docker
    except ImportError:
        raise MissingDependencyError("docker", "sandbox", "building the env-server image") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception as e:
        raise ImageBuildError(f"the Docker daemon does not answer ({type(e).__name__}: {str(e)[:200]}); start it "
                              "or check DOCKER_HOST") from None


def _image(client: Any, tag: str) -> Any:
    try:
        return client.images.get(tag)
    except Exception:
        return None


def find_base(client: Any, base_image: str | None) -> str:
    """The given base, else the registry-less one ``agentgym sandbox build`` bootstraps ($BASE_TAG)."""
    candidates = [base_image] if base_image else [os.environ.get("BASE_TAG") or LOCAL_BASE_IMAGE, PUBLIC_BASE_IMAGE]
    for name in candidates:
        if _image(client, name) is not None:
            return name
    raise ImageBuildError(f"no base image: {' or '.join(candidates)} is not in the local Docker; run `agentgym sandbox "
                          "build` (it bootstraps the registry-less base) or pass --base-image")


def build_server_image(extras: Sequence[str] = (), *, tag: str = SERVER_IMAGE, base_image: str | None = None,
                       force: bool = False, log: Callable[[str], None] = print) -> str:
    """Builds (or keeps, when up to date) the env-server image for ``extras``; returns its tag."""
    root = source_root()
    client = _docker()
    base = find_base(client, base_image)
    python, glibc, machine = base_python(client, base)
    wanted = content_hash(root, extras, _image(client, base).id, python)
    current = _image(client, tag)
    if not force and current is not None and (current.labels or {}).get(HASH_LABEL) == wanted:
        log(f"{tag}: up to date ({wanted})")
        return tag
    with tempfile.TemporaryDirectory(prefix="agentgym-server-image-") as tmp:
        ctx = Path(tmp)
        try:
            prepare_context(ctx, root, extras, python, glibc, machine, log)
        except subprocess.CalledProcessError as e:
            raise ImageBuildError(f"installing agentgym{list(extras) or ''} for the image failed "
                                  f"(exit {e.returncode}; pip's message is above)") from None
        log(f"{tag}: building on {base}")
        try:
            client.images.build(path=str(ctx), dockerfile="Dockerfile", tag=tag, buildargs={"BASE_IMAGE": base},
                                labels={HASH_LABEL: wanted}, pull=False, rm=True, forcerm=True, network_mode="none")
        except Exception as e:
            raise ImageBuildError(f"building {tag} failed: {e}") from None
    return tag


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentgym.server.image", description=__doc__.split("\n\n")[0])
    parser.add_argument("--extras", default="", help="the env's extras, comma-separated (textworld, tools, web, ...)")
    parser.add_argument("--tag", default=SERVER_IMAGE)
    parser.add_argument("--base-image", default=None, help="default: the sandboxes' registry-less base")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    print(build_server_image(extras, tag=args.tag, base_image=args.base_image, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["build_server_image", "ImageBuildError", "SERVER_IMAGE", "platform_tags"]
