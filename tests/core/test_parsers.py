"""Property-based tests: parsers never raise on any text, name what is wrong, and round-trip rendered calls."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

import agentgym
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
        if fmt in ("tags", "react"):
            json.loads(c.arguments)  # built by the parser: always valid JSON
        else:
            assert isinstance(c.arguments, str)  # hermes passes string arguments on as sent (like the wire)
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


# ---------------------------------------------------------------- malformed input names what is wrong
NAMES = [t.name for t in TOOLS]
no_lt = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<"), max_size=40)
one_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n[]"), max_size=40)
unknown_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,30}", fullmatch=True).filter(lambda n: n not in NAMES)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), no_lt, no_lt)
def test_unclosed_tag_is_named(name, before, body):
    r = parse_tags(f"{before}<{name}>{body}", TOOLS)
    assert r.tool_calls == []
    assert r.error == f"the tag <{name}> is not closed; write <{name}>...</{name}>"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), one_line)
def test_react_action_without_brackets_is_named(name, rest):
    r = parse_react(f"Thought: go\nAction: {name} {rest}", TOOLS)
    assert r.tool_calls == [] and f"`Action: {name}[arguments]`" in r.error and "square brackets" in r.error


@settings(max_examples=200, deadline=None)
@given(unknown_names, one_line)
def test_react_unknown_action_is_named_with_the_available_ones(name, arg):
    r = parse_react(f"Thought: hmm\nAction: {name}[{arg}]", TOOLS)
    assert r.tool_calls == []
    assert r.error == f"unknown action `{name}`; available: {', '.join(NAMES)}"


bad_move_bodies = st.one_of(
    st.builds(lambda dx, dy, cut: json.dumps({"dx": dx, "dy": dy})[:-cut],
              st.integers(-99, 99), st.integers(-99, 99), st.integers(1, 6)),  # truncated JSON
    st.builds(lambda k: json.dumps({k: 1}), st.text(max_size=8).filter(lambda k: k not in ("dx", "dy"))),  # bad key
    st.builds(json.dumps, st.lists(st.integers(), max_size=3)),  # not an object
    one_line.filter(lambda s: "{" not in s),  # not JSON at all
)


@settings(max_examples=300, deadline=None)
@given(bad_move_bodies)
def test_multi_argument_tool_with_invalid_json_is_named(body):
    for fmt, text, example in (("tags", f"<move>{body}</move>", "<move>{"),
                               ("react", f"Action: move[{body}]", "Action: move[{")):
        r = parse(text, TOOLS, fmt)
        assert r.tool_calls == [], (fmt, text)
        assert r.error.startswith("`move` takes several arguments; write them as a JSON object"), (fmt, r.error)
        assert example in r.error  # the example is written in the format the model is using


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES), st.text(max_size=20), st.integers(1, 4))
def test_hermes_block_with_invalid_json_is_named(name, query, cut):
    block = json.dumps({"name": name, "arguments": {"query": query}})[:-cut]
    r = parse_hermes(f"calling <tool_call>\n{block}\n</tool_call>")
    assert r.tool_calls == []
    assert r.error.startswith('a <tool_call> block is not valid JSON of the form {"name": ..., "arguments": {...}}')
    assert "needs a string `name`" in parse_hermes('<tool_call>{"arguments": {}}</tool_call>').error


@settings(max_examples=40, deadline=None)
@given(st.one_of(unknown_names.map(lambda n: (n, "{}")),
                 st.builds(lambda cut: ("move", '{"direction": "north"}'[:-cut]), st.integers(1, 8))))
def test_hermes_calls_the_env_rejects_are_named_by_the_env(name_and_args):
    """Hermes passes names and string arguments on as sent; the env names what is wrong."""
    name, arguments = name_and_args
    text = "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"
    r = parse_hermes(text)
    assert r.error is None and [(c.name, c.arguments) for c in r.tool_calls] == [(name, arguments)]
    with agentgym.make("toy/maze").sync() as env:
        env.reset(seed=0)
        result = env.step(r.to_message(text))
    assert result.channels["format"] == -1.0
    reply = result.messages[0].content
    if name == "move":
        assert reply.startswith("Error: arguments of `move` are not valid JSON"), reply
    else:
        assert reply == f"Error: unknown tool `{name}`. Available tools: look, move.", reply


# ---------------------------------------------------------------- well-formed calls round-trip exactly
RT_TOOLS = TOOLS + [
    ToolSpec(name="look", parameters={"type": "object", "properties": {}}),
    ToolSpec(name="flag", parameters={"type": "object", "properties": {"on": {"type": "boolean"}}, "required": ["on"]}),
    ToolSpec(name="scale", parameters={"type": "object", "properties": {"factor": {"type": "number"}}, "required": ["factor"]}),
    ToolSpec(name="find", parameters={"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
                                      "required": ["query"]}),
]
VALUES = {"string": st.text(max_size=40), "integer": st.integers(-10**30, 10**30), "boolean": st.booleans(),
          "number": st.floats(allow_nan=False, allow_infinity=False)}


def _arguments(spec):
    props, required = spec.parameters["properties"], spec.parameters.get("required", [])
    return st.fixed_dictionaries({k: VALUES[props[k]["type"]] for k in required},
                                 optional={k: VALUES[v["type"]] for k, v in props.items() if k not in required})


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(RT_TOOLS).flatmap(lambda spec: st.tuples(st.just(spec), _arguments(spec))),
       st.sampled_from(["tags", "react", "hermes"]))
def test_well_formed_calls_round_trip_exactly(spec_and_args, fmt):
    spec, args = spec_and_args
    text = render_tool_call(ToolCall(name=spec.name, arguments=json.dumps(args)), spec, fmt)
    r = parse(f"Thought: ok\n{text}" if fmt == "react" else text, RT_TOOLS, fmt)
    assert r.error is None and len(r.tool_calls) == 1, (text, r.error)
    got = json.loads(r.tool_calls[0].arguments)
    assert r.tool_calls[0].name == spec.name
    assert json.dumps(got, sort_keys=True) == json.dumps(args, sort_keys=True), text  # same values and types


def test_render_writes_plain_single_arguments_verbatim():
    search = TOOLS[0]
    call = ToolCall(name="search", arguments=json.dumps({"query": "capital of Veloria"}))
    assert render_tool_call(call, search, "tags") == "<search>capital of Veloria</search>"
    assert render_tool_call(call, search, "react") == "Action: search[capital of Veloria]"
    tricky = ToolCall(name="search", arguments=json.dumps({"query": "a</search><think>"}))
    assert render_tool_call(tricky, search, "tags") == '<search>{"query": "a\\u003c/search>\\u003cthink>"}</search>'


_PIECES = ["<search>", "</search>", "<answer>", "</answer>", "x", " ", "{", "}", "\n", "Action: search[", "]", "Action: answer["]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_linear_parsers_match_the_regex_definition(text):
    """The tag and ReAct scanners (linear on hostile text such as 25,000 unclosed tags) find
    what the plain regexes `<(name)>(.*?)</name>` and `Action: name[(.*)]` define."""
    import re

    from agentgym.parsers import _tag_blocks

    tag_re = re.compile(r"<(answer|search)>(.*?)</\1>", re.S)
    assert list(_tag_blocks(text, ("search", "answer"))) == [(m.group(1), m.group(2)) for m in tag_re.finditer(text)]
    react_re = re.compile(r"Action\s*:\s*([A-Za-z_][\w\-]*)\s*\[(.*)\]", re.S)
    tools = [ToolSpec(name="search", parameters={"type": "object", "properties": {"q": {"type": "string"}}}),
             ToolSpec(name="answer", parameters={"type": "object", "properties": {"a": {"type": "string"}}})]
    last = None
    for chunk in reversed(re.split(r"\n(?=\s*Action\s*:)", text)):
        last = react_re.search(chunk)
        if last:
            break
    parsed = parse_react(text, tools)
    if last is None:
        assert not parsed.tool_calls
    elif parsed.tool_calls:
        assert parsed.tool_calls[0].name == last.group(1)
