"""``agentgym view``: the report page served on 127.0.0.1, rebuilt when a run directory changes.

    server = ReportServer(["runs/maze-gpt"], port=0)    # port 0: any free port
    print(server.url); server.serve_forever()            # Ctrl-C stops it

A run that is still writing ``trajectories.jsonl`` shows its new episodes on reload.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

from .render import load_runs, render

WATCHED = ("trajectories.jsonl", "metrics.jsonl", "summary.json", "grpo/metrics.jsonl")


class ReportServer(ThreadingHTTPServer):
    """Serves ``GET /`` (the report) and ``GET /health``; binds loopback unless told otherwise."""

    daemon_threads = True

    def __init__(self, run_dirs: Sequence[str | Path], *, host: str = "127.0.0.1", port: int = 0):
        self.run_dirs = [Path(d) for d in run_dirs]
        self._lock = threading.Lock()
        self._page: bytes | None = None
        self._stamp: tuple = ()
        self.page()  # bad run directories fail here, before the port opens
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def _fingerprint(self) -> tuple:
        out = []
        for d in self.run_dirs:
            for name in WATCHED:
                try:
                    st = (d / name).stat()
                    out.append((str(d), name, st.st_mtime_ns, st.st_size))
                except OSError:
                    out.append((str(d), name, None, None))
        return tuple(out)

    def page(self) -> bytes:
        """The report page, rebuilt only when a watched file of a run directory changed."""
        with self._lock:
            stamp = self._fingerprint()
            if self._page is None or stamp != self._stamp:
                runs = load_runs(self.run_dirs)
                self._page = render(runs, title="agentgym view: " + ", ".join(r.name for r in runs)).encode("utf-8")
                self._stamp = stamp
            return self._page


class _Handler(BaseHTTPRequestHandler):
    server: ReportServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html", "/report.html"):
            try:
                body, status, ctype = self.server.page(), 200, "text/html; charset=utf-8"
            except Exception as e:  # a run dir removed while serving: say so in the page
                body, status, ctype = f"cannot build the report: {e}".encode(), 500, "text/plain; charset=utf-8"
        elif path == "/health":
            body, status, ctype = b"ok", 200, "text/plain"
        else:
            body, status, ctype = b"not found", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (quiet: no line per request)
        pass
