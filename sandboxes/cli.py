"""`agentgym sandbox build|doctor|prune` — manage sandbox images, check backends, clean leftovers.

    agentgym sandbox build [--base-image IMG] [--only python] [--force]
    agentgym sandbox doctor
    agentgym sandbox prune [--all] [--images]

Also runnable without the top-level CLI: `python -m agentgym.sandboxes.cli doctor`.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `sandbox` and its sub-commands on an argparse subparsers object."""
    parser = subparsers.add_parser("sandbox", help="build sandbox images, check backends, prune leftovers",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="sandbox_command", metavar="{build,doctor,prune}")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    build = sub.add_parser("build", help="build the docker images (idempotent, cached by content hash)")
    build.add_argument("--base-image", default=None,
                       help="base to build FROM (default: agentgym/base:bookworm via docker/bootstrap-base.sh, "
                            "else python:3.12-slim)")
    build.add_argument("--only", action="append", help="build only images whose tag contains this (repeatable)")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.add_argument("--network", default="host", help="network mode for RUN steps (default: host)")
    build.set_defaults(func=_build)

    doctor = sub.add_parser("doctor", help="which backends work here, and how to fix the others")
    doctor.set_defaults(func=_doctor)

    prune = sub.add_parser("prune", help="remove leaked sandbox containers, volumes and directories")
    prune.add_argument("--all", action="store_true", help="also those of running processes")
    prune.add_argument("--images", action="store_true", help="also remove the agentgym images")
    prune.set_defaults(func=_prune)
    return parser


def _build(args) -> int:
    from .errors import SandboxUnavailableError
    from .images import build_images

    try:
        tags = build_images(args.base_image, only=args.only, force=args.force, network=args.network)
    except SandboxUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("ready: " + ", ".join(tags))
    return 0


def _doctor(args) -> int:
    from .factory import bwrap_status, docker_status
    from .images import IMAGES

    statuses = [docker_status(spec.tag) for spec in IMAGES] + [bwrap_status()]
    for status in statuses:
        mark = "ok  " if status.ok else "FAIL"
        print(f"[{mark}] {status.name:<7} {status.detail}")
    print("[warn] local   always available, but runs code WITHOUT isolation (make_sandbox('local', allow_local=True))")
    usable = {s.name for s in statuses if s.ok}
    best = "docker" if "docker" in usable and all(s.ok for s in statuses if s.name == "docker") else \
        "docker (some images)" if "docker" in usable else "bwrap" if "bwrap" in usable else None
    print(f"make_sandbox('auto') -> {best or 'refuses (no isolating backend)'}")
    return 0 if best else 1


def _prune(args) -> int:
    from .cleanup import prune

    removed = prune(everything=args.all, images=args.images)
    for item in removed:
        print(f"removed {item}")
    print(f"{len(removed)} item(s) removed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentgym")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sandbox", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
