"""``agentgym report`` and ``agentgym view`` (registered from :mod:`agentgym.cli`).

    agentgym report runs/maze-gpt -o report.html          # one self-contained page
    agentgym report runs/maze-a runs/maze-b -o compare.html
    agentgym view runs/maze-gpt runs/maze-oracle          # serves it on 127.0.0.1, prints the URL
"""

from __future__ import annotations

import argparse
import sys


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("report", help="write an HTML report of run directories (self-contained, offline)",
                              description="Writes one self-contained HTML page (summary, learning curves, "
                                          "trajectory browser, A-vs-B comparison) from eval/train run directories.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (two or more: compared)")
    p.add_argument("-o", "--out", help="output HTML file (default: RUN_DIR/report.html of the first run)")
    p.add_argument("--title", help="page title")
    p.set_defaults(func=_cmd_report)

    p = subparsers.add_parser("view", help="serve the report of run directories on 127.0.0.1",
                              description="Serves the report page on 127.0.0.1 (reload to see new episodes "
                                          "of a running eval); prints the URL; Ctrl-C stops it.")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--port", type=int, default=8765, help="port (0: any free port; default: 8765)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, this machine only)")
    p.set_defaults(func=_cmd_view)


def _cmd_report(args: argparse.Namespace) -> int:
    from .render import build_report

    path = build_report(args.run_dirs, args.out, title=args.title)
    print(f"report: {path}")
    return 0


def _cmd_view(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from .server import ReportServer

    try:
        server = ReportServer(args.run_dirs, host=args.host, port=args.port)
    except OSError as e:
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({e.strerror or e}): pass --port 0 for any free port")
    print(f"serving the report of {', '.join(args.run_dirs)} at {server.url}  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
