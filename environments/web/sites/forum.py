"""``forum``: a discussion forum — boards, posts with pagination and sorting, comments, votes,
user pages, search, and moderation (moderators lock posts).

Seeded with 40 users (the first two moderators), 6 boards, 240 posts, ~900 comments and votes
(``random.Random(15)``; passwords ``pass-<username>``).
"""

from __future__ import annotations

import random
import sqlite3

from starlette.responses import Response

from .common import PAGE_SIZE, USERS_SCHEMA, Ctx, Site, esc, handler, pager, seed_users

SCHEMA = USERS_SCHEMA + """
CREATE TABLE boards (id INTEGER PRIMARY KEY, slug TEXT UNIQUE, name TEXT, description TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, board_id INTEGER, user_id INTEGER, title TEXT, body TEXT, created TEXT,
                    locked INTEGER DEFAULT 0);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER, user_id INTEGER, body TEXT, created TEXT);
CREATE TABLE votes (user_id INTEGER, post_id INTEGER, value INTEGER, PRIMARY KEY (user_id, post_id));
"""
BOARDS = {"gardening": "Gardening", "cooking": "Cooking", "cycling": "Cycling", "photography": "Photography",
          "boardgames": "Board games", "diy": "DIY"}
TOPICS = ["tips for beginners", "what went wrong", "weekly thread", "best tools", "my first project", "a question",
          "show and tell", "budget options", "common mistakes", "recommendations"]
OPENERS = ["Finally tried", "Need help with", "Thoughts on", "Lessons from", "Guide to", "Opinions on"]


def score_sql(alias: str = "p") -> str:
    return f"(SELECT COALESCE(SUM(value), 0) FROM votes v WHERE v.post_id = {alias}.id)"


class ForumSite(Site):
    name, title, version, schema = "forum", "Threadline", 1, SCHEMA
    nav = [("/search", "Search")]

    def seed(self, conn: sqlite3.Connection) -> None:
        rng = random.Random(15)
        users = seed_users(conn, rng, 40, moderators=2)
        for slug, label in BOARDS.items():
            conn.execute("INSERT INTO boards (slug, name, description) VALUES (?,?,?)",
                         (slug, label, f"Everything about {label.lower()}."))
        used = set()
        for i in range(240):
            board = rng.randint(1, len(BOARDS))
            label = list(BOARDS.values())[board - 1].lower()
            while True:
                title = f"{rng.choice(OPENERS)} {label}: {rng.choice(TOPICS)} #{rng.randint(2, 999)}"
                if title not in used:
                    used.add(title)
                    break
            uid = rng.choice(users)[0]
            pid = conn.execute("INSERT INTO posts (board_id, user_id, title, body, created) VALUES (?,?,?,?,?)",
                               (board, uid, title, f"Post {i + 1} about {label}. " * 3,
                                f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")).lastrowid
            for _ in range(rng.randint(0, 7)):
                conn.execute("INSERT INTO comments (post_id, user_id, body, created) VALUES (?,?,?,?)",
                             (pid, rng.choice(users)[0], rng.choice(["Great post!", "I disagree.", "Thanks, useful.",
                                                                     "Same here.", "Any photos?"]), "2024-12-01"))
            for voter in rng.sample(users, rng.randint(0, 6)):
                conn.execute("INSERT INTO votes VALUES (?,?,?)", (voter[0], pid, rng.choice([1, 1, 1, -1])))

    def routes(self):
        r = self.route
        return [r("/", self.home), r("/b/{slug}", self.board), r("/post/{id}", self.post),
                r("/post/{id}/vote", self.vote, ["POST"]), r("/post/{id}/comment", self.comment, ["POST"]),
                r("/post/{id}/lock", self.lock, ["POST"]), r("/submit", self.submit_form),
                r("/submit", self.submit, ["POST"]), r("/u/{username}", self.user), r("/search", self.search)]

    @handler()
    async def home(self, cx: Ctx) -> Response:
        rows = cx.db.execute("SELECT b.*, COUNT(p.id) n FROM boards b LEFT JOIN posts p ON p.board_id = b.id "
                             "GROUP BY b.id ORDER BY b.name").fetchall()
        items = "".join(f'<li><a href="/b/{b["slug"]}">{esc(b["name"])}</a> — {b["n"]} posts</li>' for b in rows)
        return cx.page("Boards", f"<ul>{items}</ul><p><a href='/submit'>New post</a></p>")

    def _listing(self, cx: Ctx, where: str, params: list) -> tuple[str, int]:
        sort = "score" if cx.arg("sort") == "top" else "new"
        order = f"{score_sql()} DESC, p.id" if sort == "score" else "p.created DESC, p.id DESC"
        total = cx.db.execute(f"SELECT COUNT(*) FROM posts p WHERE {where}", params).fetchone()[0]
        page = max(1, cx.int_arg("page", 1))
        rows = cx.db.execute(f"SELECT p.*, u.username, {score_sql()} score, (SELECT COUNT(*) FROM comments c WHERE "
                             f"c.post_id = p.id) ncom FROM posts p JOIN users u ON u.id = p.user_id WHERE {where} "
                             f"ORDER BY {order} LIMIT ? OFFSET ?", params + [PAGE_SIZE, (page - 1) * PAGE_SIZE]).fetchall()
        items = "".join(f'<li><a href="/post/{p["id"]}">{esc(p["title"])}</a> by <a href="/u/{p["username"]}">'
                        f'{p["username"]}</a> · {p["score"]} points · {p["ncom"]} comments · {p["created"]}'
                        f'{" · locked" if p["locked"] else ""}</li>' for p in rows)
        return f"<ol>{items}</ol>{pager(cx, total, page)}", total

    @handler()
    async def board(self, cx: Ctx) -> Response:
        b = cx.db.execute("SELECT * FROM boards WHERE slug = ?", (cx.request.path_params["slug"],)).fetchone()
        if b is None:
            return cx.not_found("Board")
        listing, _ = self._listing(cx, "p.board_id = ?", [b["id"]])
        return cx.page(b["name"], f"<p>{esc(b['description'])}</p><p>Sort: <a href='?sort=new'>New</a> "
                                  f"<a href='?sort=top'>Top</a></p>{listing}")

    @handler()
    async def search(self, cx: Ctx) -> Response:
        q = cx.arg("q").strip()
        form = (f'<form role="search" action="/search"><label for="q">Search posts</label> <input id="q" name="q" '
                f'value="{esc(q)}"><button type="submit">Search</button></form>')
        if not q:
            return cx.page("Search", form)
        listing, total = self._listing(cx, "p.title LIKE ?", [f"%{q}%"])
        return cx.page("Search", f"{form}<p>{total} posts found.</p>{listing}")

    @handler()
    async def post(self, cx: Ctx) -> Response:
        p = cx.db.execute(f"SELECT p.*, u.username, b.name board, b.slug, {score_sql()} score FROM posts p JOIN users u "
                          "ON u.id = p.user_id JOIN boards b ON b.id = p.board_id WHERE p.id = ?",
                          (cx.path_int("id"),)).fetchone()
        if p is None:
            return cx.not_found("Post")
        comments = cx.db.execute("SELECT c.*, u.username FROM comments c JOIN users u ON u.id = c.user_id "
                                 "WHERE post_id = ? ORDER BY c.id", (p["id"],)).fetchall()
        coms = "".join(f'<li><p>{esc(c["body"])}</p><p>— {c["username"]}</p></li>' for c in comments)
        acts = ""
        if cx.user is not None:
            acts = (f'<form class="inline" method="post" action="/post/{p["id"]}/vote"><input type="hidden" name="value" '
                    f'value="1"><button>Upvote</button></form> <form class="inline" method="post" action="/post/'
                    f'{p["id"]}/vote"><input type="hidden" name="value" value="-1"><button>Downvote</button></form>')
            if cx.user["role"] == "moderator" and not p["locked"]:
                acts += f' <form class="inline" method="post" action="/post/{p["id"]}/lock"><button>Lock post</button></form>'
            if not p["locked"]:
                acts += (f'<form method="post" action="/post/{p["id"]}/comment"><label for="comment">Add a comment'
                         f'</label> <textarea id="comment" name="body"></textarea><button>Comment</button></form>')
        state = "<p role='status'>This post is locked.</p>" if p["locked"] else ""
        return cx.page(p["title"], f"<p>Posted in <a href='/b/{p['slug']}'>{esc(p['board'])}</a> by "
                                   f"<a href='/u/{p['username']}'>{p['username']}</a> on {p['created']} · "
                                   f"{p['score']} points</p>{state}<p>{esc(p['body'])}</p>{acts}"
                                   f"<h2>{len(comments)} comments</h2><ul>{coms}</ul>")

    @handler(login=True)
    async def vote(self, cx: Ctx) -> Response:
        pid, value = cx.path_int("id"), cx.int_arg("value", 0, cx.form)
        if value not in (1, -1) or cx.db.execute("SELECT 1 FROM posts WHERE id = ?", (pid,)).fetchone() is None:
            return cx.not_found("Post")
        cx.db.execute("INSERT INTO votes VALUES (?,?,?) ON CONFLICT(user_id, post_id) DO UPDATE SET value = "
                      "excluded.value", (cx.user["id"], pid, value))
        return cx.redirect(f"/post/{pid}")

    @handler(login=True)
    async def comment(self, cx: Ctx) -> Response:
        pid, body = cx.path_int("id"), cx.form.get("body", "").strip()
        p = cx.db.execute("SELECT locked FROM posts WHERE id = ?", (pid,)).fetchone()
        if p is None:
            return cx.not_found("Post")
        if p["locked"] or not body:
            return cx.page("Comment not posted", "<p role='alert'>The post is locked or the comment is empty.</p>", 400)
        cx.db.execute("INSERT INTO comments (post_id, user_id, body, created) VALUES (?,?,?,?)",
                      (pid, cx.user["id"], body, "2025-01-15"))
        return cx.redirect(f"/post/{pid}")

    @handler(login=True)
    async def lock(self, cx: Ctx) -> Response:
        if cx.user["role"] != "moderator":
            return cx.page("Forbidden", "<p role='alert'>Only moderators can lock posts.</p>", 403)
        cx.db.execute("UPDATE posts SET locked = 1 WHERE id = ?", (cx.path_int("id"),))
        return cx.redirect(f"/post/{cx.path_int('id')}")

    @handler(login=True)
    async def submit_form(self, cx: Ctx) -> Response:
        boards = cx.db.execute("SELECT slug, name FROM boards ORDER BY name").fetchall()
        opts = "".join(f'<option value="{b["slug"]}">{esc(b["name"])}</option>' for b in boards)
        return cx.page("New post", f"""<form method="post" action="/submit"><label for="board">Board</label>
<select id="board" name="board">{opts}</select> <label for="title">Title</label> <input id="title" name="title">
<label for="body">Text</label> <textarea id="body" name="body"></textarea><button>Create post</button></form>""")

    @handler(login=True)
    async def submit(self, cx: Ctx) -> Response:
        b = cx.db.execute("SELECT id FROM boards WHERE slug = ?", (cx.form.get("board", ""),)).fetchone()
        title = cx.form.get("title", "").strip()
        if b is None or not title:
            return cx.page("Not posted", "<p role='alert'>A post needs a board and a title.</p>", 400)
        pid = cx.db.execute("INSERT INTO posts (board_id, user_id, title, body, created) VALUES (?,?,?,?,?)",
                            (b["id"], cx.user["id"], title, cx.form.get("body", ""), "2025-01-15")).lastrowid
        return cx.redirect(f"/post/{pid}")

    @handler()
    async def user(self, cx: Ctx) -> Response:
        u = cx.db.execute("SELECT * FROM users WHERE username = ?", (cx.request.path_params["username"],)).fetchone()
        if u is None:
            return cx.not_found("User")
        listing, total = self._listing(cx, "p.user_id = ?", [u["id"]])
        return cx.page(u["username"], f"<p>{esc(u['name'])} · {u['role']} · {total} posts</p>{listing}")
