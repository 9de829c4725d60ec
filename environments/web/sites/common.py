"""What every bundled site shares: the :class:`Site` base, per-request episode database, login
sessions, form parsing and the HTML layout.

    class ShopSite(Site):
        name, title, schema = "shop", "OneStop Market", SCHEMA
        def seed(self, conn): ...
        def routes(self): return [get("/", self.home), ...]

        @handler(login=True)
        async def cart(self, cx: Ctx): return cx.page("Cart", "<p>…</p>")
"""

from __future__ import annotations

import functools
import html
import secrets
import sqlite3
import traceback
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

esc = html.escape
EPISODE_HEADER = "x-agentgym-episode"
PAGE_SIZE = 20

STYLE = """body{font-family:sans-serif;margin:0}header{background:#234;color:#fff;padding:8px}
header a{color:#fff;margin-right:12px}main{padding:12px 20px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 6px}.flash{background:#ffd;padding:6px}form.inline{display:inline}"""


class Ctx:
    """One request: its episode database, the logged-in user, the parsed form."""

    def __init__(self, site: Site, request: Request, db: sqlite3.Connection):
        self.site, self.request, self.db = site, request, db
        self.user: sqlite3.Row | None = None
        self.form: dict[str, str] = {}
        sid = request.cookies.get("sid")
        if sid:
            self.user = db.execute("SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.sid = ?",
                                   (sid,)).fetchone()

    def arg(self, name: str, default: str = "") -> str:
        return (self.request.query_params.get(name) or default)[:500]

    def int_arg(self, name: str, default: int = 0, source: dict[str, str] | None = None) -> int:
        raw = (source if source is not None else self.request.query_params).get(name) or ""
        try:
            return int(str(raw).strip()[:12])
        except ValueError:
            return default

    def path_int(self, name: str) -> int:
        try:
            return int(self.request.path_params[name])
        except (KeyError, ValueError):
            return -1

    def page(self, title: str, body: str, status: int = 200, flash: str = "") -> HTMLResponse:
        return HTMLResponse(self.site.layout(self, title, body, flash), status_code=status)

    def not_found(self, what: str = "Page") -> HTMLResponse:
        return self.page("Not found", f"<p>{esc(what)} not found.</p><p><a href='/'>Back to the home page</a></p>", 404)

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)


def handler(login: bool = False) -> Callable:
    """Wraps a ``Site`` method ``async (self, cx) -> Response`` as a Starlette endpoint."""

    def wrap(fn: Callable[..., Awaitable[Response]]) -> Callable:
        @functools.wraps(fn)
        async def endpoint(self: Site, request: Request) -> Response:
            path = self.host.db_path(request.headers.get(EPISODE_HEADER), self.name) if self.host else None
            if path is None:
                return HTMLResponse("<h1>No episode</h1><p>This agentgym site only answers browsers of an agentgym "
                                    "episode (missing or unknown X-Agentgym-Episode header).</p>", status_code=403)
            db = sqlite3.connect(path, timeout=10)
            db.row_factory = sqlite3.Row
            try:
                cx = Ctx(self, request, db)
                if request.method == "POST":
                    body = (await request.body())[:200_000].decode("utf-8", "replace")
                    cx.form = {k: v[0][:5000] for k, v in parse_qs(body, keep_blank_values=True).items()}
                if login and cx.user is None:
                    return cx.redirect("/login?" + urlencode({"next": str(request.url.path) +
                                                              (f"?{request.url.query}" if request.url.query else "")}))
                response = await fn(self, cx)
                db.commit()
                return response
            except Exception:
                traceback.print_exc(limit=3)
                return HTMLResponse("<h1>500 Internal Server Error</h1><p>The server failed on this request.</p>",
                                    status_code=500)
            finally:
                db.close()

        return endpoint

    return wrap


class Site:
    """A self-hosted web app: schema, seed data, routes, layout and login."""

    name = "site"
    title = "Site"
    version = 1
    schema = ""
    nav: list[tuple[str, str]] = []
    host: Any = None

    def seed(self, conn: sqlite3.Connection) -> None:  # pragma: no cover - every site overrides it
        raise NotImplementedError

    def routes(self) -> list[Route]:  # pragma: no cover
        raise NotImplementedError

    def app(self, host: Any) -> Starlette:
        self.host = host
        common = [Route("/login", self.login_form, methods=["GET"]), Route("/login", self.login, methods=["POST"]),
                  Route("/logout", self.logout, methods=["GET", "POST"])]
        return Starlette(routes=common + self.routes())

    @staticmethod
    def route(path: str, endpoint: Callable, methods: list[str] | None = None) -> Route:
        """A Starlette route to a bound ``@handler`` method."""
        return Route(path, endpoint, methods=methods or ["GET"])

    # ------------------------------------------------------------------ layout
    def layout(self, cx: Ctx, title: str, body: str, flash: str = "") -> str:
        links = "".join(f'<a href="{href}">{esc(label)}</a>' for href, label in self.nav)
        if cx.user is not None:
            who = (f'<span>Signed in as {esc(cx.user["username"])}</span> '
                   f'<form class="inline" method="post" action="/logout"><button>Sign out</button></form>')
        else:
            who = f'<a href="/login?next={quote(str(cx.request.url.path))}">Sign in</a>'
        note = f'<p class="flash" role="status">{esc(flash)}</p>' if flash else ""
        return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)} · {esc(self.title)}"
                f"</title><style>{STYLE}</style></head><body><header><nav aria-label='Main'>"
                f"<a href='/'>{esc(self.title)}</a>{links} {who}</nav></header>"
                f"<main><h1>{esc(title)}</h1>{note}{body}</main></body></html>")

    # ------------------------------------------------------------------ login and sessions
    @handler()
    async def login_form(self, cx: Ctx) -> Response:
        nxt = esc(cx.arg("next", "/"))
        return cx.page("Sign in", f"""<form method="post" action="/login">
<input type="hidden" name="next" value="{nxt}">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button></form>""")

    @handler()
    async def login(self, cx: Ctx) -> Response:
        user = cx.db.execute("SELECT * FROM users WHERE username = ? AND password = ?",
                             (cx.form.get("username", ""), cx.form.get("password", ""))).fetchone()
        if user is None:
            cx.user = None
            return cx.page("Sign in", "<p role='alert'>Wrong username or password.</p><p><a href='/login'>Try again"
                                      "</a></p>", 401)
        sid = secrets.token_hex(16)
        cx.db.execute("INSERT INTO sessions (sid, user_id) VALUES (?, ?)", (sid, user["id"]))
        nxt = cx.form.get("next") or "/"
        response = cx.redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/")
        response.set_cookie("sid", sid, httponly=True, samesite="lax")
        return response

    @handler()
    async def logout(self, cx: Ctx) -> Response:
        sid = cx.request.cookies.get("sid")
        if sid:
            cx.db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
        response = cx.redirect("/")
        response.delete_cookie("sid")
        return response

    @staticmethod
    def open_session(db_path: Path, username: str) -> str:
        """Logs ``username`` in on an episode database (as WebArena's auto-login does); returns the cookie value."""
        conn = sqlite3.connect(db_path)
        try:
            row = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
            if row is None:
                raise ValueError(f"no user {username!r}")
            sid = secrets.token_hex(16)
            conn.execute("INSERT INTO sessions (sid, user_id) VALUES (?, ?)", (sid, row[0]))
            conn.commit()
            return sid
        finally:
            conn.close()


USERS_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
                    name TEXT NOT NULL, email TEXT, role TEXT DEFAULT 'member', address TEXT DEFAULT '');
CREATE TABLE sessions (sid TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
"""

FIRST = ["Alice", "Bob", "Carmen", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
         "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Ximena",
         "Yusuf", "Zoe", "Arjun", "Beatriz", "Chen", "Dalia"]
LAST = ["Adams", "Berg", "Costa", "Diaz", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
        "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Sato", "Tanaka"]
STREETS = ["Maple St", "Oak Ave", "Harbor Rd", "Hill Lane", "Station Sq", "River Walk", "Elm Court", "Pine Way"]
CITIES = ["Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Ashford", "Brookhaven"]


def seed_users(conn: sqlite3.Connection, rng: Any, n: int = 40, moderators: int = 2) -> list[tuple[int, str]]:
    """``n`` users (``username`` = first name + last initial, lowercase, password ``pass-<username>``)."""
    out, seen = [], set()
    while len(out) < n:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first}{last[0]}".lower()
        if username in seen:
            username = f"{username}{len(out)}"
        seen.add(username)
        role = "moderator" if len(out) < moderators else "member"
        addr = f"{rng.randint(1, 250)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"
        cur = conn.execute("INSERT INTO users (username, password, name, email, role, address) VALUES (?,?,?,?,?,?)",
                           (username, f"pass-{username}", f"{first} {last}", f"{username}@example.test", role, addr))
        out.append((cur.lastrowid, username))
    return out


def pager(cx: Ctx, total: int, page: int, size: int = PAGE_SIZE) -> str:
    """Previous / next links keeping the other query arguments."""
    pages = max(1, -(-total // size))
    params = dict(cx.request.query_params)
    links = []
    if page > 1:
        links.append(f'<a href="?{esc(urlencode({**params, "page": page - 1}))}" rel="prev">Previous page</a>')
    if page < pages:
        links.append(f'<a href="?{esc(urlencode({**params, "page": page + 1}))}" rel="next">Next page</a>')
    return f'<nav aria-label="Pagination"><span>Page {page} of {pages}</span> {" ".join(links)}</nav>'


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"
