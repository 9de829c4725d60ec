"""Declare tools once, as typed Python methods; get OpenAI schemas and argument checking.

    class Maze(ToolEnv):
        @tool
        def move(self, direction: Literal["north", "south", "east", "west"]) -> str:
            '''Move one cell.

            Args:
                direction: where to go.
            '''

``tool_spec(fn)`` builds the :class:`ToolSpec`; ``validate_arguments(spec, raw)`` turns a raw
JSON string into keyword arguments or raises :class:`ToolArgumentError` with a message that
says what is allowed.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from typing import Any, Callable, Literal, get_args, get_origin

from .types import ToolSpec

TOOL_ATTR = "__agentgym_tool__"


class ToolArgumentError(ValueError):
    """A tool call whose arguments do not match the tool's schema (shown to the model)."""


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None):
    """Marks a method (sync or async) as a tool. Usable bare (``@tool``) or with options."""

    def wrap(f: Callable) -> Callable:
        setattr(f, TOOL_ATTR, {"name": name or f.__name__, "description": description})
        return f

    return wrap(fn) if fn is not None else wrap


def _json_type(annotation: Any) -> dict[str, Any]:
    origin = get_origin(annotation)
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if origin is Literal:
        values = list(get_args(annotation))
        kind = {str: "string", int: "integer", float: "number", bool: "boolean"}.get(type(values[0]), "string")
        return {"type": kind, "enum": values}
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _json_type(args[0]) if len(args) == 1 else {"anyOf": [_json_type(a) for a in args]}
    if origin in (list, tuple, set):
        inner = get_args(annotation)
        return {"type": "array", "items": _json_type(inner[0]) if inner else {}}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    return {
        str: {"type": "string"},
        int: {"type": "integer"},
        float: {"type": "number"},
        bool: {"type": "boolean"},
        list: {"type": "array"},
    }.get(annotation, {})


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Google-style docstring → (summary, {arg: description})."""
    doc = inspect.cleandoc(doc or "")
    parts = re.split(r"^\s*(?:Args|Arguments|Parameters):\s*$", doc, maxsplit=1, flags=re.M)
    # paragraphs joined by a blank line; lines within a paragraph joined by a space
    summary = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", parts[0].strip()) if p.strip())
    args: dict[str, str] = {}
    if len(parts) > 1:
        current = None
        for line in parts[1].splitlines():
            if re.match(r"^\s*(Returns|Raises|Example|Examples):", line):
                break
            m = re.match(r"^\s{0,8}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
            if m:
                current = m.group(1)
                args[current] = m.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
    return summary, args


def tool_spec(fn: Callable) -> ToolSpec:
    """Builds the OpenAI function schema of a ``@tool`` function from its signature and docstring."""
    meta = getattr(fn, TOOL_ATTR, {}) or {}
    summary, arg_docs = _parse_docstring(fn.__doc__ or "")
    hints = typing.get_type_hints(fn)
    props: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema = dict(_json_type(hints.get(pname, param.annotation)))
        if pname in arg_docs:
            schema["description"] = arg_docs[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        else:
            schema["default"] = param.default
        props[pname] = schema
    params: dict[str, Any] = {"type": "object", "properties": props, "required": required}
    return ToolSpec(name=meta.get("name") or fn.__name__, description=meta.get("description") or summary, parameters=params)


def collect_tools(obj: Any) -> dict[str, Callable]:
    """All ``@tool`` methods of an object, by tool name, in definition order."""
    found: dict[str, Callable] = {}
    for klass in reversed(type(obj).__mro__):
        for attr, value in vars(klass).items():
            meta = getattr(value, TOOL_ATTR, None)
            if meta is not None:
                found[meta["name"]] = getattr(obj, attr)
    return found


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _signature(spec: ToolSpec) -> str:
    props = spec.parameters.get("properties", {})
    req = set(spec.parameters.get("required", []))
    parts = []
    for k, v in props.items():
        t = v.get("type", "any")
        if "enum" in v:
            t = "|".join(json.dumps(e) for e in v["enum"])
        parts.append(f"{k}: {t}" + ("" if k in req else " (optional)"))
    return f"{spec.name}({', '.join(parts)})"


def _check_value(name: str, value: Any, schema: dict[str, Any], spec: ToolSpec) -> Any:
    kind = schema.get("type")
    if kind == "number" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind and kind in _TYPE_CHECKS and not _TYPE_CHECKS[kind](value):
        raise ToolArgumentError(
            f"argument `{name}` of `{spec.name}` must be {kind}, got {type(value).__name__} {json.dumps(value)[:60]}. "
            f"Usage: {_signature(spec)}"
        )
    if "enum" in schema and value not in schema["enum"]:
        raise ToolArgumentError(
            f"argument `{name}` of `{spec.name}` must be one of {schema['enum']}, got {json.dumps(value)[:60]}"
        )
    return value


def validate_arguments(spec: ToolSpec, raw: str | dict | None) -> dict[str, Any]:
    """Parses and checks a call's arguments against ``spec``; returns kwargs.

    Raises:
        ToolArgumentError: invalid JSON, not an object, unknown/missing arguments, wrong types.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        args: Any = {}
    elif isinstance(raw, dict):
        args = raw
    else:
        try:
            args = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as e:
            raise ToolArgumentError(
                f"arguments of `{spec.name}` are not valid JSON ({e.__class__.__name__}: {str(e)[:80]}). "
                f"Send a JSON object, e.g. {_signature(spec)}"
            ) from None
    if not isinstance(args, dict):
        raise ToolArgumentError(f"arguments of `{spec.name}` must be a JSON object, got {type(args).__name__}")
    props = spec.parameters.get("properties", {})
    unknown = [k for k in args if k not in props]
    if unknown:
        raise ToolArgumentError(f"unknown argument(s) {unknown} for `{spec.name}`. Usage: {_signature(spec)}")
    missing = [k for k in spec.parameters.get("required", []) if k not in args]
    if missing:
        raise ToolArgumentError(f"missing required argument(s) {missing} for `{spec.name}`. Usage: {_signature(spec)}")
    return {k: _check_value(k, v, props[k], spec) for k, v in args.items()}
