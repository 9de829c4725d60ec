"""``web/*`` envs: tasks in a real Chromium on self-hosted sites, one database copy per episode.

    env = agentgym.make("web/shop")                  # also web/forum, web/calendar, web/all
    first = await env.reset(seed=3)                  # task + accessibility tree with [ids]
    await env.step(Message.assistant(tool_calls=[ToolCall(name="click", arguments='{"element_id": "12"}')]))
    await env.step(Message.assistant("fill('7', 'mug')"))     # BrowserGym action strings work too
    twin = await env.fork()                          # database copy + same URL, cookies and form values

Tools: ``click``, ``fill``, ``select``, ``press``, ``scroll``, ``hover``, ``goto`` (the task's sites
only), ``go_back``, ``new_tab``, ``switch_tab``, ``answer`` (ends the episode and runs the task's
evaluators). Reward 1 if every check passes, else 0 (WebAgent-R1's binary reward); channels
``format``, ``tool_ok`` and ``outcome``. A dead browser raises :class:`BrowserCrashedError` (an
infrastructure error the engine records as such, never a reward 0).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from typing import Any, Literal

from agentgym.env import ToolEnv, ToolResult
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task

from .actions import ActionParseError, parse_browsergym
from .browser import WebInfraError, browser_pool
from .evaluators import evaluate
from .observation import compact
from .oracle import WebOracle
from .server import EPISODE_HEADER, site_host
from .session import ActionError, BrowserSession

PNG_URL = "data:image/png;base64,"
SCREENSHOT_TEXT = "Screenshot of the current page:"   # image parts may not ride on tool messages: a user turn

SYSTEM_PROMPT = (
    "You operate a web browser to complete the task. Each observation shows the page's URL and its accessibility "
    "tree; elements you can use have an id in [brackets]. Act with the tools (click, fill, select, press, scroll, "
    "hover, goto, go_back, new_tab, switch_tab). When the task asks a question, call answer with only the answer; "
    "when it asks you to change something, do it and then call answer('done')."
)


class WebEnv(WebOracle, ToolEnv):
    """Browser tasks on the bundled sites.

    Args:
        sites: which bundled sites' tasks to draw from (``shop``, ``forum``, ``calendar``).
        split: ``train`` or ``test`` tasks (``all`` for both).
        max_obs_chars: observation budget; longer pages are cut with a notice.
        screenshot: for multimodal policies: the first observation carries a PNG of the page as an
            image part (``Message.images``; ``to_openai()`` sends content parts), and after every
            step a user message with the new screenshot follows the tool results (also in
            ``info["screenshot"]`` for the run report). Text-only models should leave it off.
        action_timeout / nav_timeout: seconds an element action / a page load may take.
        history: ``full`` (every observation whole) or ``diff`` (after the first, tree lines the model
            saw in the previous observation fold into ``[... N unchanged lines]``; see
            :func:`~.observation.compact`). WebAgent-R1 instead replaces older observations by a
            placeholder, which rewrites the prompt every turn; token-in/token-out training needs an
            append-only history, so ``diff`` keeps the context short without rewriting anything.
    """

    system_prompt = SYSTEM_PROMPT
    tool_timeout = 150.0
    max_calls_per_turn = 4

    def __init__(self, *, sites: list[str] | tuple[str, ...] = ("shop",), split: str = "train",
                 max_obs_chars: int = 6000, screenshot: bool = False, action_timeout: float = 5.0,
                 nav_timeout: float = 10.0, history: str = "full"):
        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        if not isinstance(max_obs_chars, int) or not 200 <= max_obs_chars <= 1_000_000:
            raise ValueError(f"max_obs_chars must be an integer between 200 and 1000000, got {max_obs_chars!r}")
        if history not in ("full", "diff"):
            raise ValueError(f"history must be 'full' or 'diff', got {history!r}")
        if not isinstance(screenshot, bool):
            raise ValueError(f"screenshot must be true or false, got {screenshot!r}")
        for name, value in (("action_timeout", action_timeout), ("nav_timeout", nav_timeout)):
            if not isinstance(value, (int, float)) or not 0.1 <= value <= 120:
                raise ValueError(f"{name} must be between 0.1 and 120 seconds, got {value!r}")
        from .sites import SITES

        sites = [sites] if isinstance(sites, str) else list(sites)
        unknown = [s for s in sites if s not in SITES]
        if unknown or not sites:
            raise ValueError(f"unknown sites {unknown}; the bundled sites are {', '.join(SITES)}")
        self._web_kwargs = dict(sites=sites, split=split, max_obs_chars=max_obs_chars, screenshot=screenshot,
                                action_timeout=action_timeout, nav_timeout=nav_timeout, history=history)
        self.sites, self.split, self.max_obs_chars, self.screenshot = sites, split, max_obs_chars, screenshot
        self.history, self._seen_lines = history, None
        self.action_timeout, self.nav_timeout = float(action_timeout), float(nav_timeout)
        self.pool = browser_pool()
        self.session: BrowserSession | None = None
        self.token: str | None = None
        self.urls: dict[str, str] = {}
        self.dbs: dict[str, Any] = {}
        self.web_task: dict[str, Any] = {}

    # ------------------------------------------------------------------ tasks and sites (overridden by web/tasks)
    def task_pool(self) -> list[dict[str, Any]]:
        from .tasks import bundled_tasks

        tasks = bundled_tasks(self.sites)
        return [t for t in tasks if self.split == "all" or t["split"] == self.split]

    def _prepare_sites(self, t: dict[str, Any], source: dict[str, Any] | None = None) -> list[dict]:
        """Starts the task's sites and copies their databases; returns the cookies to log in with."""
        host = site_host()
        names = list(t.get("sites") or self.sites)
        self.urls = host.start(names)
        self.token = None
        for name in names:
            self.token, self.dbs[name] = host.new_episode_db(name, source=(source or {}).get(name), token=self.token)
        cookies = []
        if t.get("require_login") and t.get("login_as") and source is None:
            from .sites import get_site

            for name in names:
                sid = get_site(name).open_session(self.dbs[name], t["login_as"])
                cookies.append({"name": "sid", "value": sid, "url": self.urls[name]})
        return cookies

    def _release_sites(self) -> None:
        if self.token:
            site_host().drop_episode_db(self.token)
            self.token, self.dbs = None, {}

    def resolve(self, text: str) -> str:
        """``__SHOP__/cart`` → ``http://127.0.0.1:PORT/cart``."""
        for name, url in self.urls.items():
            text = text.replace(f"__{name.upper()}__", url)
        return text

    async def query_db(self, site: str, sql: str) -> list[list[Any]]:
        path = self.dbs.get(site)
        if path is None:
            raise WebInfraError(f"the task checks the database of {site!r}, which this episode does not have")

        def run() -> list[list[Any]]:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return [list(r) for r in conn.execute(sql).fetchall()]
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    # ------------------------------------------------------------------ episode
    def _pick(self, seed: int | None, task: Task | None) -> dict[str, Any]:
        pool = self.task_pool()
        if not pool:
            raise ValueError(f"no {self.split} tasks for sites {self.sites}")
        if task is not None:
            found = [t for t in pool if t["task_id"] == task.id] or [t for t in self.all_tasks() if t["task_id"] == task.id]
            if not found:
                raise ValueError(f"unknown task {task.id!r}; e.g. {', '.join(t['task_id'] for t in pool[:3])}")
            return found[0]
        seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        return pool[seed % len(pool)]

    def all_tasks(self) -> list[dict[str, Any]]:
        split, self.split = self.split, "all"
        try:
            return self.task_pool()
        finally:
            self.split = split

    def _new_session(self) -> BrowserSession:
        return BrowserSession(self.pool, list(self.urls.values()), {EPISODE_HEADER: self.token or ""},
                              max_chars=self.max_obs_chars, action_timeout=self.action_timeout,
                              nav_timeout=self.nav_timeout)

    async def _reset(self, *, seed: int | None, task: Task | None) -> StepResult:
        await self._teardown()
        t = self._pick(seed, task)
        self.web_task, self.answer_text, self._seen_lines = t, None, None
        self._task = Task(id=t["task_id"], instruction=t["intent"], split=t.get("split"),
                          data={"start_url": t.get("start_url"), "eval": t.get("eval"), "sites": t.get("sites")})
        if hasattr(self, "set_task"):
            self.set_task(self._task)
        cookies = await asyncio.to_thread(self._prepare_sites, t)
        self.session = self._new_session()
        try:
            await self.pool.call(self.session.open, self.resolve(t["start_url"]), cookies)
        except ActionError as e:
            raise WebInfraError(f"the start page of task {t['task_id']} did not load: {e}") from e
        obs = await self._observe()
        first = Message.user(f"Task: {t['intent']}\n\n{obs}")
        info = self._info()
        if self.screenshot:
            shot = await self.pool.call(self.session.screenshot)
            first.images, info["screenshot"] = [PNG_URL + shot], shot
        await self.pool.call(self.pool.prewarm)        # the next reset's page opens while the agent thinks
        return StepResult(messages=[first], info=info)

    async def _observe(self, error: str | None = None) -> str:
        text = await self.pool.call(self.session.observe, error)
        if self.history == "diff":
            text, self._seen_lines = compact(text, self._seen_lines)
        return text

    def _info(self) -> dict[str, Any]:
        return {"task_id": self.web_task.get("task_id")}

    async def _step(self, action: Message) -> StepResult:
        if self.session is None:
            return self.feedback("the browser of this episode is gone; call reset()", action)
        result = await super()._step(action)
        if self.screenshot and self.session is not None and not result.done:
            shot = await self.pool.call(self.session.screenshot)
            result.info["screenshot"] = shot          # the run report shows it next to the step
            result.messages.append(Message(role="user", content=SCREENSHOT_TEXT, images=[PNG_URL + shot]))
        return result

    async def on_text(self, text: str, action: Message) -> StepResult:
        """BrowserGym action strings (``click('12')``) in plain text."""
        try:
            actions = parse_browsergym(text)
        except ActionParseError as e:
            names = ", ".join(t.name for t in self.tools)
            return self.feedback(f"{e}. Call a tool ({names}) or write a BrowserGym action such as click('12') or "
                                 "fill('7', 'text').", action)
        content, reward, done, success, channels = "", 0.0, False, None, {"format": 0.0, "tool_ok": 1.0}
        if not actions:
            content = await self._observe()
        for name, args in actions:
            res = await (self.answer(**args) if name == "answer" else self._do(name, args))
            content, reward = res.content, reward + res.reward
            channels.update(res.channels)
            if not res.ok:
                channels["tool_ok"] = 0.0
            if res.done:
                done, success = True, res.success
                break
        return StepResult(messages=[Message.user(content)], reward=reward, done=done, success=success,
                          channels=channels, info={"browsergym_actions": len(actions)})

    async def _do(self, name: str, args: dict[str, Any]) -> ToolResult:
        try:
            await self.pool.call(self.session.act, name, args)
        except ActionError as e:
            return ToolResult(content=await self._observe(error=str(e)), ok=False)
        return ToolResult(content=await self._observe())

    async def _teardown(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            try:
                await self.pool.call(session.close, timeout=20)
            except Exception:
                pass
        await asyncio.to_thread(self._release_sites)

    async def _close(self) -> None:
        await self._teardown()

    # ------------------------------------------------------------------ fork and oracle
    def spawn(self) -> WebEnv:
        """A new, unstarted env with this configuration."""
        twin = type(self)(**self._web_kwargs)
        twin.spec = self.spec
        if hasattr(self, "_factory"):
            twin._factory = self._factory
        return twin

    async def fork(self) -> WebEnv:
        """A twin at the same state: a copy of the live database, the same tabs, cookies and form values."""
        self._check_open()
        twin = self.spawn()
        if not getattr(self, "_started", False) or self.session is None:
            return twin
        if hasattr(self, "_copy_episode"):
            self._copy_episode(twin)
        else:
            for attr in ("_seed", "_task_arg", "_turn", "_done", "_task", "_started"):
                setattr(twin, attr, getattr(self, attr, None))
            twin._actions = list(self._actions)
        twin.web_task, twin.answer_text, twin._seen_lines = self.web_task, self.answer_text, self._seen_lines
        urls, active, state, forms = await self.pool.call(self.session.url_and_cookies)
        await asyncio.to_thread(twin._prepare_sites, self.web_task, dict(self.dbs))
        for name, url in self.urls.items():   # web/tasks may serve the twin from another port
            urls = [u.replace(url, twin.urls.get(name, url), 1) if u.startswith(url) else u for u in urls]
        twin.session = twin._new_session()
        await self.pool.call(twin.session.open, urls[0], None, state)
        await self.pool.call(twin.session.restore, urls, active, forms)
        return twin

    # ------------------------------------------------------------------ tools
    @tool
    async def click(self, element_id: str) -> ToolResult:
        """Click an element (link, button, checkbox, ...).

        Args:
            element_id: the id in [brackets] from the observation, e.g. "12".
        """
        return await self._do("click", {"element_id": element_id})

    @tool
    async def fill(self, element_id: str, text: str) -> ToolResult:
        """Replace the content of a text field with text.

        Args:
            element_id: the id of a textbox, searchbox or spinbutton.
            text: what to type.
        """
        return await self._do("fill", {"element_id": element_id, "text": text})

    @tool
    async def select(self, element_id: str, option: str) -> ToolResult:
        """Choose an option of a dropdown (combobox).

        Args:
            element_id: the id of the combobox.
            option: the option's label as shown in options=[...].
        """
        return await self._do("select", {"element_id": element_id, "option": option})

    @tool
    async def press(self, key: str, element_id: str | None = None) -> ToolResult:
        """Press a key or combination, e.g. Enter, Tab, Control+a; on an element if given, else on the focused one.

        Args:
            key: the key, e.g. "Enter".
            element_id: optional id of the element to press it on.
        """
        return await self._do("press", {"key": key, "element_id": element_id})

    @tool
    async def scroll(self, direction: Literal["up", "down", "left", "right"]) -> ToolResult:
        """Scroll the page.

        Args:
            direction: up, down, left or right.
        """
        return await self._do("scroll", {"direction": direction})

    @tool
    async def hover(self, element_id: str) -> ToolResult:
        """Move the mouse over an element.

        Args:
            element_id: the id in [brackets].
        """
        return await self._do("hover", {"element_id": element_id})

    @tool
    async def goto(self, url: str) -> ToolResult:
        """Open a URL of this task's sites (absolute, or relative to the current page).

        Args:
            url: e.g. "/search?q=mug".
        """
        return await self._do("goto", {"url": url})

    @tool
    async def go_back(self) -> ToolResult:
        """Go back to the previous page of this tab."""
        return await self._do("go_back", {})

    @tool
    async def new_tab(self, url: str = "about:blank") -> ToolResult:
        """Open a new tab (optionally at a URL of this task's sites) and switch to it.

        Args:
            url: what to open in it.
        """
        return await self._do("new_tab", {"url": url})

    @tool
    async def switch_tab(self, index: int) -> ToolResult:
        """Switch to another tab.

        Args:
            index: the tab number shown in Tabs: [...].
        """
        return await self._do("switch_tab", {"index": index})

    @tool
    async def answer(self, text: str) -> ToolResult:
        """Finish the task: your answer to a question, or "done" once the requested change is made.

        Args:
            text: the answer (only the answer, e.g. "$12.99" or "3").
        """
        self.answer_text = text
        result = await self.check_answer(text)
        verdict = "The task is solved." if result.success else "The task is not solved."
        return ToolResult(content=f"Answer recorded. {verdict}", reward=result.score, done=True,
                          success=result.success, channels={"outcome": result.score},
                          info={"checks": result.checks})

    async def check_answer(self, text: str) -> Any:
        """The task's checks on the current state as if the agent answered ``text`` now (nothing ends):
        an ``EvalResult`` with ``success``, ``score`` and ``checks``."""
        if self.session is None:
            raise WebInfraError("the browser of this episode is gone; call reset()")
        return await evaluate(self.web_task.get("eval") or {}, answer=text, url=self.session.page.url,
                              resolve=self.resolve, read_page=self._read_page, query_db=self.query_db,
                              requests=list(self.session.requests))

    async def _read_page(self, url: str, locator: str) -> str:
        return await self.pool.call(self.session.read_in_new_page, url, locator)
