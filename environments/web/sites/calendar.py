"""``calendar``: a personal calendar — month and day views, event pages, search, and forms to
create, edit and delete events. Every user sees only their own events.

Seeded with 40 users and ~600 events in 2025 (``random.Random(16)``; passwords ``pass-<username>``).
"""

from __future__ import annotations

import calendar as cal
import random
import re
import sqlite3

from starlette.responses import Response

from .common import USERS_SCHEMA, Ctx, Site, esc, handler, seed_users

SCHEMA = USERS_SCHEMA + """
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, title TEXT, day TEXT, start TEXT, duration INTEGER,
                     location TEXT, notes TEXT);
CREATE INDEX events_user_day ON events(user_id, day);
"""
KINDS = ["Dentist", "Team sync", "Yoga", "Lunch with", "Book club", "Piano lesson", "Flight to", "Haircut",
         "Project review", "Dinner with", "Parent meeting", "Car service"]
PLACES = ["Room 4", "Main St Clinic", "Cafe Lumen", "Online", "Library", "Airport T2", "Town Hall", "Gym"]
DAY = re.compile(r"^2\d{3}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}$")


class CalendarSite(Site):
    name, title, version, schema = "calendar", "DayPlanner", 1, SCHEMA
    nav = [("/new", "New event"), ("/search", "Search")]

    def seed(self, conn: sqlite3.Connection) -> None:
        rng = random.Random(16)
        users = seed_users(conn, rng, 40, moderators=0)
        for uid, _ in users:
            for _ in range(15):
                kind = rng.choice(KINDS)
                title = f"{kind} {rng.choice(['Ana', 'Ben', 'Lisbon', 'Oslo', 'the team', 'Q2', 'Kim'])}" \
                    if kind.endswith(("with", "to")) or kind == "Project review" else kind
                conn.execute("INSERT INTO events (user_id, title, day, start, duration, location, notes) VALUES "
                             "(?,?,?,?,?,?,?)", (uid, title, f"2025-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}",
                                                 f"{rng.randint(7, 19):02d}:{rng.choice(['00', '30'])}",
                                                 rng.choice([30, 45, 60, 90]), rng.choice(PLACES), ""))

    def routes(self):
        r = self.route
        return [r("/", self.month), r("/day/{day}", self.day), r("/event/{id}", self.event), r("/new", self.new_form),
                r("/new", self.create, ["POST"]), r("/event/{id}/edit", self.edit_form),
                r("/event/{id}/edit", self.edit, ["POST"]), r("/event/{id}/delete", self.delete, ["POST"]),
                r("/search", self.search)]

    @handler(login=True)
    async def month(self, cx: Ctx) -> Response:
        month = cx.arg("month", "2025-01")
        if not re.match(r"^2\d{3}-\d{2}$", month) or not 1 <= int(month[5:]) <= 12:
            return cx.page("Bad month", "<p role='alert'>month must look like 2025-03.</p>", 400)
        y, m = int(month[:4]), int(month[5:])
        counts = dict(cx.db.execute("SELECT day, COUNT(*) FROM events WHERE user_id = ? AND day LIKE ? GROUP BY day",
                                    (cx.user["id"], f"{month}-%")).fetchall())
        cells = "".join(f'<li><a href="/day/{month}-{d:02d}">{month}-{d:02d}</a> ({counts.get(f"{month}-{d:02d}", 0)} '
                        f'events)</li>' for d in range(1, cal.monthrange(y, m)[1] + 1))
        prev = f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}"
        nxt = f"{y + (m == 12)}-{m % 12 + 1:02d}"
        return cx.page(f"{cal.month_name[m]} {y}", f"<p><a href='/?month={prev}'>Previous month</a> "
                                                    f"<a href='/?month={nxt}'>Next month</a></p><ul>{cells}</ul>")

    def _list(self, rows) -> str:
        return "<ul>" + "".join(f'<li>{e["day"]} {e["start"]} <a href="/event/{e["id"]}">{esc(e["title"])}</a> '
                                f'({e["duration"]} min, {esc(e["location"])})</li>' for e in rows) + "</ul>"

    @handler(login=True)
    async def day(self, cx: Ctx) -> Response:
        day = cx.request.path_params["day"]
        if not DAY.match(day):
            return cx.not_found("Day")
        rows = cx.db.execute("SELECT * FROM events WHERE user_id = ? AND day = ? ORDER BY start, id",
                             (cx.user["id"], day)).fetchall()
        return cx.page(day, f"<p>{len(rows)} events.</p>{self._list(rows)}<p><a href='/new?day={day}'>Add an event"
                            f"</a></p>")

    def _own(self, cx: Ctx) -> sqlite3.Row | None:
        return cx.db.execute("SELECT * FROM events WHERE id = ? AND user_id = ?",
                             (cx.path_int("id"), cx.user["id"])).fetchone()

    @handler(login=True)
    async def event(self, cx: Ctx) -> Response:
        e = self._own(cx)
        if e is None:
            return cx.not_found("Event")
        return cx.page(e["title"], f"<p>When: {e['day']} at {e['start']} for {e['duration']} minutes</p><p>Where: "
                                   f"{esc(e['location'])}</p><p>{esc(e['notes'])}</p><p><a href='/event/{e['id']}/edit'>"
                                   f"Edit</a></p><form method='post' action='/event/{e['id']}/delete'><button>Delete event"
                                   f"</button></form>")

    def _form(self, action: str, e: dict, button: str) -> str:
        durations = "".join(f'<option value="{d}"{" selected" if str(d) == str(e.get("duration")) else ""}>{d} min'
                            f'</option>' for d in (15, 30, 45, 60, 90, 120))
        return (f'<form method="post" action="{action}"><label for="title">Title</label> <input id="title" name="title" '
                f'value="{esc(e.get("title", ""))}"> <label for="day">Date (YYYY-MM-DD)</label> <input id="day" '
                f'name="day" value="{esc(e.get("day", ""))}"> <label for="start">Start (HH:MM)</label> <input id="start" '
                f'name="start" value="{esc(e.get("start", ""))}"> <label for="duration">Duration</label> <select '
                f'id="duration" name="duration">{durations}</select> <label for="location">Location</label> <input '
                f'id="location" name="location" value="{esc(e.get("location", ""))}"> <button>{button}</button></form>')

    def _read(self, cx: Ctx) -> tuple[tuple, str]:
        f = cx.form
        title, day, start = f.get("title", "").strip(), f.get("day", "").strip(), f.get("start", "").strip()
        duration = cx.int_arg("duration", 60, f)
        if not title or not DAY.match(day) or not TIME.match(start):
            return (), "An event needs a title, a date like 2025-03-14 and a start like 09:30."
        return (title, day, start, duration, f.get("location", "").strip()), ""

    @handler(login=True)
    async def new_form(self, cx: Ctx) -> Response:
        return cx.page("New event", self._form("/new", {"day": cx.arg("day"), "duration": 60}, "Save event"))

    @handler(login=True)
    async def create(self, cx: Ctx) -> Response:
        values, err = self._read(cx)
        if err:
            return cx.page("New event", f"<p role='alert'>{err}</p>" + self._form("/new", cx.form, "Save event"), 400)
        eid = cx.db.execute("INSERT INTO events (user_id, title, day, start, duration, location, notes) VALUES "
                            "(?,?,?,?,?,?,'')", (cx.user["id"], *values)).lastrowid
        return cx.redirect(f"/event/{eid}")

    @handler(login=True)
    async def edit_form(self, cx: Ctx) -> Response:
        e = self._own(cx)
        if e is None:
            return cx.not_found("Event")
        return cx.page(f"Edit {e['title']}", self._form(f"/event/{e['id']}/edit", dict(e), "Save changes"))

    @handler(login=True)
    async def edit(self, cx: Ctx) -> Response:
        e = self._own(cx)
        if e is None:
            return cx.not_found("Event")
        values, err = self._read(cx)
        if err:
            return cx.page("Edit", f"<p role='alert'>{err}</p>", 400)
        cx.db.execute("UPDATE events SET title=?, day=?, start=?, duration=?, location=? WHERE id = ?", (*values, e["id"]))
        return cx.redirect(f"/event/{e['id']}")

    @handler(login=True)
    async def delete(self, cx: Ctx) -> Response:
        e = self._own(cx)
        if e is None:
            return cx.not_found("Event")
        cx.db.execute("DELETE FROM events WHERE id = ?", (e["id"],))
        return cx.redirect(f"/day/{e['day']}")

    @handler(login=True)
    async def search(self, cx: Ctx) -> Response:
        q = cx.arg("q").strip()
        form = (f'<form role="search" action="/search"><label for="q">Search events</label> <input id="q" name="q" '
                f'value="{esc(q)}"><button type="submit">Search</button></form>')
        rows = cx.db.execute("SELECT * FROM events WHERE user_id = ? AND title LIKE ? ORDER BY day, start LIMIT 50",
                             (cx.user["id"], f"%{q}%")).fetchall() if q else []
        return cx.page("Search", form + (f"<p>{len(rows)} events found.</p>{self._list(rows)}" if q else ""))
