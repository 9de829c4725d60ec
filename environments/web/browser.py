"""One Chromium per worker process, a BrowserContext per episode, crash recovery.

Playwright objects belong to the event loop that created them, while envs are driven from many
loops (``agentgym.run``, pytest, the sync facade). So the browser lives on its own thread with its
own loop, and every browser call is shipped there::

    pool = browser_pool()                              # process-wide, started on first use
    ctx = await pool.call(pool.new_context, allowed=["http://127.0.0.1:8123"])
    await pool.call(some_coroutine_function, ctx, ...)  # runs on the browser thread

A browser that dies (crash, OOM kill) is noticed through Playwright's ``disconnected`` event; the
episodes that were using it fail with :class:`BrowserCrashedError` (an infrastructure error, never
a reward 0) and the next context starts a fresh browser.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from concurrent.futures import Future
from typing import Any, Awaitable, Callable, TypeVar

from agentgym.errors import InfraError, MissingDependencyError

T = TypeVar("T")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio"]
DEFAULT_CALL_TIMEOUT = 60.0
WARM_WAIT = 5.0   # seconds a reset waits for a warm context being prepared before opening its own
CONTEXT_OPTIONS = {"accept_downloads": False, "service_workers": "block", "viewport": {"width": 1280, "height": 900}}


class WebInfraError(InfraError):
    """The browser or a site failed (not the agent): the episode ends as an infrastructure error."""


class BrowserCrashedError(WebInfraError):
    """The Chromium process died during the episode; it is restarted for the next episode."""


def chromium_executable() -> str | None:
    """Debian's Chromium when present (``AGENTGYM_CHROMIUM`` overrides), else Playwright's own."""
    path = os.environ.get("AGENTGYM_CHROMIUM")
    if path:
        return path
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


class BrowserPool:
    """Chromium processes on a private event-loop thread; contexts are spread over ``size`` browsers."""

    def __init__(self, size: int = 1):
        self.size = max(1, size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pw: Any = None
        self._browsers: list[Any] = [None] * self.size
        self._load = [0] * self.size
        self._launching: asyncio.Lock | None = None
        self.restarts = 0
        self.warm_target = max(0, int(os.environ.get("AGENTGYM_WEB_WARM", "1")))
        self._warm: list[tuple[Any, int, Any]] = []
        self._refill_task: asyncio.Future | None = None

    # ------------------------------------------------------------------ thread plumbing
    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="agentgym-web-browser", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = DEFAULT_CALL_TIMEOUT,
                   **kwargs: Any) -> T:
        """Runs ``fn(*args, **kwargs)`` on the browser thread and awaits it from any loop."""
        loop = self._ensure_thread()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return await fn(*args, **kwargs)
        fut: Future = asyncio.run_coroutine_threadsafe(_within(fn(*args, **kwargs), timeout), loop)
        return await asyncio.wrap_future(fut)

    def call_sync(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = DEFAULT_CALL_TIMEOUT) -> T:
        loop = self._ensure_thread()
        return asyncio.run_coroutine_threadsafe(_within(fn(*args), timeout), loop).result()

    # ------------------------------------------------------------------ on the browser thread
    async def _browser(self, slot: int) -> Any:
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:
            b = self._browsers[slot]
            if b is not None and b.is_connected():
                return b
            if b is not None:
                self.restarts += 1
            if self._pw is None:
                try:
                    from playwright.async_api import async_playwright
                except ImportError as e:
                    raise MissingDependencyError("playwright", "web", "the web environments") from e
                self._pw = await async_playwright().start()
            exe = chromium_executable()
            try:
                b = await self._pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, timeout=30_000)
            except Exception as e:
                raise WebInfraError(f"could not start Chromium ({exe or 'playwright bundled'}): {e}. Install it "
                                    "(apt-get install chromium, or `playwright install chromium`) or set "
                                    "AGENTGYM_CHROMIUM") from e
            b.on("disconnected", lambda _b, slot=slot: self._on_disconnect(slot))
            self._browsers[slot] = b
            return b

    async def new_context(self, **kwargs: Any) -> tuple[Any, int]:
        """A fresh BrowserContext on the least loaded browser: ``(context, slot)``."""
        slot = min(range(self.size), key=lambda i: self._load[i])
        browser = await self._browser(slot)
        try:
            ctx = await browser.new_context(**kwargs)
        except Exception as e:
            if not browser.is_connected():
                browser = await self._browser(slot)
                ctx = await browser.new_context(**kwargs)
            else:
                raise WebInfraError(f"could not open a browser context: {e}") from e
        self._load[slot] += 1
        return ctx, slot

    async def take_warm(self) -> tuple[Any, int, Any]:
        """A fresh context (:data:`CONTEXT_OPTIONS`) with one blank page: ``(context, slot, page)``.

        Opening a page starts a renderer (0.2-0.5 s), so one is kept ready ahead of time
        (``AGENTGYM_WEB_WARM`` of them, default 1) and refilled by :meth:`prewarm` once the reset is
        over (refilling during the reset would compete with it for the CPU). Nothing has been loaded
        in it: the episode sets its headers, routes and cookies before the first request.
        """
        if not self._warm and self._refill_task is not None and not self._refill_task.done():
            await asyncio.wait({self._refill_task}, timeout=WARM_WAIT)   # nearly ready: better than a cold start
        while self._warm:
            ctx, slot, page = self._warm.pop(0)
            if self.is_alive(slot) and not page.is_closed():
                return ctx, slot, page
            await self.release(ctx, slot)        # its browser died meanwhile
        ctx, slot = await self.new_context(**CONTEXT_OPTIONS)
        try:
            page = await ctx.new_page()
        except Exception:
            await self.release(ctx, slot)
            raise
        return ctx, slot, page

    async def prewarm(self) -> None:
        """Starts refilling the warm contexts in the background (returns at once)."""
        if self.warm_target and len(self._warm) < self.warm_target and (
                self._refill_task is None or self._refill_task.done()):
            self._refill_task = asyncio.ensure_future(self._refill())

    async def _refill(self) -> None:
        while len(self._warm) < self.warm_target:
            try:
                ctx, slot = await asyncio.wait_for(self.new_context(**CONTEXT_OPTIONS), 30)
            except Exception:
                return  # the next take_warm opens one itself (and reports why if it cannot)
            try:
                page = await asyncio.wait_for(ctx.new_page(), 30)
            except Exception:
                await self.release(ctx, slot)
                return
            self._warm.append((ctx, slot, page))

    def _on_disconnect(self, slot: int) -> None:
        """The browser of ``slot`` died: its warm contexts are gone, a refill talking to it never answers."""
        self._warm = [w for w in self._warm if w[1] != slot]
        if self._refill_task is not None and not self._refill_task.done():
            self._refill_task.cancel()

    async def release(self, ctx: Any, slot: int) -> None:
        self._load[slot] = max(0, self._load[slot] - 1)
        if not self.is_alive(slot):
            return  # closing a context of a dead browser may never answer
        try:
            await asyncio.wait_for(ctx.close(), 10)
        except Exception:
            pass  # the browser may already be gone

    def is_alive(self, slot: int) -> bool:
        b = self._browsers[slot]
        return b is not None and b.is_connected()

    async def browser_pids(self) -> list[int]:
        """PIDs of the running Chromium browser processes (tests use them to simulate a crash)."""
        pids = []
        for b in self._browsers:
            if b is not None and b.is_connected():
                session = await b.new_browser_cdp_session()
                info = await session.send("SystemInfo.getProcessInfo")
                await session.detach()
                pids += [p["id"] for p in info["processInfo"] if p["type"] == "browser"]
        return pids


async def _within(coro: Awaitable[T], timeout: float | None) -> T:
    if timeout is None:
        return await coro
    try:
        return await asyncio.wait_for(coro, timeout)
    except asyncio.TimeoutError:
        raise WebInfraError(f"the browser did not answer within {timeout:g} s") from None


_POOL: BrowserPool | None = None
_POOL_LOCK = threading.Lock()


def browser_pool() -> BrowserPool:
    """The process-wide pool (``AGENTGYM_WEB_BROWSERS`` browsers, default 1)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = BrowserPool(int(os.environ.get("AGENTGYM_WEB_BROWSERS", "1")))
        return _POOL
