"""Web: reset, action + observation, fork, concurrency and memory of ``web/shop`` in real Chromium,
with BrowserGym (``browsergym-core``) on the same pages and actions as the peer row.

    .venv/bin/python benchmarks/bench_web.py            # benchmarks/setup_peers.sh installs browsergym-core

The scenario, for both: open the shop's home page on a fresh copy of its database, fill the
search box, click Search, open the first product, go back, scroll down. agentgym episodes and
BrowserGym episodes alternate, so both see the same machine load.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

import agentgym  # noqa: E402
from agentgym import Message, ToolCall  # noqa: E402
from agentgym.environments.web.browser import CHROMIUM_ARGS, chromium_executable  # noqa: E402
from agentgym.environments.web.server import EPISODE_HEADER, site_host  # noqa: E402

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
THINK = 0.5   # seconds between a reset's observation and the first action (a policy is generating)


def call(name: str, **args) -> Message:
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def bid(text: str, pattern: str) -> str:
    m = re.search(r"\[([a-z]?\d+)\] " + pattern, text)
    if not m:
        raise RuntimeError(f"no element matching {pattern!r} in\n{text[:1500]}")
    return m.group(1)


def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------- agentgym
async def ours_episode(env, resets: list[float], steps: list[float]) -> None:
    t = time.perf_counter()
    obs = (await env.reset(task="shop-price-0")).messages[-1].content
    resets.append(time.perf_counter() - t)
    await asyncio.sleep(THINK)
    box, button = bid(obs, "textbox 'Search products'"), bid(obs, "button 'Search'")
    for action in (call("fill", element_id=box, text="kettle"), call("click", element_id=button), None,
                   call("go_back"), call("scroll", direction="down")):
        if action is None:   # the first product of the results
            action = call("click", element_id=bid(obs, r"link '[^']*' url='/product/"))
        t = time.perf_counter()
        obs = (await env.step(action)).messages[-1].content
        steps.append(time.perf_counter() - t)
        assert "Last action error" not in obs, obs[:500]


async def ours_fork(env, forks: list[float]) -> None:
    await env.reset(task="shop-add_to_cart-0")
    for msg in (await env.oracle())[:3]:        # logged in, on a product page, a form filled
        await env.step(msg)
    t = time.perf_counter()
    twin = await env.fork()
    forks.append(time.perf_counter() - t)
    await twin.close()


# ---------------------------------------------------------------------------- BrowserGym
def browsergym_setup():
    """BrowserGym's env on our shop (launches point at the same Chromium with the same flags)."""
    import browsergym.core  # noqa: F401
    from browsergym.core import _get_global_playwright
    from browsergym.core.env import BrowserEnv
    from browsergym.core.task import AbstractBrowserTask

    pw = _get_global_playwright()
    launch = pw.chromium.launch

    def our_chromium(**kw):
        kw.setdefault("executable_path", chromium_executable())
        kw["args"] = list(kw.get("args") or []) + [a for a in CHROMIUM_ARGS if a != "--headless"]
        return launch(**kw)

    pw.chromium.launch = our_chromium   # BrowserGym's chat window launches its own browser too
    host = site_host()
    url = host.start(["shop"])["shop"]

    class ShopHome(AbstractBrowserTask):
        @classmethod
        def get_task_id(cls):
            return "agentgym-shop-home"

        def __init__(self, seed: int) -> None:
            super().__init__(seed)
            self.slow_mo, self.timeout = 0, 5000     # the default slow_mo is 1000 ms per Playwright call
            self.viewport = {"width": 1280, "height": 900}   # agentgym's
            self.token = None

        def setup(self, page):
            self.token, _ = host.new_episode_db("shop")
            page.context.set_extra_http_headers({EPISODE_HEADER: self.token})
            page.goto(url + "/", wait_until="load")
            return "What is the price of the kettle?", {}

        def validate(self, page, chat_messages):
            return 0.0, False, "", {}

        def teardown(self) -> None:
            host.drop_episode_db(self.token)

    return lambda: BrowserEnv(ShopHome, pre_observation_delay=0.0)


def browsergym_episode(make, resets: list[float], steps: list[float]) -> None:
    from browsergym.utils.obs import flatten_axtree_to_str

    env = make()
    try:
        t = time.perf_counter()
        o, _ = env.reset(seed=0)
        text = flatten_axtree_to_str(o["axtree_object"])
        resets.append(time.perf_counter() - t)
        time.sleep(THINK)
        box, button = bid(text, "(?:textbox|searchbox) 'Search products'"), bid(text, "button 'Search'")
        for action in (f"fill('{box}', 'kettle')", f"click('{button}')", None, "go_back()", "scroll(0, 600)"):
            if action is None:   # the first product of the results
                action = f"click('{first_product(text)}')"
            t = time.perf_counter()
            o, _, _, _, _ = env.step(action)
            text = flatten_axtree_to_str(o["axtree_object"])
            steps.append(time.perf_counter() - t)
            assert not o["last_action_error"], o["last_action_error"]
    finally:
        env.close()


def first_product(text: str) -> str:
    """The bid of the first product link (BrowserGym shows a link's url on its own line)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"\[([a-z]?\d+)\] link '", line)
        if m and any("/product/" in x for x in lines[i:i + 3]):
            return m.group(1)
    raise RuntimeError(f"no product link in\n{text[:1500]}")


# ---------------------------------------------------------------------------- concurrency and memory
def chromium_pss_mb() -> float:
    import psutil

    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            if "chrom" in p.name():
                total += p.memory_full_info().pss
        except Exception:
            pass
    return total / 2**20


async def concurrent(n: int) -> tuple[int, int, float, float]:
    """n oracle episodes at once on n envs: (successes, failures, wall seconds, MB per open episode)."""
    envs = [agentgym.make("web/shop", split="all") for _ in range(n)]
    tasks = [t["task_id"] for t in envs[0].task_pool()]
    await asyncio.sleep(1.0)
    base = chromium_pss_mb()
    await asyncio.gather(*(env.reset(task=tasks[i * 5]) for i, env in enumerate(envs)))
    await asyncio.sleep(1.0)
    per_episode = (chromium_pss_mb() - base) / n
    t = time.perf_counter()
    trajs = await asyncio.gather(*(agentgym.rollout(env, agentgym.OraclePolicy(), task=tasks[i * 5 + 1])
                                   for i, env in enumerate(envs)))
    wall = time.perf_counter() - t
    await asyncio.gather(*(env.close() for env in envs))
    ok = sum(tr.success for tr in trajs)
    return ok, sum(tr.is_error for tr in trajs) + sum(not tr.success for tr in trajs if not tr.is_error), wall, per_episode


async def main() -> None:
    from concurrent.futures import ThreadPoolExecutor

    bg_thread = ThreadPoolExecutor(1)          # Playwright's sync API: one thread, no event loop on it
    loop = asyncio.get_running_loop()
    have_bg = True
    try:
        make_bg = await loop.run_in_executor(bg_thread, browsergym_setup)
    except ImportError:
        have_bg, make_bg = False, None
    env = agentgym.make("web/shop")
    ours_r, ours_s, bg_r, bg_s, forks, b2b = [], [], [], [], [], []
    await ours_episode(env, [], [])     # warm-up: site, template, browser
    if have_bg:
        await loop.run_in_executor(bg_thread, browsergym_episode, make_bg, [], [])
    for _ in range(ROUNDS):
        await ours_episode(env, ours_r, ours_s)
        if have_bg:
            await loop.run_in_executor(bg_thread, browsergym_episode, make_bg, bg_r, bg_s)
    for _ in range(ROUNDS):
        t = time.perf_counter()
        await env.reset(task="shop-price-0")
        b2b.append(time.perf_counter() - t)
    for _ in range(ROUNDS):
        await ours_fork(env, forks)
    await env.close()
    ok8, bad8, wall8, mb = await concurrent(8)

    bg = (lambda r, s: f"| BrowserGym 0.14 (`browsergym-core`) | {p50(r):.3f} | {p50(s):.3f} | "
          f"{len(r)} episodes, {len(s)} actions |") if have_bg else (lambda r, s: "| BrowserGym | not installed | | |")
    body = f"""## Web (`bench_web.py`)

`web/shop` in Chromium ({chromium_executable()}), {ROUNDS} episodes each: open the shop's home page on a fresh
database copy, then fill the search box, click Search, open the first product, go back, scroll
(5 actions). BrowserGym runs the same pages and actions on the same site and Chromium (its own
`BrowserEnv`; `slow_mo` 0, `pre_observation_delay` 0 — its default 0.5 s would add that to every
step); its observation time includes `flatten_axtree_to_str`. Episodes alternate between the two.
A policy "thinks" {THINK} s after each reset (the warm context for the next reset opens then).

| | reset p50 s | action + observation p50 s | samples |
|---|---|---|---|
| agentgym `web/shop` | {p50(ours_r):.3f} | {p50(ours_s):.3f} | {len(ours_r)} episodes, {len(ours_s)} actions |
{bg(bg_r, bg_s)}

Targets: reset ≤ 0.5 s: **{'met' if p50(ours_r) <= 0.5 else 'not met'}** ({p50(ours_r):.3f} s
{f'vs BrowserGym {p50(bg_r):.3f} s, **{p50(bg_r) / p50(ours_r):.1f}×** faster' if have_bg else ''});
action + observation ≤ 0.3 s: **{'met' if p50(ours_s) <= 0.3 else 'not met'}** ({p50(ours_s):.3f} s
{f'vs {p50(bg_s):.3f} s, **{p50(bg_s) / p50(ours_s):.1f}×**' if have_bg else ''}).
Back-to-back resets with no step in between (the warm context is still being prepared): p50 {p50(b2b):.3f} s.

Fork (database copy by SQLite's backup API + a warm context given the parent's cookies — a fresh
context from its storage state when it has local storage — + same URLs + form values restored), logged-in episode on a product page: p50 **{p50(forks):.3f} s**.

8 concurrent episodes (8 envs, one browser, oracle policy, 8 different tasks) on this 2-core machine:
**{ok8}/8 solved, {bad8} failures**, {wall8:.1f} s wall. Memory per open episode (Chromium PSS,
8 episodes open vs none): **{mb:.0f} MB**.
"""
    write_section("web", body)


if __name__ == "__main__":
    asyncio.run(main())
