"""Bundled tasks in WebArena's JSON style, generated from templates over each site's seeded data.

    tasks = bundled_tasks(["shop"])              # list of dicts: task_id, sites, intent, start_url, eval, oracle
    train = [t for t in tasks if t["split"] == "train"]

Each template yields ``VARIANTS`` tasks (the last one in the ``test`` split). ``oracle`` is a
scripted action sequence over CSS/text selectors; the env resolves it to element ids by playing it
on a fork (:meth:`WebEnv.oracle`).
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any, Callable

VARIANTS = 5
TEST_VARIANTS = {VARIANTS - 1}


def task(site: str, template: str, variant: int, intent: str, start: str, ev: dict[str, Any],
         oracle: list[dict[str, Any]], login: str | None = None) -> dict[str, Any]:
    """One task dict (WebArena's fields plus ``login_as``, ``split`` and ``oracle``)."""
    marker = f"__{site.upper()}__"
    return {"task_id": f"{site}-{template}-{variant}", "sites": [site], "require_login": login is not None,
            "login_as": login, "intent": intent, "start_url": f"{marker}{start}", "intent_template": template,
            "split": "test" if variant in TEST_VARIANTS else "train",
            "eval": {"eval_types": [], "reference_answers": None, "reference_url": "", "program_html": [],
                     "db_state": [], **ev},
            "oracle": oracle}


def generate(site: str, db_path: str, templates: dict[str, Callable[[sqlite3.Connection, random.Random, int], dict]]
             ) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        out = []
        for name, make in templates.items():
            for v in range(VARIANTS):
                out.append(make(conn, random.Random(f"{site}-{name}-{v}"), v))
        return out
    finally:
        conn.close()


_CACHE: dict[str, list[dict[str, Any]]] = {}


def bundled_tasks(sites: list[str] | tuple[str, ...]) -> list[dict[str, Any]]:
    """Every bundled task of ``sites`` (generated once per process from the seeded templates)."""
    from ..server import template_db
    from ..sites import get_site

    out = []
    for name in sites:
        if name not in _CACHE:
            if name == "shop":
                from .shop import TEMPLATES
            elif name == "forum":
                from .forum import TEMPLATES
            elif name == "calendar":
                from .calendar import TEMPLATES
            else:
                raise ValueError(f"no bundled tasks for site {name!r}")
            _CACHE[name] = generate(name, str(template_db(get_site(name))), TEMPLATES)
        out += _CACHE[name]
    return out
