"""Shop task templates: prices, counts under a filter, cheapest of a brand, order totals, a URL,
and state changes (cart, review, checkout) checked in the episode's own database."""

from __future__ import annotations

import random
import sqlite3

from ..sites.common import money
from . import task

S = "__SHOP__"


def _user(db: sqlite3.Connection, rng: random.Random) -> sqlite3.Row:
    return rng.choice(db.execute("SELECT id, username FROM users ORDER BY id").fetchall())


def _product(db: sqlite3.Connection, rng: random.Random, in_stock: bool = False) -> sqlite3.Row:
    rows = db.execute("SELECT p.*, c.slug, c.name cat FROM products p JOIN categories c ON c.id = p.category_id"
                      + (" WHERE stock > 0" if in_stock else "") + " ORDER BY p.id").fetchall()
    return rng.choice(rows)


def _find(name: str, pid: int) -> list[dict]:
    return [{"do": "fill", "sel": "#q", "text": name}, {"do": "click", "sel": "form[role=search] button"},
            {"do": "click", "sel": f'a[href="/product/{pid}"]'}]


def price(db, rng, v):
    p = _product(db, rng)
    return task("shop", "price", v, f"What is the price of the {p['name']}?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"must_include": [money(p["price_cents"])]}},
                _find(p["name"], p["id"]) + [{"do": "answer", "text": money(p["price_cents"])}])


def count_under(db, rng, v):
    slug, cat = rng.choice(db.execute("SELECT slug, name FROM categories ORDER BY id").fetchall())
    limit = rng.choice([15, 20, 30, 40, 60, 90])
    n = db.execute("SELECT COUNT(*) FROM products p JOIN categories c ON c.id = p.category_id WHERE c.slug = ? AND "
                   "price_cents <= ?", (slug, limit * 100)).fetchone()[0]
    return task("shop", "count_under", v, f"How many products in the {cat} category cost ${limit} or less?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"exact_match": str(n)}},
                [{"do": "select", "sel": "#category", "option": cat}, {"do": "fill", "sel": "#max_price", "text": str(limit)},
                 {"do": "click", "sel": "form[role=search] button"}, {"do": "answer", "text": str(n)}])


def cheapest_brand(db, rng, v):
    slug, cat = rng.choice(db.execute("SELECT slug, name FROM categories ORDER BY id").fetchall())
    brand = rng.choice([r[0] for r in db.execute("SELECT DISTINCT brand FROM products p JOIN categories c ON "
                                                 "c.id = p.category_id WHERE c.slug = ? ORDER BY brand", (slug,))])
    best = db.execute("SELECT p.name FROM products p JOIN categories c ON c.id = p.category_id WHERE c.slug = ? AND "
                      "brand = ? ORDER BY price_cents, p.id LIMIT 1", (slug, brand)).fetchone()[0]
    return task("shop", "cheapest_brand", v, f"Which {brand} product in the {cat} category is the cheapest? "
                                            "Answer with its name.", "/",
                {"eval_types": ["string_match"], "reference_answers": {"must_include": [best]}},
                [{"do": "fill", "sel": "#q", "text": brand}, {"do": "select", "sel": "#category", "option": cat},
                 {"do": "select", "sel": "#sort", "option": "price asc"},
                 {"do": "click", "sel": "form[role=search] button"}, {"do": "answer", "text": best}])


def order_total(db, rng, v):
    o = rng.choice(db.execute("SELECT o.id, o.total_cents, u.username FROM orders o JOIN users u ON u.id = o.user_id "
                              "ORDER BY o.id").fetchall())
    return task("shop", "order_total", v, f"What was the total of my order #{o['id']}?", "/",
                {"eval_types": ["string_match"], "reference_answers": {"must_include": [money(o["total_cents"])]}},
                [{"do": "click", "sel": 'a[href="/orders"]'}, {"do": "click", "sel": f'a[href="/orders/{o["id"]}"]'},
                 {"do": "answer", "text": money(o["total_cents"])}], login=o["username"])


def sorted_listing(db, rng, v):
    slug, cat = rng.choice(db.execute("SELECT slug, name FROM categories ORDER BY id").fetchall())
    order, label = rng.choice([("price_desc", "from the most to the least expensive"),
                               ("price_asc", "from the cheapest to the most expensive"), ("name", "by name")])
    return task("shop", "sorted_listing", v, f"Open the list of all {cat} products sorted {label}.", "/",
                {"eval_types": ["url_match"], "reference_url": f"{S}/search?category={slug}&sort={order}"},
                [{"do": "select", "sel": "#category", "option": cat},
                 {"do": "select", "sel": "#sort", "option": order.replace("_", " ")},
                 {"do": "click", "sel": "form[role=search] button"}, {"do": "answer", "text": "done"}])


def add_to_cart(db, rng, v):
    u, p = _user(db, rng), _product(db, rng, in_stock=True)
    qty = rng.randint(2, 4)
    return task("shop", "add_to_cart", v, f"Add {qty} units of the {p['name']} to my cart.", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "shop", "sql": f"SELECT product_id, qty FROM cart_items WHERE user_id = {u['id']}",
                     "expected": [[p["id"], qty]]}]},
                _find(p["name"], p["id"]) + [{"do": "fill", "sel": "#qty", "text": str(qty)},
                                             {"do": "click", "sel": "text=Add to cart"}, {"do": "answer", "text": "done"}],
                login=u["username"])


def review(db, rng, v):
    u, p = _user(db, rng), _product(db, rng)
    stars = rng.randint(1, 5)
    title = f"{rng.choice(['Solid', 'Handy', 'Meh', 'Superb', 'Okay'])} {p['name'].split()[-1].lower()} no. {v + 1}"
    return task("shop", "review", v, f"Post a {stars}-star review titled \"{title}\" for the {p['name']}.", "/",
                {"eval_types": ["db_state", "program_html"], "db_state": [
                    {"site": "shop", "sql": f"SELECT rating, title FROM reviews WHERE product_id = {p['id']} AND "
                                           f"user_id = {u['id']} ORDER BY id DESC LIMIT 1", "expected": [[stars, title]]}],
                 "program_html": [{"url": f"{S}/product/{p['id']}", "locator": "document.querySelector('main').innerText",
                                   "required_contents": {"must_include": [title]}}]},
                _find(p["name"], p["id"]) + [{"do": "select", "sel": "#rating", "option": f"{stars} stars"},
                                             {"do": "fill", "sel": "#title", "text": title},
                                             {"do": "click", "sel": "text=Post review"}, {"do": "answer", "text": "done"}],
                login=u["username"])


def checkout(db, rng, v):
    u, p = _user(db, rng), _product(db, rng, in_stock=True)
    addr = f"{rng.randint(10, 99)} {rng.choice(['Quay St', 'Birch Rd', 'Mill Lane'])}, {rng.choice(['Dover', 'Ely'])}"
    return task("shop", "checkout", v, f"Buy one {p['name']} with express shipping to \"{addr}\".", "/",
                {"eval_types": ["db_state"], "db_state": [
                    {"site": "shop", "sql": "SELECT o.shipping, o.address, oi.product_id, oi.qty FROM orders o JOIN "
                                           f"order_items oi ON oi.order_id = o.id WHERE o.user_id = {u['id']} AND "
                                           "o.status = 'pending'", "expected": [["express", addr, p["id"], 1]]}]},
                _find(p["name"], p["id"]) + [{"do": "click", "sel": "text=Add to cart"},
                                             {"do": "click", "sel": "text=Proceed to checkout"},
                                             {"do": "fill", "sel": "#address", "text": addr},
                                             {"do": "select", "sel": "#shipping", "option": "express"},
                                             {"do": "click", "sel": "text=Place order"}, {"do": "answer", "text": "done"}],
                login=u["username"])


TEMPLATES = {"price": price, "count_under": count_under, "cheapest_brand": cheapest_brand, "order_total": order_total,
             "sorted_listing": sorted_listing, "add_to_cart": add_to_cart, "review": review, "checkout": checkout}
