"""The issue's bad-input list against real Chromium: script injection, giant pages, blocked hosts
(Playwright routing, checked with a canary listener), JS dialogs, popups, downloads, a site that
answers 500 or hangs, a crashing browser, and no state leaking across episodes. Hostile pages come
from a small stdlib server started through ``web/tasks``' ``start_command``."""

import asyncio
import json
import os
import signal
import socket
import sys
import threading

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.environments.web.browser import BrowserCrashedError, browser_pool

pytestmark = pytest.mark.slow

HOSTILE_SITE = r'''
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, canary = int(sys.argv[1]), int(sys.argv[2])
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, body, status=200, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        for k, v in extra: self.send_header(k, v)
        self.end_headers(); self.wfile.write(body.encode())
    def do_GET(self):
        if self.path == "/":
            self.send(f"""<title>Hostile</title><h1>Hostile</h1>
<img src="http://127.0.0.1:{canary}/pixel.png" alt="tracker"><script src="http://127.0.0.1:{canary}/x.js"></script>
<script>fetch("http://127.0.0.1:{canary}/beacon").catch(()=>{{}}); new WebSocket("ws://127.0.0.1:{canary}/ws");</script>
<button onclick="alert('hello from js')">Alert me</button>
<a href="/" target="_blank">Popup</a> <a href="/file.bin">Download</a>
<a href="/boom">Broken</a> <a href="/hang">Slow</a> <a href="/giant">Giant</a>""")
        elif self.path == "/file.bin":
            self.send("x" * 1000, extra=[("Content-Disposition", "attachment; filename=file.bin")])
        elif self.path == "/boom":
            self.send("<h1>Internal Server Error</h1>", 500)
        elif self.path == "/hang":
            import time; time.sleep(30)
        elif self.path == "/giant":
            self.send("<h1>Giant</h1>" + "".join(f"<p><a href='/#{i}'>item {i}</a></p>" for i in range(20000)))
        else:
            self.send("<h1>Not found</h1>", 404)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'''


class Canary:
    """A listener on a port no page may reach; counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port, self.hits, self.stop = self.sock.getsockname()[1], 0, False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.hits += 1
                conn.close()
            except OSError:
                pass


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def bid(obs, role, name):
    for line in obs.splitlines():
        if f"] {role} '{name}'" in line:
            return line.strip()[1:line.strip().index("]")]
    raise AssertionError(f"no {role} {name!r} in {obs[:1500]}")


@pytest.fixture
def hostile(tmp_path):
    canary = Canary()
    script = tmp_path / "site.py"
    script.write_text(HOSTILE_SITE)
    task = {"task_id": "hostile", "sites": ["evil"], "intent": "Say hi.", "start_url": "__EVIL__/",
            "eval": {"eval_types": ["string_match"], "reference_answers": {"exact_match": "hi"}}}
    env = agentgym.make("web/tasks", tasks=[task], nav_timeout=3.0, site="evil",
                        start_command=f"{sys.executable} {script} {{port}} {canary.port}")
    yield env, canary
    canary.stop = True


async def test_blocked_hosts_dialogs_popups_downloads_500_hang_and_giant_pages(hostile):
    env, canary = hostile
    obs = (await env.reset(seed=0)).messages[-1].content
    assert "Blocked requests" in obs and f"127.0.0.1:{canary.port}" in obs
    res = await env.step(call("goto", url=f"http://127.0.0.1:{canary.port}/"))
    assert "not reachable" in res.messages[-1].content
    res = await env.step(call("click", element_id=bid(obs, "button", "Alert me")))
    assert "JavaScript alert said 'hello from js'; it was dismissed" in res.messages[-1].content
    res = await env.step(call("click", element_id=bid(obs, "link", "Popup")))
    for _ in range(10):                       # the popup event may land after the look
        if "Tabs: [0]* Hostile | [1]" in res.messages[-1].content:
            break
        await asyncio.sleep(0.2)
        res = await env.step(call("scroll", direction="down"))
    assert "Tabs: [0]* Hostile | [1]" in res.messages[-1].content
    home = env.urls["evil"] + "/"
    await env.step(call("switch_tab", index=0))
    res = await env.step(call("click", element_id=bid(obs, "link", "Download")))
    assert "was blocked: downloads are disabled" in res.messages[-1].content
    res = await env.step(call("goto", url=env.urls["evil"] + "/boom"))
    assert "HTTP status: 500" in res.messages[-1].content and not res.done
    res = await env.step(call("goto", url=env.urls["evil"] + "/hang"))
    assert "did not finish loading" in res.messages[-1].content and not res.done
    await env.step(call("goto", url=home))
    res = await env.step(call("goto", url="/giant"))
    text = res.messages[-1].content
    assert "observation truncated" in text and len(text) < 6500
    res = await env.step(call("answer", text="hi"))
    assert res.done and res.success
    await env.close()
    assert canary.hits == 0, "a page reached a host outside the task's sites"


async def test_script_injection_in_fill_stays_text():
    env = agentgym.make("web/shop", split="all")
    await env.reset(task="shop-review-0")
    plan = await env.oracle()
    payload = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
    for msg in plan[:-2]:                       # up to the title field
        args = json.loads(msg.tool_calls[0].arguments)
        if msg.tool_calls[0].name == "fill":
            args["text"] = payload
            msg = call("fill", **args)
        await env.step(msg)
    res = await env.step(plan[-2])              # post the review
    text = res.messages[-1].content
    assert "JavaScript" not in text and "alert(1)" in text     # shown as text, never run
    await env.close()


async def test_state_never_leaks_across_episodes():
    env = agentgym.make("web/shop", split="all")
    await env.reset(task="shop-add_to_cart-0")
    for msg in (await env.oracle())[:-1]:
        await env.step(msg)
    first_db = env.dbs["shop"]
    res = await env.step(call("goto", url="/cart"))
    assert "Subtotal" in res.messages[-1].content
    await env.reset(task="shop-add_to_cart-0")
    assert env.dbs["shop"] != first_db and not os.path.exists(first_db)
    res = await env.step(call("goto", url="/cart"))
    assert "Your cart is empty" in res.messages[-1].content
    await env.reset(task="shop-price-0")       # no login: the previous session cookie is gone
    res = await env.step(call("goto", url="/cart"))
    assert "Sign in" in res.messages[-1].content and "/login" in res.messages[-1].content
    await env.close()


async def test_a_crashed_browser_is_an_infra_error_and_is_restarted(tmp_path):
    env = agentgym.make("web/shop")
    await env.reset(seed=0)
    pool = browser_pool()
    for pid in await pool.call(pool.browser_pids):
        os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    with pytest.raises(BrowserCrashedError):
        await env.step(call("goto", url="/search"))
    traj = await agentgym.rollout(env, agentgym.OraclePolicy(), seed=1)   # a fresh browser
    assert traj.success
    await env.close()


async def test_webarena_verified_tasks_load_and_evaluate():
    verified = [{"sites": ["shop"], "task_id": 7, "start_urls": ["__SHOP__/"], "intent": "Open the kitchen category.",
                 "eval": [{"evaluator": "AgentResponseEvaluator", "results_schema": {"type": "null"},
                           "expected": {"task_type": "navigate", "status": "SUCCESS", "retrieved_data": None}},
                          {"evaluator": "NetworkEventEvaluator", "ignored_query_params_patterns": ["page"],
                           "expected": {"url": "__SHOP__/search?category=kitchen", "http_method": "GET"}}]}]
    env = agentgym.make("web/tasks", tasks=verified)
    await env.reset(seed=0)
    await env.step(call("goto", url="/search?category=kitchen"))
    ok = await env.step(call("answer", text=json.dumps({"task_type": "NAVIGATE", "status": "SUCCESS"})))
    assert ok.success, ok.info
    await env.reset(seed=0)
    bad = await env.step(call("answer", text=json.dumps({"task_type": "NAVIGATE", "status": "SUCCESS"})))
    assert not bad.success                       # the page was never visited
    await env.close()
