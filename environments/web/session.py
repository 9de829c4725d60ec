"""One episode's browser: a BrowserContext with its tabs, network containment and the actions.

Runs on the browser thread (see :mod:`.browser`); :class:`~.env.WebEnv` reaches it through
``pool.call``. Every request the pages make goes through Playwright routing: only the episode's
own origins pass, the rest is aborted and reported in the next observation. JS dialogs are
dismissed, downloads refused, popups become tabs — each said in the observation.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urljoin, urlsplit

from .browser import CONTEXT_OPTIONS, BrowserCrashedError, BrowserPool, WebInfraError
from .observation import ID_ATTR, RESTORE_FORM_JS, SNAPSHOT_FORM_JS, WALK_JS, render

SCROLL = {"down": (0, 600), "up": (0, -600), "right": (600, 0), "left": (-600, 0)}
CLOSED_MARKERS = ("has been closed", "Target closed", "Browser closed", "browser has disconnected",
                  "Connection closed")


class ActionError(Exception):
    """An action the page could not do (unknown id, hidden element, timeout): feedback, not a crash."""


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class BrowserSession:
    """Tabs of one episode. ``allowed`` are origins (``http://127.0.0.1:PORT``) the pages may reach."""

    def __init__(self, pool: BrowserPool, allowed: list[str], headers: dict[str, str], *, max_chars: int = 8000,
                 max_nodes: int = 3000, action_timeout: float = 5.0, nav_timeout: float = 10.0):
        self.pool, self.allowed = pool, {origin(u) for u in allowed}
        self.headers, self.max_chars, self.max_nodes = headers, max_chars, max_nodes
        self.action_ms, self.nav_ms = int(action_timeout * 1000), int(nav_timeout * 1000)
        self.ctx: Any = None
        self.slot = 0
        self.pages: list[Any] = []
        self.active = 0
        self.notices: list[str] = []
        self.blocked: list[str] = []
        self.status: dict[int, int] = {}
        self._hidden = 0
        self.requests: list[tuple[str, str, str]] = []   # (method, url, post data) of allowed requests

    # ------------------------------------------------------------------ lifecycle
    async def open(self, start_url: str, cookies: list[dict] | None = None, storage_state: dict | None = None) -> None:
        if storage_state and not any(o.get("localStorage") for o in storage_state.get("origins") or []):
            cookies, storage_state = list(cookies or []) + list(storage_state.get("cookies") or []), None
        if storage_state:   # fork with local storage: a context built from the parent's storage state
            self.ctx, self.slot = await self.pool.new_context(storage_state=storage_state, **CONTEXT_OPTIONS)
            page = await self.ctx.new_page()
        else:               # reset, or a fork with cookies only: a context with its page opened ahead of time
            self.ctx, self.slot, page = await self.pool.take_warm()
        self.ctx.set_default_timeout(self.action_ms)
        self.ctx.set_default_navigation_timeout(self.nav_ms)
        await self.ctx.set_extra_http_headers(self.headers)
        await self.ctx.route("**/*", self._route)
        await self.ctx.route_web_socket(lambda url: origin(url.replace("ws", "http", 1)) not in self.allowed,
                                        self._block_ws)
        self.ctx.on("page", self._on_page)
        if cookies:
            await self.ctx.add_cookies(cookies)
        self._on_page(page)
        await self._goto(page, start_url)

    async def close(self) -> None:
        if self.ctx is not None:
            ctx, self.ctx = self.ctx, None
            await self.pool.release(ctx, self.slot)

    def _on_page(self, page: Any) -> None:
        if page in self.pages or self._hidden:
            return
        if self.pages:
            self.notices.append(f"A new tab opened ({len(self.pages)}); switch_tab({len(self.pages)}) to see it.")
        self.pages.append(page)
        page.on("dialog", self._on_dialog)
        page.on("download", self._on_download)
        page.on("response", lambda r: self._on_response(page, r))

    async def _on_dialog(self, dialog: Any) -> None:
        self.notices.append(f"A JavaScript {dialog.type} said {dialog.message[:200]!r}; it was dismissed.")
        try:
            await dialog.dismiss()
        except Exception:
            pass

    def _on_download(self, download: Any) -> None:
        self.notices.append(f"A download ({download.suggested_filename[:100]!r}) was blocked: downloads are disabled.")

    def _on_response(self, page: Any, response: Any) -> None:
        try:
            if response.request.is_navigation_request() and response.frame == page.main_frame:
                self.status[id(page)] = response.status
        except Exception:
            pass

    async def _route(self, route: Any) -> None:
        url = route.request.url
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("data", "blob", "about") or origin(url) in self.allowed:
            if scheme.startswith("http") and len(self.requests) < 2000:
                req = route.request
                self.requests.append((req.method, url, (req.post_data or "")[:5000]))
            await route.continue_()
            return
        self.blocked.append(url[:200])
        await route.abort("blockedbyclient")

    async def _block_ws(self, ws: Any) -> None:
        self.blocked.append(ws.url[:200])
        await ws.close()

    # ------------------------------------------------------------------ state
    @property
    def page(self) -> Any:
        if not self.pages:
            raise ActionError("no tab is open; use new_tab(url)")
        return self.pages[self.active]

    def _check_alive(self, e: Exception) -> None:
        if not self.pool.is_alive(self.slot) or any(m in str(e) for m in CLOSED_MARKERS) and not self.pool.is_alive(
                self.slot):
            raise BrowserCrashedError(f"the browser died during the episode: {str(e).splitlines()[0][:200]}") from e

    async def url_and_cookies(self) -> tuple[list[str], int, dict, list]:
        """What fork() needs: tab URLs, the active tab, storage state and the form values of the active tab."""
        state = await self.ctx.storage_state()
        forms = []
        try:
            forms = await self.page.evaluate(SNAPSHOT_FORM_JS, ID_ATTR)
        except Exception:
            pass
        return [p.url for p in self.pages], self.active, state, forms

    async def restore(self, urls: list[str], active: int, forms: list) -> None:
        for i, url in enumerate(urls):
            page = self.pages[0] if i == 0 else await self.ctx.new_page()
            if i == 0 and page.url != url:
                await self._goto(page, url)
            elif i > 0:
                await self._goto(page, url)
        self.active = min(active, len(self.pages) - 1)
        await self.observe(consume=False)  # assigns ids in document order, as the parent's first look did
        if forms:
            await self.page.evaluate(RESTORE_FORM_JS, [ID_ATTR, forms])
        self.notices.clear()

    # ------------------------------------------------------------------ observation
    async def observe(self, error: str | None = None, consume: bool = True) -> str:
        page = self.page
        for attempt in range(4):
            try:
                snap = await page.evaluate(WALK_JS, [self.max_nodes, ID_ATTR])
                break
            except Exception as e:
                self._check_alive(e)
                if attempt == 3:
                    raise WebInfraError(f"could not read the page {page.url[:200]}: {str(e).splitlines()[0]}") from e
                try:
                    await page.wait_for_load_state("domcontentloaded", timeout=self.nav_ms)
                except Exception:
                    await asyncio.sleep(0.1)
        notices = list(self.notices)
        if self.blocked:
            shown = ", ".join(self.blocked[:5]) + (f" and {len(self.blocked) - 5} more" if len(self.blocked) > 5 else "")
            notices.append(f"Blocked requests (only this task's sites are reachable): {shown}")
        status = self.status.get(id(page))
        if status and status >= 400:
            notices.append(f"HTTP status: {status}")
        if consume:
            self.notices, self.blocked = [], []
        titles = []
        for p in self.pages:
            try:
                titles.append((await p.title())[:60] or p.url[:60])
            except Exception:
                titles.append(p.url[:60])
        return render(url=page.url, title=snap["title"], lines=snap["lines"], tabs=titles, active=self.active,
                      error=error, notices=notices, max_chars=self.max_chars, truncated_nodes=snap["truncated"],
                      scroll=tuple(snap["scroll"]))

    async def screenshot(self) -> str:
        return base64.b64encode(await self.page.screenshot(type="png")).decode()

    # ------------------------------------------------------------------ actions
    def _element(self, element_id: str) -> Any:
        ref = str(element_id).strip().strip("[]'\"")
        if not ref.isdigit() or len(ref) > 9:
            raise ActionError(f"`{ref[:40]}` is not an element id; use a number shown in [brackets], e.g. click('12')")
        return self.page.locator(f'[{ID_ATTR}="{ref}"]'), ref

    async def _exists(self, loc: Any, ref: str) -> None:
        if await loc.count() == 0:
            raise ActionError(f"no element with id {ref} on this page; use an id shown in [brackets] of the "
                              "latest observation")

    async def _goto(self, page: Any, url: str) -> None:
        if origin(url) not in self.allowed and not url.startswith("about:"):
            raise ActionError(f"{url[:200]} is not reachable: only this task's sites are allowed "
                              f"({', '.join(sorted(self.allowed))})")
        if page not in self.pages:
            self._on_page(page)
        try:
            await page.goto(url, wait_until="load", timeout=self.nav_ms)
        except Exception as e:
            self._check_alive(e)
            if "Timeout" in type(e).__name__ or "Timeout" in str(e):
                await self._stop_loading(page)
                raise ActionError(f"the page {url[:200]} did not finish loading within {self.nav_ms / 1000:g} s") from e
            raise ActionError(f"could not open {url[:200]}: {str(e).splitlines()[0][:200]}") from e

    async def _stop_loading(self, page: Any) -> None:
        """Abandons a navigation that timed out (else the next look waits for the hanging server)."""
        try:
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Page.stopLoading")
            await cdp.detach()
        except Exception:
            pass  # not Chromium, or the page is gone: the next look reports it

    async def act(self, name: str, args: dict[str, Any]) -> None:
        """Does one action on the active tab; raises :class:`ActionError` for the model's mistakes."""
        try:
            await self._act(name, args)
            try:
                await self.page.wait_for_load_state("load", timeout=self.nav_ms)
            except Exception as e:
                self._check_alive(e)
                await self._stop_loading(self.page)
                raise ActionError(f"the page did not finish loading within {self.nav_ms / 1000:g} s") from e
        except (ActionError, WebInfraError):
            raise
        except Exception as e:
            self._check_alive(e)
            msg = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            if "Timeout" in type(e).__name__:
                msg = f"the element could not be used within {self.action_ms / 1000:g} s (hidden, disabled or covered)"
            raise ActionError(f"{name} failed: {msg}") from e

    async def _act(self, name: str, a: dict[str, Any]) -> None:
        if name in ("click", "hover", "fill", "select", "focus", "clear"):
            loc, ref = self._element(a.get("element_id", ""))
            await self._exists(loc, ref)
            if name == "click":
                await loc.click()
            elif name == "hover":
                await loc.hover()
            elif name == "focus":
                await loc.focus()
            elif name in ("fill", "clear"):
                tag = await loc.evaluate("e => e.tagName + ':' + (e.type || '')")
                if tag.startswith("SELECT"):
                    raise ActionError(f"element {ref} is a dropdown; use select({ref}, option)")
                await loc.fill("" if name == "clear" else str(a.get("text", "")))
            else:
                option = str(a.get("option", ""))
                tag = await loc.evaluate("e => e.tagName")
                if tag != "SELECT":
                    raise ActionError(f"element {ref} is not a dropdown; use click or fill")
                labels = await loc.evaluate("e => Array.from(e.options).map(o => o.textContent.trim())")
                values = await loc.evaluate("e => Array.from(e.options).map(o => o.value)")
                if option in labels:
                    await loc.select_option(label=option)
                elif option in values:
                    await loc.select_option(value=option)
                else:
                    raise ActionError(f"element {ref} has no option {option[:80]!r}; its options are "
                                      f"{', '.join(repr(x) for x in labels[:20])}")
        elif name == "press":
            key = str(a.get("key", ""))
            if a.get("element_id"):
                loc, ref = self._element(a["element_id"])
                await self._exists(loc, ref)
                await loc.press(key)
            else:
                await self.page.keyboard.press(key)
        elif name == "scroll":
            d = SCROLL.get(str(a.get("direction", "")).lower())
            if d is None:
                raise ActionError("direction must be up, down, left or right")
            await self.page.mouse.wheel(*d)
        elif name == "goto":
            url = urljoin(self.page.url, str(a.get("url", "")).strip())
            await self._goto(self.page, url)
        elif name == "go_back":
            if await self.page.go_back() is None:
                raise ActionError("there is no previous page in this tab")
        elif name == "go_forward":
            if await self.page.go_forward() is None:
                raise ActionError("there is no next page in this tab")
        elif name == "new_tab":
            url = str(a.get("url") or "about:blank")
            url = urljoin(self.page.url, url) if self.pages and not url.startswith("about:") else url
            if origin(url) not in self.allowed and not url.startswith("about:"):
                raise ActionError(f"{url[:200]} is not reachable: only this task's sites are allowed")
            page = await self.ctx.new_page()
            self._on_page(page)
            self.notices = [n for n in self.notices if not n.startswith("A new tab opened")]
            self.active = self.pages.index(page)
            if not url.startswith("about:"):
                await self._goto(page, url)
        elif name == "switch_tab":
            index = a.get("index")
            if not isinstance(index, int) or not 0 <= index < len(self.pages):
                raise ActionError(f"there is no tab {index!r}; tabs are numbered 0 to {len(self.pages) - 1}")
            self.active = index
            await self.page.bring_to_front()
        elif name == "close_tab":
            if len(self.pages) == 1:
                raise ActionError("the last tab cannot be closed")
            page = self.pages.pop(self.active)
            await page.close()
            self.active = max(0, self.active - 1)
        else:
            raise ActionError(f"unknown action {name[:40]!r}")

    # ------------------------------------------------------------------ evaluation helpers
    async def read_in_new_page(self, url: str, locator: str) -> str:
        """Opens ``url`` in a hidden page of this context and evaluates a WebArena ``locator`` there."""
        self._hidden += 1
        page = await self.ctx.new_page()
        try:
            await page.goto(url, wait_until="load", timeout=self.nav_ms)
            if not locator:
                return await page.content()
            if locator.startswith("func:"):
                raise ValueError("func: locators need WebArena's helper functions; use a JS locator")
            value = await page.evaluate(f"() => {{ try {{ return String({locator}); }} catch (e) {{ return ''; }} }}")
            return value or ""
        finally:
            self._hidden -= 1
            if page in self.pages:
                self.pages.remove(page)
            await page.close()
