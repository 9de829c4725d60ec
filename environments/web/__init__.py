"""Web navigation in a real Chromium (Playwright) on self-hosted sites with real SQLite databases.

Env ids (registered through the ``agentgym.environments`` entry point)::

    web/shop       an online store: search, filters, cart, checkout, orders, reviews
    web/forum      a discussion forum: posts, comments, votes, moderation
    web/calendar   a calendar app: events by day and month, create / edit / delete
    web/all        the tasks of all three
    web/tasks      your own WebArena-style task JSON against your own site (``tasks=FILE``)

    env = agentgym.make("web/shop")
    env = agentgym.make("web/tasks", tasks="webarena.json", sites={"shopping": "http://127.0.0.1:7770"})

Needs ``pip install "agentgym[web]"`` and a Chromium (Debian's ``/usr/bin/chromium`` is used when
present). Importing this package starts nothing; the browser and the sites start on first reset.
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers the ``web/*`` ids (the entry point of group ``agentgym.environments``)."""
    import inspect

    from agentgym.registry import register as _register

    new_style = "kwargs" in inspect.signature(_register).parameters

    def register(id: str, entry_point: str, *, description: str, tags: list[str], max_turns: int,
                 requirements: list[str], **kwargs) -> None:
        options = dict(description=description, tags=tags, max_turns=max_turns, requirements=requirements)
        if new_style:  # register(id, ep, kwargs={...}) in newer cores, constructor kwargs inline before
            _register(id, entry_point, kwargs=kwargs, **options)
        else:
            _register(id, entry_point, **options, **kwargs)

    common = dict(max_turns=15, requirements=["playwright"])
    register("web/shop", "agentgym.environments.web.env:WebEnv", sites=["shop"], tags=["web", "browser", "tools"],
             description="Shopping tasks in a real browser on a self-hosted store (SQLite copy per episode).", **common)
    register("web/forum", "agentgym.environments.web.env:WebEnv", sites=["forum"], tags=["web", "browser", "tools"],
             description="Forum tasks (posts, comments, votes, moderation) in a real browser.", **common)
    register("web/calendar", "agentgym.environments.web.env:WebEnv", sites=["calendar"],
             tags=["web", "browser", "tools"],
             description="Calendar tasks (find, create, edit, delete events) in a real browser.", **common)
    register("web/all", "agentgym.environments.web.env:WebEnv", sites=["shop", "forum", "calendar"],
             tags=["web", "browser", "tools"], description="All bundled web tasks (shop, forum, calendar).", **common)
    register("web/tasks", "agentgym.environments.web.byos:TaskFileEnv", tags=["web", "browser", "tools"],
             description="Your WebArena-style task JSON against your own site (base URL, start/reset commands or a "
                         "SQLite template).", **common)


__all__ = ["register_envs"]
