"""Forum task templates: authors, comment counts, top post of a board, votes, comments, new posts
and moderation, checked by answer, URL, page content and the episode's database."""

from __future__ import annotations

from ..sites.forum import score_sql
from . import task

F = "__FORUM__"


def _post(db, rng, unlocked=False):
    return rng.choice(db.execute("SELECT p.*, u.username FROM posts p JOIN users u ON u.id = p.user_id"
                                 + (" WHERE locked = 0" if unlocked else "") + " ORDER BY p.id").fetchall())


def _member(db, rng):
    return rng.choice(db.execute("SELECT id, username FROM users WHERE role = 'member' ORDER BY id").fetchall())


def _open(p) -> list[dict]:
    words = p["title"].split(":")[1].strip()
    return [{"do": "goto", "url": f"{F}/search?q={words.replace(' ', '+').replace('#', '%23')}"},
            {"do": "click", "sel": f'a[href="/post/{p["id"]}"]'}]


def author(db, rng, v):
    p = _post(db, rng)
    return task("forum", "author", v, f"Who wrote the post \"{p['title']}\"? Answer with the username.", "/",
                {"eval_types": ["string_match"], "reference_answers": {"exact_match": p["username"]}},
                _open(p) + [{"do": "answer", "text": p["username"]}])


def comment_count(db, rng, v):
    p = _post(db, rng)
    n = db.execute("SELECT COUNT(*) FROM comments WHERE post_id = ?", (p["id"],)).fetchone()[0]
    return task("forum", "comment_count", v, f"How many comments does the post \"{p['title']}\" have?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"fuzzy_match": [str(n)]}},
                _open(p) + [{"do": "answer", "text": f"It has {n} comments"}])


def top_post(db, rng, v):
    slug, bid, name = rng.choice(db.execute("SELECT slug, id, name FROM boards ORDER BY id").fetchall())
    top = db.execute(f"SELECT p.title FROM posts p WHERE board_id = ? ORDER BY {score_sql()} DESC, p.id LIMIT 1",
                     (bid,)).fetchone()[0]
    return task("forum", "top_post", v, f"Open the {name} board sorted by top posts and tell me the title of the "
                                        "first post.", "/",
                {"eval_types": ["string_match", "url_match"], "reference_answers": {"must_include": [top]},
                 "reference_url": f"{F}/b/{slug}?sort=top"},
                [{"do": "click", "sel": f'a[href="/b/{slug}"]'}, {"do": "click", "sel": 'a[href="?sort=top"]'},
                 {"do": "answer", "text": top}])


def upvote(db, rng, v):
    u, p = _member(db, rng), _post(db, rng)
    return task("forum", "upvote", v, f"Upvote the post \"{p['title']}\".", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "forum", "sql": f"SELECT value FROM votes WHERE user_id = {u['id']} AND post_id = {p['id']}",
                     "expected": [[1]]}]},
                _open(p) + [{"do": "click", "sel": "text=Upvote"}, {"do": "answer", "text": "done"}], login=u["username"])


def add_comment(db, rng, v):
    u, p = _member(db, rng), _post(db, rng, unlocked=True)
    text = f"Thanks for sharing, {rng.choice(['very helpful', 'nice work', 'good point'])} ({v + 1})"
    return task("forum", "add_comment", v, f"Reply to the post \"{p['title']}\" with the comment \"{text}\".", "/",
                {"eval_types": ["db_state", "program_html"], "db_state": [
                    {"site": "forum", "sql": f"SELECT body FROM comments WHERE post_id = {p['id']} AND user_id = "
                                            f"{u['id']} ORDER BY id DESC LIMIT 1", "expected": [[text]]}],
                 "program_html": [{"url": f"{F}/post/{p['id']}", "locator": "document.querySelector('main').innerText",
                                   "required_contents": {"must_include": [text]}}]},
                _open(p) + [{"do": "fill", "sel": "#comment", "text": text}, {"do": "click", "sel": "button:text-is('Comment')"},
                            {"do": "answer", "text": "done"}], login=u["username"])


def new_post(db, rng, v):
    u = _member(db, rng)
    slug, name = rng.choice(db.execute("SELECT slug, name FROM boards ORDER BY id").fetchall())
    title = f"{rng.choice(['Looking for', 'Sharing', 'Question about'])} {name.lower()} advice, part {v + 1}"
    return task("forum", "new_post", v, f"Create a post in the {name} board titled \"{title}\".", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "forum", "sql": f"SELECT b.slug FROM posts p JOIN boards b ON b.id = p.board_id WHERE "
                                            f"p.user_id = {u['id']} AND p.title = '{title}'", "expected": [[slug]]}]},
                [{"do": "click", "sel": "text=New post"}, {"do": "select", "sel": "#board", "option": name},
                 {"do": "fill", "sel": "#title", "text": title}, {"do": "click", "sel": "text=Create post"},
                 {"do": "answer", "text": "done"}], login=u["username"])


def lock_post(db, rng, v):
    mod = db.execute("SELECT username FROM users WHERE role = 'moderator' ORDER BY id").fetchall()[v % 2][0]
    p = _post(db, rng, unlocked=True)
    return task("forum", "lock_post", v, f"As a moderator, lock the post \"{p['title']}\".", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "forum", "sql": f"SELECT locked FROM posts WHERE id = {p['id']}", "expected": [[1]]}]},
                _open(p) + [{"do": "click", "sel": "text=Lock post"}, {"do": "answer", "text": "done"}], login=mod)


TEMPLATES = {"author": author, "comment_count": comment_count, "top_post": top_post, "upvote": upvote,
             "add_comment": add_comment, "new_post": new_post, "lock_post": lock_post}
