"""Property-based tests: parsers never raise on any text and always explain what is wrong."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.parsers import parse, parse_hermes, parse_react, parse_tags, render_tool_call
from agentgym.types import ToolCall, ToolSpec

TOOLS = [
    ToolSpec(name="search", description="search", parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),
    ToolSpec(name="python", description="run", parameters={"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}),
    ToolSpec(name="answer", description="answer", parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
    ToolSpec(name="move", description="m", parameters={"type": "object", "properties": {"dx": {"type": "integer"}, "dy": {"type": "integer"}}, "required": ["dx", "dy"]}),
]

fragments = st.sampled_from(["<search>", "</search>", "<python>", "</python>", "<answer>", "</answer>", "<think>",
                             "</think>", "<tool_call>", "</tool_call>", "{", "}", '"name"', ":", "Action:", "[", "]",
                             "move", "search", "\n", "\\boxed{", "<<", ">>", "\x00", "é", "😀"])
adversarial = st.lists(st.one_of(fragments, st.text(max_size=20)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(adversarial, st.sampled_from(["tags", "react", "hermes", "openai", "bogus"]))
def test_parsers_never_raise(text, fmt):
    r = parse(text, TOOLS, fmt)
    assert isinstance(r.tool_calls, list)
    for c in r.tool_calls:
        assert c.name in {t.name for t in TOOLS} or fmt in ("hermes", "openai")
        json.loads(c.arguments)  # always valid JSON
    if r.error is not None:
        assert isinstance(r.error, str) and len(r.error) > 10


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200).filter(lambda s: "</search>" not in s))
def test_tag_body_is_taken_verbatim(body):
    r = parse_tags(f"<think>let me search</think><search>{body}</search>", TOOLS)
    assert r.error is None and len(r.tool_calls) == 1
    assert json.loads(r.tool_calls[0].arguments) == {"query": body.strip()}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TOOLS), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=50)
       .filter(lambda s: "<" not in s and "]" not in s and s.strip() == s and not s.startswith("{")))
def test_render_then_parse_round_trip(spec, value):
    props = spec.parameters["properties"]
    args = {k: (value if v["type"] == "string" else 3) for k, v in props.items()}
    call = ToolCall(name=spec.name, arguments=json.dumps(args))
    for fmt, parser in (("tags", parse_tags), ("react", parse_react), ("hermes", parse_hermes)):
        text = render_tool_call(call, spec, fmt)
        r = parser(text, TOOLS)
        assert r.error is None, (fmt, text, r.error)
        assert json.loads(r.tool_calls[0].arguments) == args


def test_tags_edge_cases():
    assert "not closed" in parse_tags("<search>unclosed", TOOLS).error
    r = parse_tags("<search>a</search><python>print(1)</python>", TOOLS)
    assert [c.name for c in r.tool_calls] == ["search"]  # one action per turn
    assert "JSON object" in parse_tags("<move>3</move>", TOOLS).error
    assert json.loads(parse_tags('<move>{"dx": 1, "dy": 2}</move>', TOOLS).tool_calls[0].arguments) == {"dx": 1, "dy": 2}
    assert parse_tags("<think><search>x</search></think>just text", TOOLS).tool_calls == []
    r = parse_tags("no action at all", TOOLS)
    assert r.tool_calls == [] and r.error is None and r.text == "no action at all"
    r = parse_tags("<search><search>inner</search></search>", TOOLS)
    assert r.tool_calls and r.error is None


def test_react_edge_cases():
    r = parse_react("Thought: go\nAction: search[capital of Veloria]", TOOLS)
    assert json.loads(r.tool_calls[0].arguments) == {"query": "capital of Veloria"}
    assert "square brackets" in parse_react("Action: search capital", TOOLS).error
    assert "unknown action `fly`" in parse_react("Action: fly[x]", TOOLS).error


def test_hermes_edge_cases():
    r = parse_hermes('hi <tool_call>\n{"name": "search", "arguments": {"query": "x"}}\n</tool_call>')
    assert r.tool_calls[0].name == "search" and r.text == "hi"
    assert "not valid JSON" in parse_hermes("<tool_call>{oops}</tool_call>").error
    assert parse_hermes('<tool_call>{"name": "a", "arguments": {}}').tool_calls  # unterminated at EOS
