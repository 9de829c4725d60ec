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


# ---------------------------------------------------------------------------- pydantic arguments
from typing import Literal, Optional  # noqa: E402

from pydantic import BaseModel  # noqa: E402

from agentgym.tools import tool_signature  # noqa: E402


class Step(BaseModel):
    name: str
    count: int = 1


class Planner(ToolEnv):
    async def _reset(self, *, seed, task):
        return "Plan."

    @tool
    def plan(self, steps: list[Step], mode: Literal["fast", "slow"] = "fast",
             weights: Optional[dict[str, list[float]]] = None, limit: int | list[int] = 0) -> str:
        """Make a plan.

        Parameters
        ----------
        steps
            what to do, in order.
        mode
            how to go about it.
        """
        assert all(isinstance(s, Step) for s in steps)  # validated into the declared types
        return json.dumps({"steps": [s.model_dump() for s in steps], "mode": mode, "weights": weights,
                           "limit": limit})


def test_schema_and_validation_come_from_one_model():
    sig = tool_signature(Planner.plan)
    props = sig.spec.parameters["properties"]
    assert props["steps"]["items"]["properties"] == {"name": {"type": "string"},
                                                     "count": {"type": "integer", "default": 1}}
    assert props["steps"]["description"] == "what to do, in order."    # NumPy-style docstring
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast",
                             "description": "how to go about it."}
    assert props["weights"]["additionalProperties"] == {"type": "array", "items": {"type": "number"}}
    assert sig.spec.parameters["required"] == ["steps"] and sig.spec.description == "Make a plan."
    assert set(sig.arguments.model_json_schema(by_alias=True)["properties"]) == set(props)


@pytest.mark.parametrize("args, expect", [
    ({"steps": [{"name": "a", "count": "many"}]}, "`steps[0].count` of `plan` must be integer, got str"),
    ({"steps": [{"count": 2}]}, "`steps[0].name` in the arguments of `plan` is required"),
    ({"steps": [], "nmae": 1}, "unknown argument(s) ['nmae'] for `plan`"),
    ({"steps": "a"}, "`steps` of `plan` must be array, got str"),
    ({"steps": [], "mode": "medium"}, "`mode` of `plan` must be one of ['fast', 'slow'], got \"medium\""),
    ({"steps": [], "weights": {"x": [1, "y"]}}, "`weights.x[1]` of `plan` must be number"),
    ({"steps": [], "limit": "lots"}, "`limit` of `plan` must be integer or array, got str \"lots\". "
                                     "Usage: plan(steps: array, mode: \"fast\"|\"slow\" (optional), weights: object "
                                     "(optional), limit: integer|array (optional))"),
    ({"steps": [], "limit": [10**5000]}, None),
])
def test_nested_and_union_arguments_are_checked_with_their_path(args, expect):
    if expect is None:   # a huge int in an int list is accepted as is, never printed
        assert validate_arguments(tool_signature(Planner.plan), args)["limit"] == [10**5000]
        return
    with pytest.raises(ToolArgumentError) as err:
        validate_arguments(tool_signature(Planner.plan), args)
    assert expect in str(err.value)


async def test_tools_receive_validated_values():
    env = Planner()
    await env.reset(seed=0)
    res = await env.step(call("plan", {"steps": [{"name": "a", "count": 2.0}, {"name": "b"}], "mode": "slow",
                                       "weights": {"x": [1, "2.5"]}}))
    assert json.loads(res.messages[0].content) == {"steps": [{"name": "a", "count": 2}, {"name": "b", "count": 1}],
                                                  "mode": "slow", "weights": {"x": [1.0, 2.5]}, "limit": 0}
    res = await env.step(call("plan", {"steps": [{"name": "\ud83d"}], "weights": {"x": [[[]]]}}))
    assert res.channels["format"] == -1.0 and "`weights.x[0]` of `plan` must be number" in res.messages[0].content


def test_a_spec_without_a_model_is_checked_against_its_json_schema():
    from agentgym.types import ToolSpec

    plain = ToolSpec(name="go", parameters={"type": "object", "properties": {
        "to": {"type": "string", "enum": ["a", "b"]}, "n": {"type": "integer", "default": 1}}, "required": ["to"]})
    assert validate_arguments(plain, '{"to": "a", "n": 2.0}') == {"to": "a", "n": 2}
    with pytest.raises(ToolArgumentError, match=r"must be one of \['a', 'b'\]"):
        validate_arguments(plain, '{"to": "c"}')
    with pytest.raises(ToolArgumentError, match=r"missing required argument\(s\) \['to'\]"):
        validate_arguments(plain, "{}")
