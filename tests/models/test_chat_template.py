"""The tiny model's chat template: prefix preservation, tool-call round trip, assistant masks, TRL's checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym.parsers import parse_hermes

pytestmark = pytest.mark.train

TOOLS = [
    {"type": "function", "function": {"name": "move", "description": "Move one cell.", "parameters": {
        "type": "object", "properties": {"direction": {"type": "string", "enum": ["north", "south"]}},
        "required": ["direction"]}}},
    {"type": "function", "function": {"name": "look", "description": "Look around.",
                                      "parameters": {"type": "object", "properties": {}}}},
]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
json_scalar = st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.none(), text,
                        st.floats(allow_nan=False, allow_infinity=False, width=32))
json_args = st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=8),
                            st.one_of(json_scalar, st.lists(json_scalar, max_size=3)), max_size=4)
name = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)


@st.composite
def tool_call(draw):
    args = draw(json_args)
    as_string = draw(st.booleans())  # OpenAI wire format (JSON string) or a mapping (TRL/HF style)
    return {"id": "call_x", "type": "function",
            "function": {"name": draw(name), "arguments": json.dumps(args) if as_string else args}}


@st.composite
def message(draw):
    role = draw(st.sampled_from(["user", "assistant", "tool", "system"]))
    if role == "assistant":
        calls = draw(st.lists(tool_call(), max_size=2))
        content = draw(st.one_of(st.none(), text)) if calls else draw(text)
        return {"role": role, "content": content, **({"tool_calls": calls} if calls else {})}
    if role == "tool":
        return {"role": role, "content": draw(text), "tool_call_id": "call_x"}
    return {"role": role, "content": draw(text)}


conversation = st.lists(message(), min_size=1, max_size=7)


def render(tok, messages, tools=None, gen=False):
    return tok.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=gen)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msgs=conversation, with_tools=st.booleans(), data=st.data())
def test_rendering_is_prefix_preserving(tiny_tokenizer, msgs, with_tools, data):
    tools = TOOLS if with_tools else None
    k = data.draw(st.integers(0, len(msgs)))
    full = render(tiny_tokenizer, msgs, tools)
    if k:
        assert full.startswith(render(tiny_tokenizer, msgs[:k], tools))
    if 0 < k < len(msgs) and msgs[k]["role"] == "assistant":
        # the generation prompt is exactly where the assistant's reply starts
        assert full.startswith(render(tiny_tokenizer, msgs[:k], tools, gen=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(tool_call(), min_size=1, max_size=3), content=st.one_of(st.none(), text))
def test_tool_calls_render_and_parse_back(tiny_tokenizer, calls, content):
    msgs = [{"role": "user", "content": "go"}, {"role": "assistant", "content": content, "tool_calls": calls}]
    prompt = render(tiny_tokenizer, msgs[:1], TOOLS, gen=True)
    reply = render(tiny_tokenizer, msgs, TOOLS)[len(prompt):]
    assert reply.endswith("<|im_end|>\n")
    parsed = parse_hermes(reply.removesuffix("<|im_end|>\n"))
    assert parsed.error is None
    assert [c.name for c in parsed.tool_calls] == [c["function"]["name"] for c in calls]
    for got, want in zip(parsed.tool_calls, calls):
        args = want["function"]["arguments"]
        assert json.loads(got.arguments) == (json.loads(args) if isinstance(args, str) else args)
    assert parsed.text == (content or "").strip()


def test_exact_layout(tiny_tokenizer):
    msgs = [
        {"role": "user", "content": "Find the exit."},
        {"role": "assistant", "content": "Moving.", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "move", "arguments": '{"direction": "north"}'}},
            {"id": "b", "type": "function", "function": {"name": "look", "arguments": {}}}]},
        {"role": "tool", "tool_call_id": "a", "content": "You moved north."},
        {"role": "tool", "tool_call_id": "b", "content": "Open: south."},
    ]
    out = render(tiny_tokenizer, msgs, TOOLS, gen=True)
    assert out.startswith("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools\n")  # default system message
    assert "<tools>\n" + json.dumps(TOOLS[0]) + "\n" + json.dumps(TOOLS[1]) + "\n</tools>" in out
    assert out.endswith(
        "<|im_start|>user\nFind the exit.<|im_end|>\n"
        "<|im_start|>assistant\nMoving.\n<tool_call>\n{\"name\": \"move\", \"arguments\": {\"direction\": \"north\"}}\n"
        "</tool_call>\n<tool_call>\n{\"name\": \"look\", \"arguments\": {}}\n</tool_call><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nYou moved north.\n</tool_response><|im_end|>\n"
        "<|im_start|>user\n<tool_response>\nOpen: south.\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    plain = render(tiny_tokenizer, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])
    assert plain == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
    assert render(tiny_tokenizer, [{"role": "user", "content": "hi"}]) == "<|im_start|>user\nhi<|im_end|>\n"


def test_assistant_mask_covers_exactly_the_reply(tiny_tokenizer):
    tok = tiny_tokenizer
    msgs = [
        {"role": "user", "content": "Find the exit."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "move", "arguments": '{"direction": "north"}'}}]},
        {"role": "tool", "tool_call_id": "a", "content": "You moved north."},
        {"role": "assistant", "content": "Done."},
    ]
    out = tok.apply_chat_template(msgs, tools=TOOLS, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    masked = tok.decode([i for i, m in zip(ids, mask) if m])
    assert masked == ('<tool_call>\n{"name": "move", "arguments": {"direction": "north"}}\n</tool_call><|im_end|>'
                      "Done.<|im_end|>")


def test_trl_accepts_the_template(tiny_tokenizer):
    chat_utils = pytest.importorskip("trl.chat_template_utils", reason="needs trl: pip install 'agentgym[train]'")
    assert chat_utils.supports_tool_calling(tiny_tokenizer)
    assert chat_utils.is_chat_template_prefix_preserving(tiny_tokenizer)
    assert chat_utils.is_chat_template_stop_token_trained(tiny_tokenizer)
    assert chat_utils.has_generation_markers(tiny_tokenizer.chat_template)


def test_tool_call_whose_argument_mentions_the_closing_tag(tiny_tokenizer):
    # found by the property test above: parse_hermes used to stop at the first </tool_call>
    calls = [{"id": "a", "type": "function", "function": {"name": "write", "arguments": {"text": "a</tool_call>b"}}},
             {"id": "b", "type": "function", "function": {"name": "look", "arguments": {}}}]
    msgs = [{"role": "user", "content": "go"}, {"role": "assistant", "content": "ok", "tool_calls": calls}]
    reply = render(tiny_tokenizer, msgs)[len(render(tiny_tokenizer, msgs[:1], gen=True)):]
    parsed = parse_hermes(reply.removesuffix("<|im_end|>\n"))
    assert [(c.name, json.loads(c.arguments)) for c in parsed.tool_calls] == [("write", {"text": "a</tool_call>b"}),
                                                                              ("look", {})]
    assert parsed.text == "ok"
    assert parse_hermes('x <tool_call>{"name": "a", "arguments": {}} <tool_call>{"name": "b"}').text == "x"
    assert len(parse_hermes('<tool_call>{"name": "a", "arguments": {}} <tool_call>{"name": "b"}').tool_calls) == 2
