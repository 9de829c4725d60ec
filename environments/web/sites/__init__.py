"""The web apps written for agentgym: ``shop``, ``forum`` and ``calendar``.

Each is a :class:`~.common.Site`: a SQLite schema, a deterministic seeding function (hundreds of
rows), Starlette routes with real HTML forms, search, pagination, login and sessions, and the
templated tasks over its data (``environments/web/tasks``)::

    site = get_site("shop")
    site.routes()      # Starlette routes
"""

from __future__ import annotations

from .common import Site

SITES = ("shop", "forum", "calendar")


def get_site(name: str) -> Site:
    """The site called ``name`` (one instance per process)."""
    if name not in _INSTANCES:
        if name == "shop":
            from .shop import ShopSite as cls
        elif name == "forum":
            from .forum import ForumSite as cls
        elif name == "calendar":
            from .calendar import CalendarSite as cls
        else:
            raise ValueError(f"unknown site {name!r}; the bundled sites are {', '.join(SITES)}")
        _INSTANCES.setdefault(name, cls())
    return _INSTANCES[name]


_INSTANCES: dict[str, Site] = {}

__all__ = ["SITES", "Site", "get_site"]
