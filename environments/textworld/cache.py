"""Content-addressed cache of generated games.

A game is stored under ``<root>/<family>/<key>/`` where ``key`` is a hash of everything that
determines it (generator version, settings, seed). Entries are written to a temporary
directory and renamed into place, so concurrent writers (threads or processes) never see a
half-written game; the loser of a race simply reuses the winner's entry. A temporary directory
records the process building it: one left by a killed build is removed by the next build.

    cache = GameCache()                       # $AGENTGYM_CACHE or ~/.cache/agentgym
    path = cache.get_or_create("textworld", {"challenge": "tw-simple", "seed": 3}, build)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from agentgym.owner import OWNER_FILE, make_owned_dir, reclaim_dirs

CACHE_ENV_VAR = "AGENTGYM_CACHE"
MARKER = "entry.json"

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def cache_root() -> Path:
    """``$AGENTGYM_CACHE`` if set, else ``~/.cache/agentgym``."""
    env = os.environ.get(CACHE_ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "agentgym"


def content_key(payload: dict[str, Any]) -> str:
    """A stable 16-hex-digit hash of a JSON-able dict (key order does not matter)."""
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


class GameCache:
    """Directory of generated games keyed by the hash of their generation payload."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser() if root else cache_root()

    def path_for(self, family: str, payload: dict[str, Any]) -> Path:
        return self.root / family / content_key(payload)

    def lookup(self, family: str, payload: dict[str, Any]) -> Path | None:
        """The entry's directory if it is complete, else None."""
        path = self.path_for(family, payload)
        return path if (path / MARKER).is_file() else None

    def get_or_create(self, family: str, payload: dict[str, Any], build: Callable[[Path], None]) -> Path:
        """Returns the entry for ``payload``, calling ``build(tmp_dir)`` to fill it on a miss.

        ``build`` writes its files into the directory it is given; the directory becomes the
        entry only if ``build`` returns without raising.
        """
        final = self.path_for(family, payload)
        if (final / MARKER).is_file():
            return final
        with _lock_for(str(final)):
            if (final / MARKER).is_file():
                return final
            final.parent.mkdir(parents=True, exist_ok=True)
            reclaim_dirs(final.parent, (".",))  # half-built entries of builds that were killed
            tmp = make_owned_dir(final.parent / f".{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                build(tmp)
                (tmp / MARKER).write_text(json.dumps(payload, sort_keys=True, indent=1, default=str))
                try:
                    os.rename(tmp, final)
                except OSError:
                    if (final / MARKER).is_file():  # another process finished it first: theirs is kept
                        return final
                    shutil.rmtree(final, ignore_errors=True)  # a broken leftover: replace it
                    os.rename(tmp, final)
                # dropped once in place (not before: a kill in between would leave an unowned hidden folder)
                (final / OWNER_FILE).unlink(missing_ok=True)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        return final

    def entries(self, family: str) -> list[Path]:
        """Complete entries of a family (for ``pregen`` reports)."""
        base = self.root / family
        if not base.is_dir():
            return []
        return sorted(p for p in base.iterdir() if (p / MARKER).is_file())
