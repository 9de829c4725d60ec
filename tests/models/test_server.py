"""serve-model over real HTTP with the real openai client: tool calls, round trips, options, errors."""

from __future__ import annotations

import asyncio
import json

import httpx
import openai
import pytest

import agentgym
from agentgym.models.server import ModelServer
from agentgym.policies.openai import OpenAIPolicy

from .conftest import MAZE_SEED, MAZE_SIZE, maze_oracle_conversation

pytestmark = pytest.mark.train

MODEL = "maze-tiny"


@pytest.fixture(scope="module")
def server(maze_model_path):
    with ModelServer(maze_model_path, model_name=MODEL) as s:
        yield s


@pytest.fixture
async def client(server):
    c = openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0)
    yield c
    await c.close()


@pytest.fixture(scope="module")
def conversation():
    return maze_oracle_conversation()


def first_prompt(conversation):
    messages, tools = conversation
    k = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:k], tools, messages[k]


async def test_health_and_models(server, client):
    async with httpx.AsyncClient() as h:
        r = await h.get(server.url.removesuffix("/v1") + "/health")
    assert r.json() == {"status": "ok", "model": MODEL}
    models = await client.models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert server.host == "127.0.0.1"


async def test_tool_call_round_trip(client, conversation, maze_model_path):
    from transformers import AutoTokenizer

    prompt, tools, expected = first_prompt(conversation)
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, temperature=0)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == expected["tool_calls"][0]["function"]["name"]
    assert json.loads(call.function.arguments) == json.loads(expected["tool_calls"][0]["function"]["arguments"])
    tok = AutoTokenizer.from_pretrained(maze_model_path)
    ids = tok.apply_chat_template(prompt, tools=tools, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert r.usage.prompt_tokens == len(ids)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    # send the call back with its result, as an agent loop does: the server renders the history
    history = prompt + [choice.message.model_dump(exclude_none=True),
                        {"role": "tool", "tool_call_id": call.id, "content": conversation[0][len(prompt) + 1]["content"]}]
    r2 = await client.chat.completions.create(model=MODEL, messages=history, tools=tools, temperature=0)
    assert r2.choices[0].message.tool_calls[0].function.arguments == \
        conversation[0][len(prompt) + 2]["tool_calls"][0]["function"]["arguments"]


async def test_openai_policy_solves_the_maze_through_the_server(server):
    env = agentgym.make("toy/maze", size=MAZE_SIZE)
    policy = OpenAIPolicy(MODEL, base_url=server.url, temperature=0)
    try:
        traj = await agentgym.rollout(env, policy, seed=MAZE_SEED)
    finally:
        await policy.aclose()
        await env.close()
    assert traj.success, traj.messages[-1].content
    assert traj.usage.completion_tokens > 0


async def test_tool_choice_none_and_named(client, conversation):
    prompt, tools, _ = first_prompt(conversation)
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, temperature=0,
                                             tool_choice="none")
    assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "stop"
    assert "<tool_call>" in r.choices[0].message.content  # raw text: the server did not parse it
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, temperature=0,
                                             tool_choice={"type": "function", "function": {"name": "look"}})
    assert r.choices[0].message.tool_calls[0].function.name == "look"  # forced by prefilling the call


async def test_stop_max_tokens_seed_and_logprobs(client, conversation):
    prompt, tools, _ = first_prompt(conversation)
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, temperature=0,
                                             stop=["move"])
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content.endswith('"name": "')
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, max_completion_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3
    same = [await client.chat.completions.create(model=MODEL, messages=prompt, temperature=1.5, seed=7, max_tokens=12)
            for _ in range(2)]
    assert same[0].choices[0].message.content == same[1].choices[0].message.content
    r = await client.chat.completions.create(model=MODEL, messages=prompt, tools=tools, temperature=0,
                                             logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert all(lp.logprob <= 0 and len(lp.top_logprobs) == 2 for lp in content)
    assert all(lp.top_logprobs[0].logprob >= lp.logprob - 1e-5 for lp in content)  # greedy picks the top token


async def test_concurrent_requests_are_served(client, conversation):
    prompt, tools, _ = first_prompt(conversation)
    rs = await asyncio.gather(*[client.chat.completions.create(model=MODEL, messages=prompt, tools=tools,
                                                                temperature=0) for _ in range(4)])
    assert len({r.choices[0].message.tool_calls[0].function.arguments for r in rs}) == 1


@pytest.mark.parametrize("override, status, needle", [
    ({"n": 2}, 400, "n=2 is not supported"),
    ({"stream": True}, 400, "stream"),
    ({"temperature": 3}, 400, "temperature"),
    ({"messages": []}, 400, "messages"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "role"),
    ({"tool_choice": "required"}, 400, "tool_choice requires `tools`"),
    ({"max_tokens": 10**7}, 400, "maximum context length"),
    ({"model": "gpt-9"}, 404, "serves 'maze-tiny'"),
])
async def test_bad_requests_get_openai_errors(server, override, status, needle):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **override}
    async with httpx.AsyncClient() as h:
        r = await h.post(server.url + "/chat/completions", json=body)
    assert r.status_code == status
    err = r.json()["error"]
    assert needle in err["message"] and err["type"] == "invalid_request_error"


async def test_bad_requests_through_the_sdk(client):
    with pytest.raises(openai.BadRequestError, match="n=3"):
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], n=3)
    async with httpx.AsyncClient() as h:
        r = await h.post(str(client.base_url) + "chat/completions", content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]


def test_api_key_is_enforced(maze_model_path):
    with ModelServer(maze_model_path, api_key="s3cret") as s:
        wrong = openai.OpenAI(base_url=s.url, api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError, match="API key"):
            wrong.models.list()
        right = openai.OpenAI(base_url=s.url, api_key="s3cret", max_retries=0)
        assert [m.id for m in right.models.list().data] == [s.model_name]
        assert httpx.get(s.url.removesuffix("/v1") + "/health").status_code == 200
