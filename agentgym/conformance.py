"""Env conformance: does an env keep the contract (see DESIGN.md "Core contract")?

    problems = await check_env(agentgym.make("my/env"), seed=0)   # [] when the env conforms
    problems = check_env_sync(agentgym.make("my/env"))              # the same from a plain script

Also importable from :mod:`agentgym.testing`.
"""

from __future__ import annotations

import asyncio
import random

from .env import Env
from .types import Message, ToolCall


async def check_env(env: Env, *, seed: int = 0, oracle: bool = True) -> list[str]:
    """Runs the contract checks on ``env``; returns a list of problems (empty = conforms).

    Checks: reset returns a first observation; tool schemas are well-formed; malformed actions
    (unknown tool, bad JSON, wrong types, missing args, plain text, oversized text) become
    feedback with a ``format`` penalty instead of raising; ``fork`` reproduces the next
    observation; the oracle (if any) solves the task and a no-op reply does not.
    """
    problems: list[str] = []
    first = await env.reset(seed=seed)
    if not first.messages or not any(m.content for m in first.messages):
        problems.append("reset() returned no observation text")
    for t in env.tools:
        if t.parameters.get("type") != "object" or not isinstance(t.parameters.get("properties"), dict):
            problems.append(f"tool {t.name}: parameters must be a JSON-Schema object")
    bad_actions = [Message.assistant("\u0000" + "x" * (env.max_action_chars + 10))]
    if env.tools:
        name = env.tools[0].name
        bad_actions += [
            Message.assistant(tool_calls=[ToolCall(name="no_such_tool_xyz", arguments="{}")]),
            Message.assistant(tool_calls=[ToolCall(name=name, arguments="{not json")]),
            Message.assistant(tool_calls=[ToolCall(name=name, arguments='{"__bogus__": 1}')]),
        ]
    for action in bad_actions:
        probe = await env.fork()
        try:
            res = await probe.step(action)
            if res.channels.get("format", 0.0) >= 0 and not res.done:
                problems.append(f"malformed action {action.model_dump_json()[:80]} got no format penalty")
            if not res.messages:
                problems.append("a malformed action produced no feedback message")
        except Exception as e:
            problems.append(f"step() raised {type(e).__name__} on a malformed action: {e}")
        finally:
            await probe.close()
    await env.reset(seed=seed)
    action = env.sample_action(random.Random(seed))
    twin = await env.fork()
    a, b = await env.step(action), await twin.step(action)
    if [m.content for m in a.messages] != [m.content for m in b.messages] or a.reward != b.reward:
        problems.append("fork() and the original gave different next observations for the same action")
    await twin.close()
    if oracle:
        await env.reset(seed=seed)
        plan = await env.oracle()
        if plan is not None:
            res = None
            for step in plan:
                res = await env.step(step)
                if res.done:
                    break
            if res is None or not res.success:
                problems.append("the oracle did not solve the task")
            await env.reset(seed=seed)
            res = await env.step(Message.assistant("I will do nothing."))
            if res.success:
                problems.append("a no-op reply solved the task")
    return problems


def check_env_sync(env: Env, *, seed: int = 0, oracle: bool = True, close: bool = True) -> list[str]:
    """:func:`check_env` for scripts without an event loop; closes ``env`` afterwards unless ``close=False``.

        from agentgym.testing import check_env_sync
        assert check_env_sync(agentgym.make("demo/guess"), oracle=False) == []

    Inside ``async`` code (a running loop), ``await check_env(env)`` instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("check_env_sync() was called inside a running event loop; use `await check_env(env)`")

    async def checked() -> list[str]:
        try:
            return await check_env(env, seed=seed, oracle=oracle)
        finally:
            if close:
                await env.close()

    return asyncio.run(checked())


__all__ = ["check_env", "check_env_sync"]
