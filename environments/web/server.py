"""The self-hosted sites: real HTTP servers on 127.0.0.1, one SQLite copy per episode.

Every site is a Starlette app served by uvicorn on an ephemeral loopback port, on one background
thread per process. A request picks its database by the episode token the browser context sends
in the ``X-Agentgym-Episode`` header, so parallel episodes (and the members of a GRPO group) each
see their own copy of the seeded database and never each other's::

    host = site_host()
    urls = host.start(["shop"])                  # {"shop": "http://127.0.0.1:PORT"}
    db = host.new_episode_db("shop")             # (token, path): a file copy of the seeded template
    host.drop_episode_db(token)

Templates are seeded deterministically once and cached under ``$AGENTGYM_CACHE/web``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from agentgym.owner import Owner, make_owned_dir, own_folder, read_owner, reclaim_dirs

from .sites import SITES, Site, get_site

EPISODE_HEADER = "x-agentgym-episode"


def cache_dir() -> Path:
    base = os.environ.get("AGENTGYM_CACHE") or Path.home() / ".cache" / "agentgym"
    return Path(base) / "web"


_TEMPLATE_LOCK = threading.Lock()


def template_db(site: Site) -> Path:
    """The seeded template database of ``site`` (built once, atomically, then reused)."""
    path = cache_dir() / f"{site.name}-v{site.version}.sqlite"
    with _TEMPLATE_LOCK:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
            conn = sqlite3.connect(tmp)
            try:
                conn.executescript(site.schema)
                site.seed(conn)
                conn.commit()
            finally:
                conn.close()
            os.replace(tmp, path)
    return path


class SiteHost:
    """The sites of this process, their servers and the episode databases they serve."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self._dbs: dict[str, dict[str, Path]] = {}
        self._lock = threading.Lock()
        self._servers: dict[str, Any] = {}
        self._dir: Path | None = None

    def start(self, names: list[str]) -> dict[str, str]:
        """Starts the named sites (those not already running); returns their base URLs."""
        with self._lock:
            for name in names:
                if name not in self.urls:
                    self.urls[name] = self._serve(get_site(name))
            return {n: self.urls[n] for n in names}

    def _serve(self, site: Site) -> str:
        import uvicorn

        template_db(site)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = site.app(self)
        config = uvicorn.Config(app, log_level="error", access_log=False, lifespan="off", timeout_keep_alive=30)
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                                  name=f"agentgym-web-{site.name}")
        thread.start()
        deadline = time.time() + 20
        while not server.started:
            if time.time() > deadline or not thread.is_alive():
                raise RuntimeError(f"the {site.name} site did not start on 127.0.0.1:{port}")
            time.sleep(0.01)
        self._servers[site.name] = server
        return f"http://127.0.0.1:{port}"

    # ------------------------------------------------------------------ episode databases
    def _episode_dir(self) -> Path:
        """This process's folder of episode databases, removed at exit; folders left by processes
        that died (SIGKILL, a crashed run) are removed when the next one is made."""
        if self._dir is None:
            self._dir = owned_temp_dir(DIR_PREFIX)
            atexit.register(shutil.rmtree, self._dir, True)
        return self._dir

    def new_episode_db(self, site: str, source: Path | None = None, token: str | None = None) -> tuple[str, Path]:
        """Copies the template (or ``source``, the live database of a forked episode) to a fresh file,
        served to requests carrying ``token`` (a new one unless given); returns ``(token, path)``."""
        token = token or uuid.uuid4().hex
        path = self._episode_dir() / f"{site}-{token}.sqlite"
        if source is None:
            shutil.copyfile(template_db(get_site(site)), path)
        else:  # the backup API gives a consistent copy even if the site is writing
            src, dst = sqlite3.connect(source), sqlite3.connect(path)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        with self._lock:
            self._dbs.setdefault(token, {})[site] = path
        return token, path

    def db_path(self, token: str | None, site: str) -> Path | None:
        return self._dbs.get(token or "", {}).get(site)

    def drop_episode_db(self, token: str) -> None:
        """Forgets ``token`` and deletes its database files."""
        with self._lock:
            entry = self._dbs.pop(token, {})
        for path in entry.values():
            for suffix in ("", "-journal", "-wal", "-shm"):
                try:
                    os.unlink(str(path) + suffix)
                except FileNotFoundError:
                    pass


DIR_PREFIX = "agentgym-web-"          # this process's episode databases
SERVERS_PREFIX = "agentgym-webtasks-"  # web/tasks' start_command servers: their databases and process groups


def owned_temp_dir(prefix: str) -> Path:
    """A new ``<prefix><pid>-<random>`` folder in the temp dir, with this process's owner record inside
    (what :func:`reclaim_dead_episode_dirs` judges it by); folders of dead processes are reclaimed first."""
    reclaim_dead_episode_dirs()
    return make_owned_dir(Path(tempfile.gettempdir()) / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}")


def reclaim_dead_episode_dirs(root: Path | None = None) -> list[Path]:
    """Removes the folders of :data:`DIR_PREFIX` and :data:`SERVERS_PREFIX` whose process is gone (SIGKILL,
    a crash), killing the site servers they record first; returns them."""
    root = Path(root or tempfile.gettempdir())
    removed = reclaim_dirs(root, (DIR_PREFIX, SERVERS_PREFIX))
    for path in root.glob(f"{DIR_PREFIX}*-*"):  # older versions' folders: no owner record, the pid in the name
        pid = path.name[len(DIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and own_folder(path) and read_owner(path) is None and Owner(int(pid)).is_gone():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


_HOST: SiteHost | None = None
_HOST_LOCK = threading.Lock()


def site_host() -> SiteHost:
    """The process-wide :class:`SiteHost`."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = SiteHost()
        return _HOST


__all__ = ["SiteHost", "site_host", "template_db", "EPISODE_HEADER", "SITES"]
