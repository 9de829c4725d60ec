"""tool_choice over real HTTP with the real openai client: ``required`` and a named choice always
come back as tool calls (of an offered tool / of that tool), even from a random-weight model."""

from __future__ import annotations

import json

import openai
import pytest

from agentgym.models.server import ModelServer

from .conftest import maze_oracle_conversation

pytestmark = pytest.mark.train

TOOLS = [
    {"type": "function", "function": {"name": "move", "description": "Move one cell.",
                                      "parameters": {"type": "object", "properties": {
                                          "direction": {"type": "string", "enum": ["north", "south"]}}}}},
    {"type": "function", "function": {"name": "look", "description": "Look around.",
                                      "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "look_closer", "description": "Look at one cell.",
                                      "parameters": {"type": "object", "properties": {}}}},
]
HI = [{"role": "user", "content": "Where am I?"}]


@pytest.fixture(scope="module")
def random_server(tiny_path):
    with ModelServer(tiny_path, model_name="tiny") as s:
        yield s


@pytest.fixture
async def client(random_server):
    c = openai.AsyncOpenAI(base_url=random_server.url, api_key="x", max_retries=0)
    yield c
    await c.close()


@pytest.mark.parametrize("seed", range(6))
async def test_required_always_calls_an_offered_tool(client, seed):
    r = await client.chat.completions.create(model="tiny", messages=HI, tools=TOOLS, tool_choice="required",
                                             temperature=1.0, seed=seed, max_tokens=40)
    calls = r.choices[0].message.tool_calls
    assert calls, r.choices[0].message.content
    assert all(c.function.name in {"move", "look", "look_closer"} for c in calls)
    assert r.choices[0].finish_reason in ("tool_calls", "length")


@pytest.mark.parametrize("name", ["move", "look", "look_closer"])
async def test_named_tool_choice_always_calls_that_tool(client, name):
    for seed in range(3):
        r = await client.chat.completions.create(
            model="tiny", messages=HI, tools=TOOLS, temperature=1.0, seed=seed, max_tokens=40,
            tool_choice={"type": "function", "function": {"name": name}})
        calls = r.choices[0].message.tool_calls
        assert calls and [c.function.name for c in calls] == [name], r.choices[0].message
        assert r.choices[0].message.content is None
        assert isinstance(calls[0].function.arguments, str)


async def test_auto_and_none_are_left_to_the_model(client):
    r = await client.chat.completions.create(model="tiny", messages=HI, tools=TOOLS, tool_choice="none",
                                             temperature=0, max_tokens=8)
    assert r.choices[0].message.tool_calls is None and isinstance(r.choices[0].message.content, str)


async def test_required_on_a_trained_model_picks_its_call(maze_model_path):
    """On the maze-overfit model, ``required`` returns the very call the model learned (name and arguments)."""
    messages, tools = maze_oracle_conversation()
    k = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    expected = messages[k]["tool_calls"][0]["function"]
    with ModelServer(maze_model_path, model_name="maze") as server:
        client = openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0)
        try:
            r = await client.chat.completions.create(model="maze", messages=messages[:k], tools=tools,
                                                     tool_choice="required", temperature=0)
        finally:
            await client.close()
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls"
    assert call.function.name == expected["name"]
    assert json.loads(call.function.arguments) == json.loads(expected["arguments"])
