"""``agentgym serve ENV_ID``: run an env server.

    agentgym serve toy/maze                                   # 127.0.0.1:8000, envs in the server process
    agentgym serve textworld/cooking --workers 2 --max-sessions 256 --ttl 600
    agentgym serve search/kb --host 0.0.0.0 --token "$TOKEN" --env-arg kb_scale=0.25

The token may also come from the environment variable ``AGENTGYM_SERVER_TOKEN``. Bound to an
address other than loopback without a token, the server warns: anyone who reaches the port can
run the env's tools.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any, Sequence

from ..errors import ConfigError
from .protocol import DEFAULT_MAX_MESSAGE_BYTES

TOKEN_ENV = "AGENTGYM_SERVER_TOKEN"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(env_id: str, *, host: str = "127.0.0.1", port: int = 8000, env_args: dict[str, Any] | None = None,
          max_sessions: int = 1024, ttl: float = 300.0, token: str | None = None, workers: int = 0,
          max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, log_level: str = "warning",
          ws_compression: bool = False) -> None:
    """Runs the server until interrupted (see :func:`agentgym.server.create_app`).

    ``ws_compression`` turns on WebSocket permessage-deflate: off by default, since compressing
    every small frame costs the server ~15% of its CPU per step (benchmarks/RESULTS.md, "Env
    server"); turn it on for large observations (web pages) over slow links."""
    import uvicorn

    from ..registry import check_kwargs, spec
    from .app import create_app

    spec(env_id)  # an unknown id fails here, with "did you mean"
    check_kwargs(env_id, {k: v for k, v in (env_args or {}).items() if k != "format"})
    if not token and not is_loopback(host):
        print(f"warning: serving {env_id} on {host}:{port} without a token: anyone who reaches this port can run "
              f"the env's tools; pass --token (or set {TOKEN_ENV})", file=sys.stderr)
    app = create_app(env_id, env_args=env_args, max_sessions=max_sessions, ttl=ttl, token=token, workers=workers,
                     max_message_bytes=max_message_bytes)
    print(f"agentgym: serving {env_id} on http://{host}:{port} (ws://{host}:{port}/ws), "
          f"max {max_sessions} sessions, ttl {ttl:g} s, {workers or 'no'} worker processes", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, ws_max_size=max_message_bytes * 4 + 1024,
                ws_ping_interval=20, ws_ping_timeout=60, ws_per_message_deflate=ws_compression,
                timeout_graceful_shutdown=5, backlog=4096)


def add_parser(sub: Any) -> None:
    from ..cli import _DefaultsHelp, non_negative_int, positive_int, positive_seconds

    p = sub.add_parser("serve", help="serve an environment over HTTP/WebSocket (RemoteEnv, OpenEnv clients)",
                       formatter_class=_DefaultsHelp, description=__doc__.split("\n\n")[0])
    p.add_argument("env_id", help="a registered env id (see `agentgym list`)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    p.add_argument("--port", type=non_negative_int, default=8000, help="port (0: any free port)")
    p.add_argument("--max-sessions", type=positive_int, default=1024, help="sessions held at once; more get 503")
    p.add_argument("--ttl", type=positive_seconds, default=300.0, help="seconds a session lives without traffic")
    p.add_argument("--token", default=None, help=f"bearer token clients must send (default: ${TOKEN_ENV})")
    p.add_argument("--workers", type=non_negative_int, default=0,
                   help="env worker processes (0: envs run in the server process)")
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="env constructor argument, repeatable; VALUE is JSON when it parses as JSON")
    p.add_argument("--max-message-bytes", type=positive_int, default=DEFAULT_MAX_MESSAGE_BYTES,
                   help="largest request or WebSocket message accepted")
    p.add_argument("--ws-compression", action="store_true",
                   help="WebSocket permessage-deflate (for large observations over slow links; costs CPU per step)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..cli import parse_env_args

    if args.port > 65535:
        raise ConfigError(f"--port must be <= 65535, got {args.port}")
    serve(args.env_id, host=args.host, port=args.port, env_args=parse_env_args(args.env_arg),
          max_sessions=args.max_sessions, ttl=args.ttl, token=args.token or os.environ.get(TOKEN_ENV) or None,
          workers=args.workers, max_message_bytes=args.max_message_bytes, log_level=args.log_level,
          ws_compression=args.ws_compression)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agentgym.server``: the same options as ``agentgym serve``."""
    from ..errors import AgentGymError

    parser = argparse.ArgumentParser(prog="python -m agentgym.server")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        return _cmd_serve(args)
    except AgentGymError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["serve", "add_parser", "is_loopback"]
