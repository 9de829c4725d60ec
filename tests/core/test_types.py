"""Core types: JSON round-trips, the OpenAI wire format and the token view of trajectories."""

import json

import openai
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessage

import agentgym
from agentgym import Message, StepResult, Task, ToolCall, ToolSpec, Trajectory
from agentgym.types import EnvSpec, TokenInfo


def test_message_json_round_trip():
    m = Message.assistant("thinking", [ToolCall(name="move", arguments='{"direction": "north"}')])
    again = Message.model_validate_json(m.model_dump_json())
    assert again == m
    assert again.tool_calls[0].id.startswith("call_")


def test_openai_wire_format_matches_sdk_types():
    call = ToolCall(id="call_1", name="move", arguments='{"direction": "north"}')
    wire = Message.assistant(None, [call]).to_openai()
    assert wire == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "move", "arguments": '{"direction": "north"}'}}]}
    # the SDK's own response type parses back into an identical Message
    sdk = ChatCompletionMessage.model_validate(wire)
    assert Message.from_openai(sdk).tool_calls == [call]
    tool = Message.tool("ok", "call_1", "move").to_openai()
    assert tool == {"role": "tool", "content": "ok", "tool_call_id": "call_1", "name": "move"}
    assert "tokens" not in json.dumps(Message.user("x").to_openai())


def test_the_openai_client_sends_our_wire_format_unchanged_and_we_read_its_reply():
    """The real SDK builds the HTTP request (captured by an httpx transport): our messages and tool
    schemas go out byte for byte as we serialise them, and its parsed reply becomes our Message."""
    import httpx

    seen = {}
    reply_call = {"id": "call_9", "type": "function", "function": {"name": "move", "arguments": '{"direction": "east"}'}}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"], seen["body"] = request.url.path, json.loads(request.content)
        return httpx.Response(200, json={
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls",
                         "message": {"role": "assistant", "content": None, "tool_calls": [reply_call]}}]})

    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1",
                           http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    call = ToolCall(id="call_1", name="move", arguments='{"direction": "north"}')
    messages = [Message.system("s"), Message.user("go"), Message.assistant(None, [call]),
                Message.tool("moved", "call_1", "move")]
    spec = ToolSpec(name="move", description="Move.", parameters={
        "type": "object", "properties": {"direction": {"type": "string", "enum": ["north", "east"]}},
        "required": ["direction"]})
    completion = client.chat.completions.create(model="m", messages=[m.to_openai() for m in messages],
                                                tools=[spec.to_openai()])
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"]["messages"] == [m.to_openai() for m in messages]
    assert seen["body"]["tools"] == [{"type": "function", "function": {
        "name": "move", "description": "Move.", "parameters": spec.parameters}}]
    got = Message.from_openai(completion.choices[0].message)
    assert got.role == "assistant" and got.tool_calls == [ToolCall(id="call_9", name="move",
                                                                   arguments='{"direction": "east"}')]


def test_from_openai_accepts_dict_arguments():
    m = Message.from_openai({"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]})
    assert json.loads(m.tool_calls[0].arguments) == {"a": 1}


def test_toolspec_and_step_and_task_round_trip():
    spec = ToolSpec(name="f", description="d", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})
    assert spec.to_openai()["function"]["name"] == "f"
    for obj in (spec, StepResult(reward=1.0, done=True, channels={"format": -1.0}), Task(id="t", data={"x": [1]})):
        assert type(obj).model_validate_json(obj.model_dump_json()) == obj


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)
tool_specs = st.builds(
    ToolSpec, name=st.text(min_size=1, max_size=20), description=st.text(max_size=40),
    parameters=st.fixed_dictionaries({"type": st.just("object"),
                                      "properties": st.dictionaries(st.text(max_size=8), st.dictionaries(
                                          st.sampled_from(["type", "enum", "description", "default"]), json_values,
                                          max_size=3), max_size=3)},
                                     optional={"required": st.lists(st.text(max_size=8), max_size=3)}),
)
env_specs = st.builds(
    EnvSpec, id=st.text(min_size=1, max_size=20), description=st.text(max_size=40),
    tools=st.lists(tool_specs, max_size=3), max_turns=st.integers(1, 1000), tags=st.lists(st.text(max_size=8), max_size=3),
    requirements=st.lists(st.text(max_size=8), max_size=3), entry_point=st.none() | st.text(max_size=30),
    kwargs=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(tool_specs)
def test_toolspec_json_round_trip(spec):
    again = ToolSpec.model_validate_json(spec.model_dump_json())
    assert again == spec and again.to_openai() == spec.to_openai()


@settings(max_examples=200, deadline=None)
@given(env_specs)
def test_envspec_json_round_trip(spec):
    again = EnvSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.model_dump_json() == spec.model_dump_json()


def test_registered_envspecs_round_trip_with_their_tools():
    specs = agentgym.list_envs()
    assert any(s.id == "toy/maze" for s in specs)
    for s in specs:
        assert EnvSpec.model_validate_json(s.model_dump_json()) == s, s.id
    env = agentgym.make("toy/maze", size=3, max_turns=7)
    full = env.spec.model_copy(update={"tools": env.tools})
    again = EnvSpec.model_validate_json(full.model_dump_json())
    assert again == full and again.kwargs == {"size": 3} and again.max_turns == 7
    assert [t.name for t in again.tools] == ["look", "move"]
    assert again.tools[1].parameters["properties"]["direction"]["enum"] == ["north", "south", "east", "west"]


def test_trajectory_token_view_masks_only_model_tokens():
    a1 = Message.assistant("a")
    a1.tokens = TokenInfo(prompt_ids=[1, 2], completion_ids=[3, 4], logprobs=[-0.1, -0.2])
    a2 = Message.assistant("b")
    a2.tokens = TokenInfo(prompt_ids=[1, 2, 3, 4, 9, 9], completion_ids=[5], logprobs=[-0.3])
    t = Trajectory(messages=[Message.user("u"), a1, Message.user("env"), a2])
    prompt, completion, logprobs, mask = t.token_view()
    assert prompt == [1, 2]
    assert completion == [3, 4, 9, 9, 5]
    assert mask == [1, 1, 0, 0, 1]
    assert logprobs == [-0.1, -0.2, 0.0, 0.0, -0.3]
    t2 = Trajectory.model_validate_json(t.model_dump_json())
    assert tuple(t2.token_view()) == (prompt, completion, logprobs, mask)


def test_token_view_detects_retokenized_history():
    a1 = Message.assistant("a")
    a1.tokens = TokenInfo(prompt_ids=[1, 2], completion_ids=[3])
    a2 = Message.assistant("b")
    a2.tokens = TokenInfo(prompt_ids=[1, 7, 3, 9], completion_ids=[5])
    import pytest

    with pytest.raises(ValueError, match="re-tokenized"):
        Trajectory(messages=[a1, a2]).token_view()


def test_lone_surrogates_are_escaped_never_dropped_and_pairs_are_joined():
    from agentgym.types import clean_text

    assert clean_text("ok \ud83d") == "ok \\ud83d"
    assert clean_text("\ud83d\ude00") == "\U0001F600"
    assert clean_text("\ude00\ud83d!") == "\\ude00\\ud83d!"
    msg = Message.assistant("say \ud83d", tool_calls=[ToolCall(name="t\udc00", arguments='{"a": "\ud800"}')])
    back = Message.model_validate_json(msg.model_dump_json())
    assert back.content == "say \\ud83d" and back.tool_calls[0].name == "t\\udc00"
    assert back.tool_calls[0].arguments == '{"a": "\\ud800"}'


def test_jsonable_makes_any_info_serialisable():
    from agentgym.types import jsonable

    deep: list = []
    for _ in range(500):
        deep = [deep]
    info = {"big": 10**5000, "text": "x\ud83d", 3: ValueError("odd"), "deep": deep, "nan": float("nan")}
    out = json.loads(json.dumps(jsonable(info)))
    assert out["big"] == "<integer of 16610 bits>" and out["text"] == "x\\ud83d" and "3" in out
    traj = Trajectory(infos=[jsonable(info)])
    assert Trajectory.model_validate_json(traj.model_dump_json()).infos[0]["text"] == "x\\ud83d"


def test_trajectory_with_a_nan_reward_reads_back():
    traj = Trajectory(rewards=[float("nan"), float("inf")], reward=float("nan"))
    back = Trajectory.model_validate_json(traj.model_dump_json())
    assert back.rewards[1] == float("inf") and back.reward != back.reward
