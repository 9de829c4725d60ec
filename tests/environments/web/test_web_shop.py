"""web/shop end to end in real Chromium: observation, tools and BrowserGym strings, feedback for
impossible actions, per-episode databases, fork, oracle and no-op."""

import json
import sqlite3

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.testing import check_env

pytestmark = pytest.mark.slow


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def ids_of(obs: str, role: str, name: str) -> str:
    for line in obs.splitlines():
        text = line.strip()
        if f"] {role} '{name}'" in text:
            return text[1:text.index("]")]
    raise AssertionError(f"no {role} {name!r} in\n{obs[:2000]}")


def rows(env, site, sql):
    conn = sqlite3.connect(env.dbs[site])
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_tasks_are_templated_with_splits():
    env = agentgym.make("web/shop", split="all")
    tasks = env.task_pool()
    assert len(tasks) >= 40 and len({t["task_id"] for t in tasks}) == len(tasks)
    assert {t["split"] for t in tasks} == {"train", "test"}
    kinds = {k for t in tasks for k in t["eval"]["eval_types"]}
    assert {"string_match", "url_match", "program_html", "db_state"} <= kinds
    await env.close()


async def test_observation_tools_and_browsergym_strings():
    env = agentgym.make("web/shop")
    first = await env.reset(task="shop-price-0")
    obs = first.messages[-1].content
    assert obs.startswith("Task: What is the price of") and "URL: http://127.0.0.1:" in obs
    box, button = ids_of(obs, "textbox", "Search products"), ids_of(obs, "button", "Search")
    res = await env.step(Message.assistant(f"fill('{box}', 'kettle')\nclick('{button}')"))   # BrowserGym text
    text = res.messages[-1].content
    assert "/search?q=kettle" in text and "products found" in text and res.channels["format"] == 0
    res = await env.step(call("go_back"))
    assert "Title: Welcome" in res.messages[-1].content
    res = await env.step(call("goto", url="/search?q=teapot&sort=price_asc"))
    assert "Teapot" in res.messages[-1].content
    await env.close()


async def test_impossible_actions_are_feedback_and_the_episode_goes_on():
    env = agentgym.make("web/shop")
    obs = (await env.reset(task="shop-price-0")).messages[-1].content
    cat = ids_of(obs, "combobox", "Category")
    cases = [(call("click", element_id="99999"), "no element with id 99999"),
             (call("click", element_id="abc"), "is not an element id"),
             (call("fill", element_id=cat, text="x"), "is a dropdown"),
             (call("select", element_id=cat, option="Spaceships"), "has no option 'Spaceships'"),
             (call("switch_tab", index=5), "there is no tab 5"),
             (call("goto", url="http://example.com/"), "not reachable"),
             (Message.assistant("click('1', oops=)"), "no action found"),
             (Message.assistant("launch_rockets('1')"), "unknown action")]
    for action, expected in cases:
        res = await env.step(action)
        assert expected in res.messages[-1].content, (expected, res.messages[-1].content[:400])
        assert not res.done
    await env.close()


async def test_each_episode_has_its_own_database_and_fork_diverges():
    a, b = agentgym.make("web/shop"), agentgym.make("web/shop")
    await a.reset(task="shop-add_to_cart-0")
    await b.reset(task="shop-add_to_cart-0")
    assert a.dbs["shop"] != b.dbs["shop"]
    plan = await a.oracle()
    for msg in plan[:-1]:                       # everything but answer: the item is in a's cart
        await a.step(msg)
    sql = a.web_task["eval"]["db_state"][0]["sql"]      # this user's cart
    assert rows(a, "shop", sql) and rows(b, "shop", sql) == []
    twin = await a.fork()
    assert rows(twin, "shop", sql) == rows(a, "shop", sql)
    obs_a = (await a.step(call("goto", url="/cart"))).messages[-1].content
    obs_t = (await twin.step(call("goto", url="/cart"))).messages[-1].content
    assert obs_a == obs_t                       # same page, same cookies (logged in), same cart
    qty = ids_of(obs_t, "spinbutton", obs_t.split("spinbutton '")[1].split("'")[0])
    await twin.step(call("fill", element_id=qty, text="0"))
    res = await twin.step(call("click", element_id=str(int(qty) + 1)))
    assert "Your cart is empty" in res.messages[-1].content
    assert rows(twin, "shop", sql) == [] and rows(a, "shop", sql) != []       # diverged
    fin = await a.step(plan[-1])
    assert fin.success and fin.reward == 1.0
    for env in (a, b, twin):
        await env.close()


async def test_fork_keeps_typed_form_values():
    env = agentgym.make("web/shop")
    obs = (await env.reset(task="shop-price-1")).messages[-1].content
    box = ids_of(obs, "textbox", "Search products")
    await env.step(call("fill", element_id=box, text="blanket"))
    twin = await env.fork()
    res = await twin.step(call("press", key="Enter", element_id=box))
    assert "q=blanket" in res.messages[-1].content
    await env.close()
    await twin.close()


async def test_oracle_policy_solves_and_noop_fails():     # every task: test_web_validate.py
    env = agentgym.make("web/shop", split="all")
    traj = await agentgym.rollout(env, agentgym.OraclePolicy(), task="shop-review-3")
    assert traj.success and traj.reward == 1.0
    await env.reset(task="shop-review-3")
    res = await env.step(call("answer", text="done"))
    assert res.done and not res.success and res.reward == 0.0
    await env.close()


async def test_conforms_to_the_env_contract():
    env = agentgym.make("web/shop")
    try:
        assert await check_env(env, seed=2) == []
    finally:
        await env.close()
