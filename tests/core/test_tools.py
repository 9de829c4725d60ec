"""Tool declaration and argument checking (agentgym/tools.py) and how ToolEnv runs tool bodies:
hostile arguments become feedback, sync bodies run off the event loop under a hard limit."""

import asyncio
import json
import threading
import time

import pytest

from agentgym import Message, ToolCall
from agentgym.env import ToolEnv
from agentgym.tools import ToolArgumentError, tool, tool_spec, validate_arguments
from agentgym.types import StepResult, Trajectory


class Numbers(ToolEnv):
    """A tiny env with nested argument types."""

    tool_timeout = 1.0

    async def _reset(self, *, seed, task):
        self.stop = threading.Event()
        self.stopped = threading.Event()
        return "Add numbers."

    @tool
    def add(self, values: list[int], scale: dict[str, float] | None = None) -> str:
        """Add integers.

        Args:
            values: integers to add.
            scale: optional factors by name.
        """
        return str(sum(values) * (scale or {}).get("x", 1))

    @tool
    def echo(self, text: str) -> str:
        """Echo text.

        Args:
            text: anything.
        """
        return text

    @tool
    def where(self) -> str:
        """Name the thread the tool runs in."""
        return threading.current_thread().name

    @tool
    def explode(self, text: str) -> str:
        """A tool whose body trips over its input.

        Args:
            text: anything.
        """
        return str(int(text))

    @tool
    def spin(self) -> str:
        """Spins in pure Python until stopped."""
        try:
            while not self.stop.is_set():
                pass
        finally:
            self.stopped.set()
        return "stopped"


def call(name, args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=args if isinstance(args, str) else json.dumps(args))])


@pytest.fixture
async def env():
    e = Numbers()
    await e.reset(seed=0)
    yield e
    e.stop.set()
    await e.close()


def test_nested_schema_describes_items():
    spec = tool_spec(Numbers.add)
    assert spec.parameters["properties"]["values"] == {"type": "array", "items": {"type": "integer"},
                                                       "description": "integers to add."}
    assert spec.parameters["properties"]["scale"]["additionalProperties"] == {"type": "number"}


@pytest.mark.parametrize("raw, expect", [
    ('{"values": ["a", 1]}', "`values[0]` of `add` must be integer"),
    ('{"values": [1, [2]]}', "`values[1]` of `add` must be integer"),
    ('{"values": [1], "scale": {"x": "big"}}', "`scale.x` of `add` must be number"),
    ('{"values": [%s]}' % ("9" * 5000), "more than 4300 digits"),
    ('{"values": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"values": ' + "[" * 200 + "]" * 200 + "}", "nested more than 32 levels"),
])
def test_hostile_arguments_raise_tool_argument_errors(raw, expect):
    spec = tool_spec(Numbers.add)
    with pytest.raises(ToolArgumentError) as err:
        validate_arguments(spec, raw)
    assert expect in str(err.value)


def test_huge_integer_in_a_dict_argument_is_described_not_printed():
    spec = tool_spec(Numbers.echo)
    with pytest.raises(ToolArgumentError, match="must be string, got int"):
        validate_arguments(spec, {"text": 10**5000})


def test_integral_floats_inside_lists_become_ints():
    assert validate_arguments(tool_spec(Numbers.add), '{"values": [1.0, 2]}') == {"values": [1, 2]}


@pytest.mark.parametrize("raw", [
    '{"values": ["a", 1]}',
    '{"values": [%s]}' % ("9" * 5000),
    '{"values": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"values": [1e999999]}',
])
async def test_hostile_arguments_are_feedback_from_step(env, raw):
    res = await env.step(call("add", raw))
    assert isinstance(res, StepResult)
    assert res.channels["format"] == -1.0 and res.messages[0].content.startswith("Error:")


async def test_lone_surrogate_reaches_the_tool_escaped_and_the_record_serialises(env):
    res = await env.step(call("echo", '{"text": "a\\ud83db"}'))
    assert res.messages[0].content == "a\\ud83db"
    traj = Trajectory(messages=res.messages, infos=[res.info])
    assert Trajectory.model_validate_json(traj.model_dump_json()).messages[0].content == "a\\ud83db"


async def test_a_tool_body_that_trips_over_its_input_is_feedback(env):
    res = await env.step(call("explode", {"text": "not a number"}))
    assert res.channels["tool_ok"] == 0.0
    assert "ValueError" in res.messages[0].content and "invalid literal" in res.messages[0].content
    assert res.info["tool_exception"].startswith("ValueError")


async def test_sync_tools_run_off_the_event_loop(env):
    res = await env.step(call("where", {}))
    assert res.messages[0].content != threading.current_thread().name
    assert res.messages[0].content.startswith("agentgym-tool")


@pytest.mark.timeout(60)
async def test_a_spinning_sync_tool_is_stopped_at_its_limit_and_ends_the_episode(env):
    ticks = 0

    async def neighbour():
        nonlocal ticks
        while not env.stopped.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(neighbour())
    res = await env.step(call("spin", {}))
    assert "did not finish within 1 s" in res.messages[0].content
    assert res.done and res.success is False and res.info["error"] == "tool_timeout"
    assert ticks > 0  # the loop kept running while the tool spun
    # the runaway thread is interrupted, not left spinning (polled: no timing assertion)
    for _ in range(500):
        if env.stopped.is_set():
            break
        await asyncio.sleep(0.02)
    assert env.stopped.is_set()
    watcher.cancel()
    after = await env.step(call("where", {}))
    assert after.info.get("error") == "episode_over"


async def test_inline_tools_run_on_the_loop_thread():
    class Quick(ToolEnv):
        async def _reset(self, *, seed, task):
            return "Go."

        @tool(inline=True)
        def here(self) -> str:
            """Name the thread."""
            return threading.current_thread().name

    env = Quick()
    await env.reset(seed=0)
    res = await env.step(call("here", {}))
    assert res.messages[0].content == threading.current_thread().name
