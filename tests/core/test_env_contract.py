import json

import pytest

import agentgym
from agentgym import EnvStateError, Message, ToolCall
from agentgym.testing import check_env


def call(name, args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=args if isinstance(args, str) else json.dumps(args))])


@pytest.fixture
async def maze():
    env = agentgym.make("toy/maze", size=4)
    await env.reset(seed=7)
    yield env
    await env.close()


@pytest.mark.parametrize("action, expect", [
    (call("teleport", {}), "unknown tool `teleport`. Available tools: look, move"),
    (call("move", "{direction: north"), "not valid JSON"),
    (call("move", '["north"]'), "must be a JSON object"),
    (call("move", {"direction": 3}), "must be one of ['north', 'south', 'east', 'west'], got int 3"),
    (call("move", {"direction": "up"}), "must be one of ['north', 'south', 'east', 'west']"),
    (call("move", {}), "missing required argument(s) ['direction']"),
    (call("move", {"direction": "north", "speed": 2}), "unknown argument(s) ['speed']"),
    (Message.assistant("go north please"), "No tool call found. Call one of the tools: look, move"),
    (Message.assistant("x" * 20_000), "the limit is 16000"),
])
async def test_bad_actions_become_feedback_with_format_penalty(maze, action, expect):
    before = maze.turn
    res = await maze.step(action)
    text = " ".join(m.content for m in res.messages)
    assert expect in text
    assert res.channels["format"] == -1.0
    assert not res.done and res.reward == 0
    assert maze.turn == before + 1  # counts toward max_turns
    # tool calls are answered by tool messages with matching ids, so the chat stays valid
    for c in action.tool_calls or []:
        assert any(m.role == "tool" and m.tool_call_id == c.id for m in res.messages)


async def test_bad_actions_count_toward_max_turns():
    env = agentgym.make("toy/maze", max_turns=3)
    await env.reset(seed=0)
    results = [await env.step(Message.assistant("?")) for _ in range(3)]
    assert [r.truncated for r in results] == [False, False, True]
    after = await env.step(call("look", {}))
    assert after.done and "episode is over" in after.messages[0].content


async def test_fork_gives_identical_next_observations(maze):
    plan = await maze.oracle()
    for a in plan[:3]:
        await maze.step(a)
    twin = await maze.fork()
    for a in plan[3:6] + [call("look", {})]:
        r1, r2 = await maze.step(a), await twin.step(a)
        assert [m.content for m in r1.messages] == [m.content for m in r2.messages]
        assert (r1.reward, r1.done, r1.channels) == (r2.reward, r2.done, r2.channels)
    # independence: the twin walks on to the exit; the original stays exactly where an env that
    # never forked would be (shared grid/position/counters would show here)
    for a in plan[6:]:
        last = await twin.step(a)
    assert last.success and twin.done and not maze.done
    reference = agentgym.make("toy/maze", size=4)
    await reference.reset(seed=7)
    for a in plan[:6] + [call("look", {})]:
        await reference.step(a)
    assert (maze.pos, maze.moves, maze.best, maze.turn) == (reference.pos, reference.moves, reference.best,
                                                            reference.turn)
    r1, r2 = await maze.step(call("look", {})), await reference.step(call("look", {}))
    assert r1.messages[0].content == r2.messages[0].content


async def test_tags_format_fork_and_oracle():
    env = agentgym.make("toy/maze", format="tags")
    first = await env.reset(seed=2)
    assert "<move>" in first.messages[0].content and env.tools == []
    plan = await env.oracle()
    assert all(p.content.startswith("<move>") for p in plan)
    twin = await env.fork()
    r1, r2 = await env.step(plan[0]), await twin.step(plan[0])
    assert r1.messages[0].content == r2.messages[0].content
    assert r1.messages[0].content.startswith("<result>")
    for p in plan[1:]:
        res = await env.step(p)
    assert res.success


async def test_step_before_reset_and_after_close_are_usage_errors():
    env = agentgym.make("toy/maze")
    with pytest.raises(EnvStateError, match="call reset"):
        await env.step(Message.assistant("x"))
    await env.close()
    with pytest.raises(EnvStateError, match="closed"):
        await env.reset(seed=0)


def test_sync_facade():
    with agentgym.make("toy/maze").sync() as env:
        first = env.reset(seed=1)
        assert "maze" in first.messages[-1].content
        for a in env.oracle():
            res = env.step(a)
        assert res.done and res.success and res.reward == 1.0


async def test_reference_env_conforms():
    for fmt in (None, "tags", "react"):
        env = agentgym.make("toy/maze", format=fmt)
        assert await check_env(env, seed=3) == []


async def test_seeds_are_deterministic_and_differ():
    a, b, c = (agentgym.make("toy/maze") for _ in range(3))
    oa, ob, oc = await a.reset(seed=5), await b.reset(seed=5), await c.reset(seed=6)
    assert oa.messages[-1].content == ob.messages[-1].content
    assert (await a.oracle()) and [m.tool_calls[0].arguments for m in await a.oracle()] == \
        [m.tool_calls[0].arguments for m in await b.oracle()]
    assert a.grid != c.grid or a.start != c.start
