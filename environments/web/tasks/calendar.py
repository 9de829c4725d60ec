"""Calendar task templates: when is an event, how many events on a day, create, move and delete
events (checked in the episode's own database)."""

from __future__ import annotations

from . import task

C = "__CALENDAR__"


def _user_event(db, rng):
    uid, username = rng.choice(db.execute("SELECT id, username FROM users ORDER BY id").fetchall())
    events = db.execute("SELECT * FROM events WHERE user_id = ? ORDER BY id", (uid,)).fetchall()
    unique = [e for e in events if sum(x["title"] == e["title"] for x in events) == 1]
    return uid, username, rng.choice(unique or events)


def when(db, rng, v):
    uid, user, e = _user_event(db, rng)
    return task("calendar", "when", v, f"On what date and at what time is my \"{e['title']}\" event?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"must_include": [e["day"], e["start"]]}},
                [{"do": "goto", "url": f"{C}/search?q={e['title'].replace(' ', '+')}"},
                 {"do": "click", "sel": f'a[href="/event/{e["id"]}"]'},
                 {"do": "answer", "text": f"{e['day']} at {e['start']}"}], login=user)


def count_day(db, rng, v):
    uid, user, e = _user_event(db, rng)
    n = db.execute("SELECT COUNT(*) FROM events WHERE user_id = ? AND day = ?", (uid, e["day"])).fetchone()[0]
    return task("calendar", "count_day", v, f"How many events do I have on {e['day']}?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"exact_match": str(n)}},
                [{"do": "goto", "url": f"{C}/?month={e['day'][:7]}"}, {"do": "click", "sel": f'a[href="/day/{e["day"]}"]'},
                 {"do": "answer", "text": str(n)}], login=user)


def create(db, rng, v):
    uid, user = rng.choice(db.execute("SELECT id, username FROM users ORDER BY id").fetchall())
    title = f"{rng.choice(['Coffee with', 'Call with', 'Visit'])} {rng.choice(['Ines', 'Omar', 'Grandma'])} {v + 1}"
    day, start = f"2025-0{rng.randint(7, 9)}-{rng.randint(10, 28)}", f"{rng.randint(8, 17):02d}:30"
    return task("calendar", "create", v, f"Add an event \"{title}\" on {day} at {start} lasting 45 minutes.", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "calendar", "sql": f"SELECT day, start, duration FROM events WHERE user_id = {uid} AND "
                                               f"title = '{title}'", "expected": [[day, start, 45]]}]},
                [{"do": "click", "sel": 'a[href="/new"]'}, {"do": "fill", "sel": "#title", "text": title},
                 {"do": "fill", "sel": "#day", "text": day}, {"do": "fill", "sel": "#start", "text": start},
                 {"do": "select", "sel": "#duration", "option": "45 min"}, {"do": "click", "sel": "text=Save event"},
                 {"do": "answer", "text": "done"}], login=user)


def move(db, rng, v):
    uid, user, e = _user_event(db, rng)
    start = "07:15" if e["start"] != "07:15" else "07:45"
    return task("calendar", "move", v, f"Move my \"{e['title']}\" event on {e['day']} to start at {start}.", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "calendar", "sql": f"SELECT day, start FROM events WHERE id = {e['id']}",
                     "expected": [[e["day"], start]]}]},
                [{"do": "goto", "url": f"{C}/day/{e['day']}"}, {"do": "click", "sel": f'a[href="/event/{e["id"]}"]'},
                 {"do": "click", "sel": "text=Edit"}, {"do": "fill", "sel": "#start", "text": start},
                 {"do": "click", "sel": "text=Save changes"}, {"do": "answer", "text": "done"}], login=user)


def delete(db, rng, v):
    uid, user, e = _user_event(db, rng)
    return task("calendar", "delete", v, f"Delete my \"{e['title']}\" event on {e['day']}.", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "calendar", "sql": f"SELECT COUNT(*) FROM events WHERE id = {e['id']}", "expected": [[0]]},
                    {"site": "calendar", "sql": f"SELECT COUNT(*) FROM events WHERE user_id = {uid}",
                     "expected": [[14]]}]},
                [{"do": "goto", "url": f"{C}/day/{e['day']}"}, {"do": "click", "sel": f'a[href="/event/{e["id"]}"]'},
                 {"do": "click", "sel": "text=Delete event"}, {"do": "answer", "text": "done"}], login=user)


TEMPLATES = {"when": when, "count_day": count_day, "create": create, "move": move, "delete": delete}
