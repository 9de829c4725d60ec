"""``shop``: an online store — search with filters and sorting, product pages with reviews, a cart,
checkout with an address form, and order history.

Seeded with 320 products in 8 categories, 40 customers, ~200 past orders and ~500 reviews
(``random.Random(14)``; every customer's password is ``pass-<username>``).
"""

from __future__ import annotations

import random
import sqlite3

from starlette.responses import Response

from .common import USERS_SCHEMA, Ctx, Site, esc, handler, money, pager, seed_users, PAGE_SIZE

SCHEMA = USERS_SCHEMA + """
CREATE TABLE categories (id INTEGER PRIMARY KEY, slug TEXT UNIQUE, name TEXT);
CREATE TABLE products (id INTEGER PRIMARY KEY, sku TEXT UNIQUE, name TEXT, brand TEXT, category_id INTEGER,
                       price_cents INTEGER, stock INTEGER, description TEXT);
CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER, user_id INTEGER, rating INTEGER, title TEXT,
                      body TEXT, created TEXT);
CREATE TABLE cart_items (user_id INTEGER, product_id INTEGER, qty INTEGER, PRIMARY KEY (user_id, product_id));
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, created TEXT, status TEXT, total_cents INTEGER,
                     address TEXT, shipping TEXT);
CREATE TABLE order_items (order_id INTEGER, product_id INTEGER, qty INTEGER, price_cents INTEGER);
CREATE INDEX products_cat ON products(category_id);
"""

CATEGORIES = {
    "kitchen": ("Kitchen", ["Mug", "Kettle", "Skillet", "Cutting Board", "Chef Knife", "Blender", "Teapot", "Colander"]),
    "office": ("Office", ["Notebook", "Desk Lamp", "Stapler", "Fountain Pen", "Monitor Stand", "Planner", "Binder",
                          "Desk Organizer"]),
    "outdoor": ("Outdoor", ["Tent", "Sleeping Bag", "Headlamp", "Water Bottle", "Camp Stove", "Hiking Poles",
                            "Backpack", "Hammock"]),
    "electronics": ("Electronics", ["Headphones", "USB Hub", "Power Bank", "Webcam", "Keyboard", "Mouse", "Speaker",
                                    "Charger"]),
    "home": ("Home", ["Throw Blanket", "Candle", "Vase", "Wall Clock", "Pillow", "Rug", "Picture Frame", "Lamp"]),
    "garden": ("Garden", ["Trowel", "Watering Can", "Planter", "Pruning Shears", "Garden Hose", "Seed Kit",
                          "Bird Feeder", "Gloves"]),
    "toys": ("Toys", ["Puzzle", "Building Blocks", "Kite", "Board Game", "Plush Bear", "Yo-yo", "Train Set",
                      "Jump Rope"]),
    "sports": ("Sports", ["Yoga Mat", "Dumbbell", "Tennis Racket", "Soccer Ball", "Bike Helmet", "Jump Rope Pro",
                          "Foam Roller", "Swim Goggles"]),
}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Nordic", "Urban", "Vintage", "Pro", "Lite", "Rustic",
              "Smart", "Ultra", "Heritage", "Coastal", "Summit", "Metro"]
BRANDS = ["Acme", "Borealis", "Cobalt", "Driftwood", "Everly", "Fennec", "Granite", "Halcyon", "Juniper", "Kestrel"]
COLORS = ["red", "blue", "green", "black", "white", "grey", "teal", "amber"]
REVIEW_TITLES = {5: "Love it", 4: "Very good", 3: "Does the job", 2: "Disappointing", 1: "Broke quickly"}
SORTS = {"relevance": "p.id", "price_asc": "p.price_cents ASC, p.id", "price_desc": "p.price_cents DESC, p.id",
         "name": "p.name, p.id", "rating": "avg_rating DESC, p.id"}


def product_name(rng: random.Random, noun: str, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(COLORS).title()} {noun}"
        if name not in used:
            used.add(name)
            return name


class ShopSite(Site):
    name, title, version, schema = "shop", "OneStop Market", 1, SCHEMA
    nav = [("/search", "All products"), ("/cart", "Cart"), ("/orders", "My orders")]

    def seed(self, conn: sqlite3.Connection) -> None:
        rng = random.Random(14)
        users = seed_users(conn, rng, 40, moderators=0)
        used: set[str] = set()
        for slug, (label, nouns) in CATEGORIES.items():
            cat = conn.execute("INSERT INTO categories (slug, name) VALUES (?, ?)", (slug, label)).lastrowid
            for i in range(40):
                noun = nouns[i % len(nouns)]
                name = product_name(rng, noun, used)
                price = rng.choice([499, 899, 1299, 1999, 2499, 3499, 4999, 7999, 12999]) + rng.randint(0, 9) * 100
                desc = (f"The {name} by {{brand}} is a {rng.choice(['durable', 'lightweight', 'handmade', 'popular'])} "
                        f"{noun.lower()} for everyday use. Colour: {name.split()[1].lower()}.")
                brand = rng.choice(BRANDS)
                conn.execute("INSERT INTO products (sku, name, brand, category_id, price_cents, stock, description) "
                             "VALUES (?,?,?,?,?,?,?)", (f"{slug[:3].upper()}-{1000 + i}", name, brand, cat, price,
                                                        rng.choice([0, 3, 8, 15, 40, 100]), desc.format(brand=brand)))
        n_products = conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        for _ in range(500):
            pid, (uid, _) = rng.randint(1, n_products), rng.choice(users)
            rating = rng.choice([5, 5, 4, 4, 4, 3, 2, 1])
            conn.execute("INSERT INTO reviews (product_id, user_id, rating, title, body, created) VALUES (?,?,?,?,?,?)",
                         (pid, uid, rating, REVIEW_TITLES[rating], f"Rated {rating} of 5 after a few weeks of use.",
                          f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
        for _ in range(200):
            uid, _ = rng.choice(users)
            addr = conn.execute("SELECT address FROM users WHERE id = ?", (uid,)).fetchone()[0]
            created = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            oid = conn.execute("INSERT INTO orders (user_id, created, status, total_cents, address, shipping) "
                               "VALUES (?,?,?,?,?,?)", (uid, created, rng.choice(["delivered", "shipped", "cancelled"]),
                                                        0, addr, rng.choice(["standard", "express"]))).lastrowid
            total = 0
            for pid in rng.sample(range(1, n_products + 1), rng.randint(1, 3)):
                qty = rng.randint(1, 3)
                price = conn.execute("SELECT price_cents FROM products WHERE id = ?", (pid,)).fetchone()[0]
                conn.execute("INSERT INTO order_items VALUES (?,?,?,?)", (oid, pid, qty, price))
                total += qty * price
            conn.execute("UPDATE orders SET total_cents = ? WHERE id = ?", (total, oid))

    def routes(self):
        r = self.route
        return [r("/", self.home), r("/search", self.search), r("/product/{id}", self.product),
                r("/product/{id}/review", self.review, ["POST"]), r("/cart", self.cart),
                r("/cart/add", self.cart_add, ["POST"]), r("/cart/update", self.cart_update, ["POST"]),
                r("/checkout", self.checkout_form), r("/checkout", self.checkout, ["POST"]),
                r("/orders", self.orders), r("/orders/{id}", self.order)]

    # ------------------------------------------------------------------ pages
    @handler()
    async def home(self, cx: Ctx) -> Response:
        cats = cx.db.execute("SELECT c.slug, c.name, COUNT(p.id) n FROM categories c JOIN products p "
                             "ON p.category_id = c.id GROUP BY c.id ORDER BY c.name").fetchall()
        items = "".join(f'<li><a href="/search?category={c["slug"]}">{esc(c["name"])}</a> ({c["n"]})</li>' for c in cats)
        return cx.page("Welcome", f"""{self.search_form(cx)}<h2>Categories</h2><ul>{items}</ul>""")

    def search_form(self, cx: Ctx) -> str:
        q, cat, sort = cx.arg("q"), cx.arg("category"), cx.arg("sort", "relevance")
        cats = cx.db.execute("SELECT slug, name FROM categories ORDER BY name").fetchall()
        options = "".join(f'<option value="{c["slug"]}"{" selected" if c["slug"] == cat else ""}>{esc(c["name"])}'
                          f'</option>' for c in cats)
        sorts = "".join(f'<option value="{k}"{" selected" if k == sort else ""}>{k.replace("_", " ")}</option>'
                        for k in SORTS)
        return f"""<form role="search" method="get" action="/search">
<label for="q">Search products</label> <input id="q" name="q" value="{esc(q)}">
<label for="category">Category</label> <select id="category" name="category"><option value="">All</option>{options}</select>
<label for="max_price">Max price ($)</label> <input id="max_price" name="max_price" value="{esc(cx.arg('max_price'))}">
<label for="sort">Sort by</label> <select id="sort" name="sort">{sorts}</select>
<button type="submit">Search</button></form>"""

    @handler()
    async def search(self, cx: Ctx) -> Response:
        where, params = ["1=1"], []
        q = cx.arg("q").strip()
        for word in q.split()[:8]:
            where.append("(p.name LIKE ? OR p.brand LIKE ? OR p.description LIKE ?)")
            params += [f"%{word}%"] * 3
        if cx.arg("category"):
            where.append("c.slug = ?")
            params.append(cx.arg("category"))
        max_price = cx.arg("max_price").strip().lstrip("$")
        if max_price:
            try:
                where.append("p.price_cents <= ?")
                params.append(int(round(float(max_price) * 100)))
            except ValueError:
                return cx.page("Search", self.search_form(cx) + "<p role='alert'>Max price must be a number.</p>", 400)
        order = SORTS.get(cx.arg("sort"), SORTS["relevance"])
        base = f"FROM products p JOIN categories c ON c.id = p.category_id WHERE {' AND '.join(where)}"
        total = cx.db.execute(f"SELECT COUNT(*) {base}", params).fetchone()[0]
        page = max(1, cx.int_arg("page", 1))
        rows = cx.db.execute(f"SELECT p.*, c.name cat, (SELECT AVG(rating) FROM reviews r WHERE r.product_id = p.id) "
                             f"avg_rating {base} ORDER BY {order} LIMIT ? OFFSET ?",
                             params + [PAGE_SIZE, (page - 1) * PAGE_SIZE]).fetchall()
        body = "".join(f'<tr><td><a href="/product/{p["id"]}">{esc(p["name"])}</a></td><td>{esc(p["brand"])}</td>'
                       f'<td>{esc(p["cat"])}</td><td>{money(p["price_cents"])}</td>'
                       f'<td>{"In stock" if p["stock"] else "Out of stock"}</td></tr>' for p in rows)
        table = (f"<table><thead><tr><th>Product</th><th>Brand</th><th>Category</th><th>Price</th><th>Availability"
                 f"</th></tr></thead><tbody>{body}</tbody></table>") if rows else "<p>No products match.</p>"
        return cx.page("Search results", f"{self.search_form(cx)}<p>{total} products found.</p>{table}"
                                         f"{pager(cx, total, page)}")

    @handler()
    async def product(self, cx: Ctx) -> Response:
        p = cx.db.execute("SELECT p.*, c.name cat, c.slug FROM products p JOIN categories c ON c.id = p.category_id "
                          "WHERE p.id = ?", (cx.path_int("id"),)).fetchone()
        if p is None:
            return cx.not_found("Product")
        reviews = cx.db.execute("SELECT r.*, u.username FROM reviews r JOIN users u ON u.id = r.user_id "
                                "WHERE product_id = ? ORDER BY r.id", (p["id"],)).fetchall()
        avg = sum(r["rating"] for r in reviews) / len(reviews) if reviews else 0
        revs = "".join(f'<article><h3>{esc(r["title"])} — {r["rating"]}/5</h3><p>{esc(r["body"])}</p>'
                       f'<p>by {esc(r["username"])} on {r["created"]}</p></article>' for r in reviews)
        buy = (f'<form method="post" action="/cart/add"><input type="hidden" name="product_id" value="{p["id"]}">'
               f'<label for="qty">Quantity</label> <input id="qty" name="qty" type="number" value="1" min="1">'
               f'<button type="submit">Add to cart</button></form>') if p["stock"] else "<p>Out of stock.</p>"
        write = ""
        if cx.user is not None:
            write = (f'<h2>Write a review</h2><form method="post" action="/product/{p["id"]}/review">'
                     f'<label for="rating">Rating</label> <select id="rating" name="rating">'
                     + "".join(f'<option value="{i}">{i} stars</option>' for i in (5, 4, 3, 2, 1)) +
                     '</select> <label for="title">Title</label> <input id="title" name="title"> '
                     '<label for="body">Review</label> <textarea id="body" name="body"></textarea>'
                     '<button type="submit">Post review</button></form>')
        return cx.page(p["name"], f"""<p>Brand: {esc(p["brand"])} · Category: <a href="/search?category={p["slug"]}">
{esc(p["cat"])}</a> · SKU: {p["sku"]}</p><p>Price: <strong>{money(p["price_cents"])}</strong></p>
<p>{esc(p["description"])}</p><p>{p["stock"]} in stock</p>{buy}
<h2>Reviews ({len(reviews)}, average {avg:.1f})</h2>{revs}{write}""")

    @handler(login=True)
    async def review(self, cx: Ctx) -> Response:
        pid = cx.path_int("id")
        rating = cx.int_arg("rating", 0, cx.form)
        if not 1 <= rating <= 5 or not cx.form.get("title", "").strip():
            return cx.page("Review not posted", "<p role='alert'>A review needs a rating of 1-5 and a title.</p>", 400)
        if cx.db.execute("SELECT 1 FROM products WHERE id = ?", (pid,)).fetchone() is None:
            return cx.not_found("Product")
        cx.db.execute("INSERT INTO reviews (product_id, user_id, rating, title, body, created) VALUES (?,?,?,?,?,?)",
                      (pid, cx.user["id"], rating, cx.form["title"].strip(), cx.form.get("body", ""), "2025-01-15"))
        return cx.redirect(f"/product/{pid}")

    @handler(login=True)
    async def cart(self, cx: Ctx) -> Response:
        rows = cx.db.execute("SELECT p.id, p.name, p.price_cents, ci.qty FROM cart_items ci JOIN products p "
                             "ON p.id = ci.product_id WHERE ci.user_id = ? ORDER BY p.name", (cx.user["id"],)).fetchall()
        if not rows:
            return cx.page("Your cart", "<p>Your cart is empty.</p><p><a href='/search'>Browse products</a></p>")
        lines = "".join(f'<tr><td><a href="/product/{r["id"]}">{esc(r["name"])}</a></td><td>{money(r["price_cents"])}'
                        f'</td><td><form class="inline" method="post" action="/cart/update"><input type="hidden" '
                        f'name="product_id" value="{r["id"]}"><input name="qty" type="number" min="0" '
                        f'value="{r["qty"]}" aria-label="Quantity of {esc(r["name"])}"><button>Update</button></form>'
                        f'</td></tr>' for r in rows)
        total = sum(r["price_cents"] * r["qty"] for r in rows)
        return cx.page("Your cart", f"<table><thead><tr><th>Product</th><th>Price</th><th>Quantity</th></tr></thead>"
                                    f"<tbody>{lines}</tbody></table><p>Subtotal: {money(total)}</p>"
                                    f"<p><a href='/checkout'>Proceed to checkout</a></p>")

    @handler(login=True)
    async def cart_add(self, cx: Ctx) -> Response:
        pid, qty = cx.int_arg("product_id", -1, cx.form), cx.int_arg("qty", 1, cx.form)
        p = cx.db.execute("SELECT stock FROM products WHERE id = ?", (pid,)).fetchone()
        if p is None:
            return cx.not_found("Product")
        if not 1 <= qty <= 99:
            return cx.page("Not added", "<p role='alert'>Quantity must be between 1 and 99.</p>", 400)
        cx.db.execute("INSERT INTO cart_items VALUES (?,?,?) ON CONFLICT(user_id, product_id) DO UPDATE SET qty = qty + "
                      "excluded.qty", (cx.user["id"], pid, qty))
        return cx.redirect("/cart")

    @handler(login=True)
    async def cart_update(self, cx: Ctx) -> Response:
        pid, qty = cx.int_arg("product_id", -1, cx.form), cx.int_arg("qty", -1, cx.form)
        if not 0 <= qty <= 99:
            return cx.page("Not updated", "<p role='alert'>Quantity must be between 0 and 99.</p>", 400)
        if qty == 0:
            cx.db.execute("DELETE FROM cart_items WHERE user_id = ? AND product_id = ?", (cx.user["id"], pid))
        else:
            cx.db.execute("UPDATE cart_items SET qty = ? WHERE user_id = ? AND product_id = ?", (qty, cx.user["id"], pid))
        return cx.redirect("/cart")

    @handler(login=True)
    async def checkout_form(self, cx: Ctx) -> Response:
        n = cx.db.execute("SELECT COUNT(*) FROM cart_items WHERE user_id = ?", (cx.user["id"],)).fetchone()[0]
        if not n:
            return cx.page("Checkout", "<p>Your cart is empty.</p>")
        return cx.page("Checkout", f"""<form method="post" action="/checkout">
<label for="address">Shipping address</label> <input id="address" name="address" value="{esc(cx.user['address'])}">
<label for="shipping">Shipping</label> <select id="shipping" name="shipping"><option value="standard">standard
</option><option value="express">express</option></select>
<button type="submit">Place order</button></form>""")

    @handler(login=True)
    async def checkout(self, cx: Ctx) -> Response:
        uid = cx.user["id"]
        rows = cx.db.execute("SELECT ci.product_id, ci.qty, p.price_cents FROM cart_items ci JOIN products p "
                             "ON p.id = ci.product_id WHERE ci.user_id = ?", (uid,)).fetchall()
        address = cx.form.get("address", "").strip()
        if not rows or not address:
            return cx.page("Checkout", "<p role='alert'>An order needs items in the cart and an address.</p>", 400)
        shipping = cx.form.get("shipping") if cx.form.get("shipping") in ("standard", "express") else "standard"
        total = sum(r["qty"] * r["price_cents"] for r in rows)
        oid = cx.db.execute("INSERT INTO orders (user_id, created, status, total_cents, address, shipping) VALUES "
                            "(?,?,?,?,?,?)", (uid, "2025-01-15", "pending", total, address, shipping)).lastrowid
        cx.db.executemany("INSERT INTO order_items VALUES (?,?,?,?)",
                          [(oid, r["product_id"], r["qty"], r["price_cents"]) for r in rows])
        cx.db.execute("DELETE FROM cart_items WHERE user_id = ?", (uid,))
        return cx.redirect(f"/orders/{oid}")

    @handler(login=True)
    async def orders(self, cx: Ctx) -> Response:
        rows = cx.db.execute("SELECT * FROM orders WHERE user_id = ? ORDER BY created DESC, id DESC",
                             (cx.user["id"],)).fetchall()
        body = "".join(f'<tr><td><a href="/orders/{o["id"]}">Order #{o["id"]}</a></td><td>{o["created"]}</td>'
                       f'<td>{o["status"]}</td><td>{money(o["total_cents"])}</td></tr>' for o in rows)
        return cx.page("My orders", f"<table><thead><tr><th>Order</th><th>Date</th><th>Status</th><th>Total</th></tr>"
                                    f"</thead><tbody>{body}</tbody></table>" if rows else "<p>No orders yet.</p>")

    @handler(login=True)
    async def order(self, cx: Ctx) -> Response:
        o = cx.db.execute("SELECT * FROM orders WHERE id = ? AND user_id = ?",
                          (cx.path_int("id"), cx.user["id"])).fetchone()
        if o is None:
            return cx.not_found("Order")
        items = cx.db.execute("SELECT oi.*, p.name FROM order_items oi JOIN products p ON p.id = oi.product_id "
                              "WHERE order_id = ?", (o["id"],)).fetchall()
        lines = "".join(f'<li>{i["qty"]} × <a href="/product/{i["product_id"]}">{esc(i["name"])}</a> at '
                        f'{money(i["price_cents"])}</li>' for i in items)
        return cx.page(f"Order #{o['id']}", f"<p>Placed {o['created']} · Status: {o['status']} · Shipping: "
                                            f"{o['shipping']}</p><p>Ship to: {esc(o['address'])}</p><ul>{lines}</ul>"
                                            f"<p>Total: <strong>{money(o['total_cents'])}</strong></p>")
