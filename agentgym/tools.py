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

from .types import ToolSpec, clean_text

TOOL_ATTR = "__agentgym_tool__"
MAX_ARGUMENT_DEPTH = 32      # no tool needs deeper arguments; deeper ones are refused with a message


class ToolArgumentError(ValueError):
    """A tool call whose arguments do not match the tool's schema (shown to the model)."""


def tool(fn: Callable | None = None, *, name: str | None = None, description: str | None = None,
         inline: bool = False):
    """Marks a method (sync or async) as a tool. Usable bare (``@tool``) or with options.

    Sync tools run in a thread, off the event loop. ``inline=True`` runs a sync tool on the loop
    instead (saves a thread start, ~0.2-0.4 ms): only for bodies whose work is small and bounded
    whatever the arguments, e.g. a lookup in a grid whose size was checked at construction.
    """

    def wrap(f: Callable) -> Callable:
        setattr(f, TOOL_ATTR, {"name": name or f.__name__, "description": description, "inline": inline})
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
    if origin is dict:
        inner = get_args(annotation)
        value = _json_type(inner[1]) if len(inner) == 2 else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    if annotation is dict:
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


def _preview(value: Any) -> str:
    """A short JSON rendering of a (possibly huge or odd) value for error messages; never raises."""
    try:
        return json.dumps(value)[:60]
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__}>"


def _check_value(path: str, value: Any, schema: dict[str, Any], spec: ToolSpec) -> Any:
    """``value`` checked against ``schema`` (recursing into ``items``, ``properties`` and
    ``additionalProperties``); integral floats become ints, numeric strings floats."""
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check_value(path, value, option, spec)
            except ToolArgumentError:
                continue
        kinds = " or ".join(o.get("type", "any") for o in schema["anyOf"])
        raise ToolArgumentError(f"argument `{path}` of `{spec.name}` must be {kinds}, got {type(value).__name__} "
                                f"{_preview(value)}. Usage: {_signature(spec)}")
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
            f"argument `{path}` of `{spec.name}` must be {kind}, got {type(value).__name__} {_preview(value)}. "
            f"Usage: {_signature(spec)}"
        )
    if "enum" in schema and value not in schema["enum"]:
        raise ToolArgumentError(
            f"argument `{path}` of `{spec.name}` must be one of {schema['enum']}, got {_preview(value)}"
        )
    if isinstance(value, list) and isinstance(schema.get("items"), dict) and schema["items"]:
        return [_check_value(f"{path}[{i}]", v, schema["items"], spec) for i, v in enumerate(value)]
    if isinstance(value, dict):
        fields = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return {k: _check_value(f"{path}.{k}", v, fields.get(k) or (extra if isinstance(extra, dict) else {}), spec)
                for k, v in value.items()}
    return value


def _clean_parsed(value: Any, spec: ToolSpec) -> Any:
    """Parsed JSON with lone surrogates escaped (``\\udXXX``), refusing nesting past
    :data:`MAX_ARGUMENT_DEPTH`. Iterative, so hostile depth cannot exhaust the stack."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, int]] = [(root, 0, 0)]
    while stack:
        holder, key, depth = stack.pop()
        v = holder[key]
        if isinstance(v, str):
            holder[key] = clean_text(v)
        elif isinstance(v, (list, dict)):
            if depth >= MAX_ARGUMENT_DEPTH:
                raise ToolArgumentError(f"arguments of `{spec.name}` are nested more than {MAX_ARGUMENT_DEPTH} levels "
                                        f"deep; send flat values. Usage: {_signature(spec)}")
            if isinstance(v, dict):
                v = holder[key] = {clean_text(k): x for k, x in v.items()}
            stack.extend((v, k, depth + 1) for k in (v if isinstance(v, dict) else range(len(v))))
    return root[0]


def validate_arguments(spec: ToolSpec, raw: str | dict | None) -> dict[str, Any]:
    """Parses and checks a call's arguments against ``spec``; returns kwargs.

    Text is cleaned (lone surrogates escaped), nesting is bounded, nested values are checked
    against ``items``/``properties`` (``list[int]`` given ``["a", 1]`` names ``values[0]``).

    Raises:
        ToolArgumentError: invalid JSON, numbers too long to read, nesting too deep, not an
            object, unknown/missing arguments, wrong types (at any depth).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        args: Any = {}
    elif isinstance(raw, dict):
        args = raw
    elif not isinstance(raw, str):
        raise ToolArgumentError(f"arguments of `{spec.name}` must be a JSON object, got {type(raw).__name__}")
    else:
        try:
            args = json.loads(raw)
        except RecursionError:
            raise ToolArgumentError(f"arguments of `{spec.name}` are nested too deeply to read; send a flat JSON "
                                    f"object, e.g. {_signature(spec)}") from None
        except json.JSONDecodeError as e:
            raise ToolArgumentError(
                f"arguments of `{spec.name}` are not valid JSON ({e.__class__.__name__}: {str(e)[:80]}). "
                f"Send a JSON object, e.g. {_signature(spec)}"
            ) from None
        except ValueError:  # an integer literal past Python's int-from-text limit
            raise ToolArgumentError(
                f"a number in the arguments of `{spec.name}` has more than {_int_digits_limit()} digits; "
                "send a shorter number, or the digits as a string"
            ) from None
    if not isinstance(args, dict):
        raise ToolArgumentError(f"arguments of `{spec.name}` must be a JSON object, got {type(args).__name__}")
    args = _clean_parsed(args, spec)
    props = spec.parameters.get("properties", {})
    unknown = [k for k in args if k not in props]
    if unknown:
        raise ToolArgumentError(f"unknown argument(s) {[k[:60] for k in unknown[:5]]} for `{spec.name}`. "
                                f"Usage: {_signature(spec)}")
    missing = [k for k in spec.parameters.get("required", []) if k not in args]
    if missing:
        raise ToolArgumentError(f"missing required argument(s) {missing} for `{spec.name}`. Usage: {_signature(spec)}")
    return {k: _check_value(k, v, props[k], spec) for k, v in args.items()}


def _int_digits_limit() -> int:
    import sys

    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
