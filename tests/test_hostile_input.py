"""No input crashes a step or a run: every registered env, in every format, takes arbitrary Unicode
(lone surrogates, NUL, 1 MB), arbitrary JSON tool calls (huge integers, deep nesting, wrong nested
types) and returns a StepResult whose trajectory is written and read back.

Property-based (hypothesis) with few examples per env and format so the whole battery stays
affordable; a fixed list of known-hostile actions runs first on every env as explicit examples.
"""

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentgym
from agentgym import Message, ToolCall
from agentgym.engine import TrajectoryWriter, load_trajectories
from agentgym.types import StepResult, Trajectory

IDS = sorted(s.id for s in agentgym.list_envs())
FORMATS = ["openai", "tags", "react"]
MAX_EXAMPLES = 25

# every code point, surrogates and control characters included
any_char = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF, categories=None)
FRAGMENTS = ["\x00", "\ud83d", "\ude00", "\ud83d\ude00", "9" * 5000, "[" * 3000, "{", "}", "<", ">", "</",
             "Action:", "[", "]", "\\ud83d", '"', "\n", "é", "\u202e"]
hostile_text = st.lists(st.one_of(st.text(any_char, max_size=40), st.sampled_from(FRAGMENTS)), max_size=8).map("".join)

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        hostile_text)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(hostile_text, inner, max_size=4)),
                          max_leaves=12)


def _json_text(value) -> str:
    return json.dumps(value)  # surrogates become \\udXXX escapes, as a model's JSON would carry them


HOSTILE_ARGUMENTS = [
    '{"x": %s}' % ("9" * 5000), "[" * 100_000 + "]" * 100_000, '{"a": ' + "[" * 900 + "]" * 900 + "}",
    '{"a": "\\ud83d"}', '{"a": ["a", 1]}', '{"a": 1e999999}', "\x00", "",
]


def _arguments(names):
    """JSON objects whose keys are mostly the tool's own argument names, plus raw hostile strings."""
    keys = st.one_of(st.sampled_from(names), hostile_text) if names else hostile_text
    objects = st.dictionaries(keys, json_value, max_size=3).map(_json_text)
    return st.one_of(objects, st.sampled_from(HOSTILE_ARGUMENTS), hostile_text)


@st.composite
def actions(draw, tools, fmt):
    """An assistant message in ``fmt``: native tool calls (openai) or text with tags / Action lines."""
    content = draw(hostile_text)
    if not tools:
        return Message.assistant(content)
    spec = draw(st.sampled_from(tools))
    names = list(spec.parameters.get("properties", {}))
    if fmt == "openai":
        name = draw(st.one_of(st.just(spec.name), hostile_text))
        calls = [ToolCall(name=name, arguments=draw(_arguments(names)))]
        return Message.assistant(content or None, tool_calls=calls)
    body = draw(st.one_of(hostile_text, _arguments(names)))
    text = f"<{spec.name}>{body}</{spec.name}>" if fmt == "tags" else f"Thought: {content}\nAction: {spec.name}[{body}]"
    return Message.assistant(draw(st.sampled_from([text, content + text, text + content])))


EXPLICIT = [
    Message.assistant("open door\x00"), Message.assistant("lone \ud83d surrogate"),
    Message.assistant("x" * 1_000_000), Message.assistant("[" * 100_000),
]


def _tools(env):
    return getattr(env, "inner", env).tools


def _explicit(tools, fmt):
    out = list(EXPLICIT)
    for spec in tools:
        for raw in HOSTILE_ARGUMENTS:
            if fmt == "openai":
                out.append(Message.assistant(tool_calls=[ToolCall(name=spec.name, arguments=raw)]))
            elif fmt == "tags":
                out.append(Message.assistant(f"<{spec.name}>{raw}</{spec.name}>"))
            else:
                out.append(Message.assistant(f"Action: {spec.name}[{raw}]"))
    return out


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("env_id", IDS)
def test_any_action_gives_a_step_result_and_a_readable_trajectory(env_id, fmt, tmp_path):
    loop = asyncio.new_event_loop()
    env = agentgym.make(env_id, **({} if fmt == "openai" else {"format": fmt}))
    first = loop.run_until_complete(env.reset(seed=0))
    tools = _tools(env)
    writer = TrajectoryWriter(tmp_path / "t.jsonl")
    state = {"n": 0, "done": False}

    def check(action: Message) -> None:
        if state["done"]:
            loop.run_until_complete(env.reset(seed=0))
        result = loop.run_until_complete(env.step(action))
        assert isinstance(result, StepResult)
        assert result.messages, "a step must answer the model"
        state["done"] = result.done or result.truncated
        state["n"] += 1
        traj = Trajectory(episode=state["n"], env_id=env_id, messages=[*first.messages, action, *result.messages],
                          rewards=[0.0, result.reward], channels=[{}, result.channels], infos=[{}, result.info])
        writer.write(traj)
        back = load_trajectories(tmp_path / "t.jsonl")[-1]
        assert back.episode == state["n"] and len(back.messages) == len(traj.messages)

    try:
        for action in _explicit(tools, fmt):
            check(action)
        hypothesis_check = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                                    suppress_health_check=list(HealthCheck))(given(actions(tools, fmt))(check))
        hypothesis_check()
    finally:
        writer.close()
        loop.run_until_complete(env.close())
        loop.close()
