"""Turn a model's raw text into an action, and tool specs/results into text, for each format.

Formats (chosen at make/rollout time; envs declare tools once):

* ``openai`` — native ``tool_calls``; nothing to parse.
* ``tags``   — Search-R1 / ARPO / ReTool style: ``<search>q</search>``, ``<python>code</python>``,
  ``<answer>x</answer>``; a single-argument tool takes the tag body verbatim, a multi-argument
  tool takes a JSON object. Results come back in a configurable tag (``<result>`` by default).
* ``react``  — ``Action: name[args]`` (args: JSON object or the single argument's raw text).
* ``hermes`` — ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks, the format
  of Qwen/Hermes chat templates (used to read local models' output).

Every parser returns a :class:`ParseResult` and never raises::

    r = parse_tags("<think>hmm</think><search>capital of Veloria</search>", tools)
    r.tool_calls[0].name == "search"; r.error is None
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from .types import Message, ToolCall, ToolSpec

Format = Literal["openai", "tags", "react", "hermes"]
FORMATS = ("openai", "tags", "react", "hermes")
MAX_PARSE_CHARS = 200_000


@dataclass
class ParseResult:
    """Outcome of parsing one reply: ``tool_calls`` (maybe empty), the free ``text`` around
    them, and ``error`` (a message for the model) when the reply is malformed."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    text: str = ""
    error: str | None = None

    def to_message(self, raw: str) -> Message:
        return Message.assistant(content=raw, tool_calls=self.tool_calls or None)


def _single_param(spec: ToolSpec) -> str | None:
    props = spec.parameters.get("properties", {})
    required = spec.parameters.get("required", [])
    if len(required) == 1:
        return required[0]
    if len(props) == 1:
        return next(iter(props))
    return None


def _body_to_arguments(body: str, spec: ToolSpec, format: Format = "tags") -> tuple[str | None, str | None]:
    """Tag/ReAct body → (JSON arguments, error); the error's example is written in ``format``."""
    stripped = body.strip()
    props = spec.parameters.get("properties", {})
    if not props:
        return "{}", None
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
            if isinstance(obj, dict) and (set(obj) <= set(props)):
                return json.dumps(obj), None
        except (ValueError, RecursionError):  # bad JSON, too deep, or an integer past Python's digit limit
            pass
    single = _single_param(spec)
    if single is not None:
        value: object = stripped
        kind = props.get(single, {}).get("type")
        if kind in ("integer", "number"):
            try:
                value = int(stripped) if kind == "integer" else float(stripped)
            except ValueError:
                value = stripped  # the env's validator explains the type error
        return json.dumps({single: value}), None
    example = json.dumps({k: "..." for k in props})
    example = f"Action: {spec.name}[{example}]" if format == "react" else f"<{spec.name}>{example}</{spec.name}>"
    return None, f"`{spec.name}` takes several arguments; write them as a JSON object, e.g. {example}"


_TAG_RE_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _open_tag_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    if names not in _TAG_RE_CACHE:
        alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        _TAG_RE_CACHE[names] = re.compile(rf"<({alt})>")
    return _TAG_RE_CACHE[names]


def _tag_blocks(text: str, names: tuple[str, ...]):
    """Yields ``(name, body)`` per ``<name>body</name>``, left to right, in linear time: a tag
    whose closing tag is missing is never searched for again (a regex with a lazy body would
    rescan the rest of the text once per opening tag)."""
    unclosed: set[str] = set()
    pos = 0
    pattern = _open_tag_pattern(names)
    while (m := pattern.search(text, pos)) is not None:
        name = m.group(1)
        close = -1 if name in unclosed else text.find(f"</{name}>", m.end())
        if close < 0:
            unclosed.add(name)
            pos = m.end()
            continue
        yield name, text[m.end():close]
        pos = close + len(name) + 3


def parse_tags(text: str, tools: list[ToolSpec], *, max_calls: int = 1) -> ParseResult:
    """Parses ``<tool>body</tool>`` actions. Only the first ``max_calls`` are executed
    (Search-R1/ARPO run one action per turn); ``<think>`` blocks are ignored."""
    text = (text or "")[:MAX_PARSE_CHARS]
    visible = re.sub(r"<think>.*?(</think>|$)", "", text, flags=re.S)
    specs = {t.name: t for t in tools}
    if not specs:
        return ParseResult(text=visible.strip())
    calls: list[ToolCall] = []
    errors: list[str] = []
    for name, body in _tag_blocks(visible, tuple(specs)):
        args, err = _body_to_arguments(body, specs[name])
        if err:
            errors.append(err)
        else:
            calls.append(ToolCall(name=name, arguments=args))
        if len(calls) >= max_calls:
            break
    if calls:
        return ParseResult(tool_calls=calls, text=visible.strip())
    if errors:
        return ParseResult(text=visible.strip(), error=errors[0])
    unclosed = [n for n in specs if f"<{n}>" in visible]
    if unclosed:
        n = unclosed[0]
        return ParseResult(text=visible.strip(), error=f"the tag <{n}> is not closed; write <{n}>...</{n}>")
    return ParseResult(text=visible.strip(), error=None)


_REACT_HEAD = re.compile(r"Action\s*:\s*([A-Za-z_][\w\-]*)\s*\[")
_REACT_NAME_RE = re.compile(r"Action\s*:\s*([A-Za-z_][\w\-]*)")


def parse_react(text: str, tools: list[ToolSpec]) -> ParseResult:
    """Parses ``Action: name[args]`` (the last action line wins; ``Thought:`` is free text)."""
    text = (text or "")[:MAX_PARSE_CHARS]
    specs = {t.name: t for t in tools}
    lines = [ln for ln in re.split(r"\n(?=\s*Action\s*:)", text)]
    for chunk in reversed(lines):
        # the first `Action: name[` and the last `]` of the chunk (linear; a greedy regex body
        # would backtrack once per opening bracket)
        m = _REACT_HEAD.search(chunk)
        close = chunk.rfind("]")
        if not m or close < m.end():
            continue
        name, body = m.group(1), chunk[m.end():close]
        if name not in specs:
            return ParseResult(text=text, error=f"unknown action `{name[:60]}`; available: {', '.join(specs)}")
        args, err = _body_to_arguments(body, specs[name], "react")
        if err:
            return ParseResult(text=text, error=err)
        return ParseResult(tool_calls=[ToolCall(name=name, arguments=args)], text=text[: m.start()].strip())
    m = _REACT_NAME_RE.search(text)
    if m:
        return ParseResult(text=text, error=f"write the action as `Action: {m.group(1)}[arguments]` with square brackets")
    return ParseResult(text=text, error=None)


_HERMES_OPEN, _HERMES_CLOSE = "<tool_call>", "</tool_call>"
_JSON = json.JSONDecoder()


def _hermes_blocks(text: str):
    """Yields ``(start, end, body, obj)`` per ``<tool_call>`` block. The JSON object is decoded
    first, so a ``</tool_call>`` inside an argument string does not end the block; ``obj`` is
    None when the body is not JSON (then the block ends at the next ``</tool_call>`` or EOS)."""
    pos = 0
    while (start := text.find(_HERMES_OPEN, pos)) >= 0:
        i = start + len(_HERMES_OPEN)
        j = len(text) - len(text[i:].lstrip())
        obj = None
        try:
            obj, stop = _JSON.raw_decode(text, j)
            rest = text[stop:].lstrip()
            if rest.startswith(_HERMES_CLOSE):
                end = len(text) - len(rest) + len(_HERMES_CLOSE)
            elif not rest or rest.startswith(_HERMES_OPEN):
                end = stop  # unterminated at EOS (or directly followed by the next call)
            else:
                raise ValueError("text after the JSON object")
        except (ValueError, RecursionError):
            obj = None
            close = text.find(_HERMES_CLOSE, i)
            end = len(text) if close < 0 else close + len(_HERMES_CLOSE)
        body = text[i:end].removesuffix(_HERMES_CLOSE)
        yield start, end, body, obj
        pos = end


def parse_hermes(text: str, tools: list[ToolSpec] | None = None) -> ParseResult:
    """Parses ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks."""
    text = (text or "")[:MAX_PARSE_CHARS]
    calls: list[ToolCall] = []
    error = None
    pieces: list[str] = []
    pos = 0
    for start, end, body, obj in _hermes_blocks(text):
        pieces.append(text[pos:start])
        pos = end
        try:
            if obj is None:
                obj = json.loads(body.strip())
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                raise ValueError("needs a string `name`")
            args = obj.get("arguments", obj.get("parameters", {}))
            calls.append(ToolCall(name=obj["name"], arguments=args if isinstance(args, str) else json.dumps(args)))
        except (ValueError, RecursionError) as e:
            error = f'a <tool_call> block is not valid JSON of the form {{"name": ..., "arguments": {{...}}}} ({str(e)[:80]})'
    pieces.append(text[pos:])
    content = "".join(pieces).strip()
    return ParseResult(tool_calls=calls, text=content, error=None if calls else error)


def parse(text: str, tools: list[ToolSpec], format: Format) -> ParseResult:
    """Dispatches to the parser of ``format``."""
    if format == "tags":
        return parse_tags(text, tools)
    if format == "react":
        return parse_react(text, tools)
    if format in ("hermes", "openai"):
        return parse_hermes(text, tools)
    return ParseResult(text=text, error=f"unknown format {format!r}; use one of {FORMATS}")


# ---------------------------------------------------------------- rendering for text formats
def _example_body(spec: ToolSpec) -> str:
    single = _single_param(spec)
    props = spec.parameters.get("properties", {})
    if not props:
        return ""
    if single is not None:
        return f"{single}"
    return json.dumps({k: v.get("type", "...") for k, v in props.items()})


def render_tool_prompt(tools: list[ToolSpec], format: Format, result_tag: str = "result") -> str:
    """The system-prompt paragraph that teaches a text-only model the tools and the format."""
    if not tools:
        return ""
    lines = []
    for t in tools:
        props = t.parameters.get("properties", {})
        args = ", ".join(
            f"{k}: {v.get('type', 'any')}" + (f" one of {v['enum']}" if "enum" in v else "") for k, v in props.items()
        )
        lines.append(f"- {t.name}({args}): {t.description}")
    listing = "\n".join(lines)
    if format == "tags":
        examples = " ".join(f"<{t.name}>{_example_body(t)}</{t.name}>" for t in tools[:3])
        return (
            f"You can use these tools:\n{listing}\n"
            f"Call one tool per turn by writing its name as a tag around its argument, e.g. {examples}. "
            "A tool with several arguments takes a JSON object. You may think first inside <think>...</think>. "
            f"The tool's output comes back inside <{result_tag}>...</{result_tag}>."
        )
    if format == "react":
        t0 = tools[0]
        return (
            f"You can use these tools:\n{listing}\n"
            "Answer in this form:\nThought: your reasoning\nAction: tool_name[argument]\n"
            f"e.g. Action: {t0.name}[{_example_body(t0)}]. A tool with several arguments takes a JSON object. "
            "The result comes back as 'Observation: ...'."
        )
    return listing


def _same_arguments(parsed: ParseResult, args: object) -> bool:
    if len(parsed.tool_calls) != 1:
        return False
    try:
        got = json.loads(parsed.tool_calls[0].arguments)
    except (ValueError, RecursionError):
        return False
    return json.dumps(got, sort_keys=True) == json.dumps(args, sort_keys=True)


def render_tool_call(call: ToolCall, spec: ToolSpec | None, format: Format) -> str:
    """Writes a structured call in a text format (used to turn oracle actions into text).

    A single argument is written verbatim (``<search>capital of Veloria</search>``) when that
    parses back to the same call; otherwise (a value with surrounding spaces, starting with
    ``{``, containing ``</search>`` or ``<think>``, a boolean, ...) the arguments are written
    as a JSON object with ``<`` escaped, which always parses back exactly.
    """
    try:
        args = json.loads(call.arguments or "{}")
    except (ValueError, RecursionError):
        args = {}
    if format == "hermes":
        return f'<tool_call>\n{json.dumps({"name": call.name, "arguments": args})}\n</tool_call>'

    def wrap(body: str) -> str:
        return f"Action: {call.name}[{body}]" if format == "react" else f"<{call.name}>{body}</{call.name}>"

    if not args:
        return wrap("")
    if spec is not None and isinstance(args, dict) and len(args) == 1 and _single_param(spec) in args:
        value = args[_single_param(spec)]
        text = wrap(value if isinstance(value, str) else json.dumps(value))
        parser = parse_react if format == "react" else parse_tags
        if _same_arguments(parser(text, [spec]), args):
            return text
    return wrap(json.dumps(args).replace("<", "\\u003c"))


def render_tool_result(content: str, format: Format, result_tag: str = "result") -> str:
    if format == "react":
        return f"Observation: {content}"
    return f"<{result_tag}>{content}</{result_tag}>"
