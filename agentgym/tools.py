"""Declare tools once, as typed Python methods; get OpenAI schemas and argument checking.

    class Maze(ToolEnv):
        @tool
        def move(self, direction: Literal["north", "south", "east", "west"], steps: int = 1) -> str:
            '''Move.

            Args:
                direction: where to go.
                steps: how many cells.
            '''

    sig = tool_signature(Maze.move)       # .spec: the OpenAI schema; .arguments: the pydantic model
    kwargs = validate_arguments(sig, '{"direction": "north"}')

One pydantic model, built from the signature (any type pydantic knows: nested lists, dicts,
``Literal``, ``Optional``, unions, pydantic models), gives both the JSON schema the model sees
and the validation of what it sends; argument descriptions come from the docstring (Google,
NumPy or reST style, read by ``docstring_parser``). Every malformed call raises
:class:`ToolArgumentError` with a message for the model; nothing else escapes.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .types import ToolSpec, clean_text

TOOL_ATTR = "__agentgym_tool__"
_SIGNATURE_ATTR = "__agentgym_tool_signature__"
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


@dataclass(frozen=True)
class ToolSignature:
    """A tool's OpenAI schema (``spec``) and the pydantic model it was made from (``arguments``).

    ``names`` maps each argument's name to its field in ``arguments`` (fields are named ``a0``,
    ``a1``, ... so an argument may be called ``json`` or ``model_config``).
    """

    spec: ToolSpec
    arguments: type[BaseModel]
    names: dict[str, str]


def _describe(doc: str) -> tuple[str, dict[str, str]]:
    """A docstring → (summary paragraphs, {argument: description}), whitespace collapsed."""
    try:
        parsed = docstring_parser.parse(doc or "")
    except docstring_parser.ParseError:
        parsed = docstring_parser.parse(doc or "", style=docstring_parser.DocstringStyle.GOOGLE)
    text = parsed.short_description or ""
    if parsed.long_description:
        text += ("\n\n" if parsed.blank_after_short_description else "\n") + parsed.long_description
    summary = "\n\n".join(" ".join(p.split()) for p in text.split("\n\n") if p.strip())
    return summary, {p.arg_name: " ".join((p.description or "").split()) for p in parsed.params}


def _simplify(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """Pydantic's JSON schema made plain for an LLM: ``$ref`` inlined, titles dropped, ``X | None``
    shown as ``X`` (its default says it may be omitted)."""
    if isinstance(schema, list):
        return [_simplify(s, defs, depth) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema and depth < 8:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _simplify({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, defs, depth + 1)
    out = {k: _simplify(v, defs, depth) for k, v in schema.items() if k not in ("title", "$defs")}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1:
            del out["anyOf"]
            out = {**rest[0], **out}
    return out


def tool_signature(fn: Callable) -> ToolSignature:
    """The schema and argument model of a ``@tool`` function (built once per function)."""
    target = getattr(fn, "__func__", fn)
    cached = target.__dict__.get(_SIGNATURE_ATTR) if hasattr(target, "__dict__") else None
    if cached is not None:
        return cached
    meta = getattr(target, TOOL_ATTR, {}) or {}
    tool_name = meta.get("name") or target.__name__
    summary, arg_docs = _describe(target.__doc__ or "")
    hints = typing.get_type_hints(target, include_extras=True)
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    for pname, param in inspect.signature(target).parameters.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        field = f"a{len(names)}"
        names[pname] = field
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[field] = (hints.get(pname, Any), Field(default, alias=pname, description=arg_docs.get(pname)))
    model = create_model(f"{tool_name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    raw = model.model_json_schema(by_alias=True)
    props = {k: _simplify(v, raw.get("$defs", {})) for k, v in raw.get("properties", {}).items()}
    params = {"type": "object", "properties": props, "required": list(raw.get("required", []))}
    spec = ToolSpec(name=tool_name, description=meta.get("description") or summary, parameters=params)
    sig = ToolSignature(spec=spec, arguments=model, names=names)
    _BY_SPEC[id(spec)] = sig
    if hasattr(target, "__dict__"):
        setattr(target, _SIGNATURE_ATTR, sig)
    return sig


_BY_SPEC: dict[int, ToolSignature] = {}   # id(spec) -> signature; the signature keeps its spec alive


def tool_spec(fn: Callable) -> ToolSpec:
    """Builds the OpenAI function schema of a ``@tool`` function from its signature and docstring."""
    return tool_signature(fn).spec


def collect_tools(obj: Any) -> dict[str, Callable]:
    """All ``@tool`` methods of an object, by tool name, in definition order."""
    return {name: getattr(obj, attr) for name, attr in tool_attributes(type(obj)).items()}


_TOOL_ATTRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tool_attributes(cls: type) -> dict[str, str]:
    """Tool name → attribute name of every ``@tool`` method of ``cls``, in definition order.

    Walked once per class (the walk reads ~100 attributes; every step of a tool env needs the
    answer); do not mutate the returned dict.
    """
    try:
        return _TOOL_ATTRS[cls]
    except (KeyError, TypeError):
        pass
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            meta = getattr(value, TOOL_ATTR, None)
            if meta is not None:
                found[meta["name"]] = attr
    try:
        _TOOL_ATTRS[cls] = found
    except TypeError:  # a class that takes no weak references: walked each time
        pass
    return found


# ---------------------------------------------------------------------------- checking

_JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}


def _annotation(schema: dict[str, Any]) -> Any:
    """A type for a plain JSON-schema property (specs that did not come from :func:`tool_signature`)."""
    values, options = schema.get("enum"), schema.get("anyOf")
    if values:
        return Literal[tuple(values)]
    if options:
        return Union[tuple(_annotation(o) for o in options)]
    kind = schema.get("type")
    if kind == "array":
        return list[_annotation(schema.get("items") or {})]
    if kind == "object":
        extra = schema.get("additionalProperties")
        return dict[str, _annotation(extra if isinstance(extra, dict) else {})]
    if kind == "null":
        return type(None)
    return _JSON_TYPES.get(kind, Any)


def _signature_of(spec: ToolSpec) -> ToolSignature:
    found = _BY_SPEC.get(id(spec))
    if found is not None and found.spec is spec:
        return found
    props = spec.parameters.get("properties", {}) or {}
    required = set(spec.parameters.get("required", []) or [])
    names = {p: f"a{i}" for i, p in enumerate(props)}
    fields = {names[p]: (_annotation(s), Field(... if p in required else s.get("default"), alias=p))
              for p, s in props.items()}
    model = create_model(f"{spec.name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
    return ToolSignature(spec=spec, arguments=model, names=names)


def _usage(spec: ToolSpec) -> str:
    props = spec.parameters.get("properties", {})
    req = set(spec.parameters.get("required", []))
    parts = []
    for k, v in props.items():
        t = "|".join(json.dumps(e) for e in v["enum"]) if "enum" in v else v.get("type") or \
            "|".join(o.get("type", "any") for o in v.get("anyOf", [])) or "any"
        parts.append(f"{k}: {t}" + ("" if k in req else " (optional)"))
    return f"{spec.name}({', '.join(parts)})"


def _preview(value: Any) -> str:
    """A short JSON rendering of a (possibly huge or odd) value for error messages; never raises."""
    try:
        return json.dumps(value)[:60]
    except (ValueError, TypeError, RecursionError):
        return f"<{type(value).__name__}>"


_EXPECTED = {"int": "integer", "float": "number", "string": "string", "bool": "boolean", "list": "array",
             "dict": "object", "model": "object", "finite": "a finite number", "tuple": "array", "set": "array"}


def _locate(args: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str, Any]:
    """The argument path (``values[0]``, ``scale.x``) and the value an error location points at;
    union-member tags in ``loc`` (``'int'``, ``'list[int]'``) match no key and are skipped."""
    path, value = "", args
    for part in loc:
        if isinstance(value, dict) and part in value:
            path, value = (f"{path}.{part}" if path else str(part)), value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            path, value = f"{path}[{part}]", value[part]
    return path, value


def _explain(err: ValidationError, args: dict[str, Any], spec: ToolSpec) -> str:
    errors = err.errors(include_url=False, include_input=False, include_context=True)
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
    if unknown:
        return f"unknown argument(s) {[k[:60] for k in unknown[:5]]} for `{spec.name}`. Usage: {_usage(spec)}"
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing" and len(e["loc"]) == 1]
    if missing:
        return f"missing required argument(s) {missing} for `{spec.name}`. Usage: {_usage(spec)}"
    by_path: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for e in errors:
        path, value = _locate(args, e["loc"])
        key = e["loc"][-1] if e["loc"] else None
        if e["type"] in ("missing", "extra_forbidden") and isinstance(key, str):  # a field of a nested object
            where = f"{path}.{key}" if path else key
            what = "is required" if e["type"] == "missing" else "is not a known field"
            return f"`{where}` in the arguments of `{spec.name}` {what}. Usage: {_usage(spec)}"
        by_path.setdefault(path, (value, []))[1].append(e)
    path, (value, errs) = next(iter(by_path.items()))
    got = f"got {type(value).__name__} {_preview(value)}"
    literal = [e for e in errs if e["type"] == "literal_error"]
    if literal and len(errs) == 1:
        schema = spec.parameters.get("properties", {}).get(path) or {}
        options = schema.get("enum") or literal[0].get("ctx", {}).get("expected")
        shown = _preview(value) if isinstance(value, str) else got.removeprefix("got ")
        return f"argument `{path}` of `{spec.name}` must be one of {options}, got {shown}"
    kinds = []
    for e in errs:
        kind = _EXPECTED.get(e["type"].split("_")[0]) if e["type"] != "missing" else None
        text = kind or e["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
        if text not in kinds:
            kinds.append(text)
    return f"argument `{path}` of `{spec.name}` must be {' or '.join(kinds)}, {got}. Usage: {_usage(spec)}"


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
                                        f"deep; send flat values. Usage: {_usage(spec)}")
            if isinstance(v, dict):
                v = holder[key] = {clean_text(k): x for k, x in v.items()}
            stack.extend((v, k, depth + 1) for k in (v if isinstance(v, dict) else range(len(v))))
    return root[0]


def _parse(spec: ToolSpec, raw: str | dict | None) -> dict[str, Any]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise ToolArgumentError(f"arguments of `{spec.name}` must be a JSON object, got {type(raw).__name__}")
    try:
        args = json.loads(raw)
    except RecursionError:
        raise ToolArgumentError(f"arguments of `{spec.name}` are nested too deeply to read; send a flat JSON "
                                f"object, e.g. {_usage(spec)}") from None
    except json.JSONDecodeError as e:
        raise ToolArgumentError(f"arguments of `{spec.name}` are not valid JSON ({e.__class__.__name__}: "
                                f"{str(e)[:80]}). Send a JSON object, e.g. {_usage(spec)}") from None
    except ValueError:  # an integer literal past Python's int-from-text limit
        raise ToolArgumentError(f"a number in the arguments of `{spec.name}` has more than {_int_digits_limit()} "
                                "digits; send a shorter number, or the digits as a string") from None
    if not isinstance(args, dict):
        raise ToolArgumentError(f"arguments of `{spec.name}` must be a JSON object, got {type(args).__name__}")
    return args


def validate_arguments(tool: ToolSignature | ToolSpec | Callable, raw: str | dict | None) -> dict[str, Any]:
    """Parses a call's arguments and validates them with the tool's pydantic model; returns kwargs.

    ``tool`` is a :class:`ToolSignature`, a ``@tool`` function, or a :class:`ToolSpec` (a spec
    made by :func:`tool_spec` uses its own model; any other is checked against its JSON schema).
    Text is cleaned (lone surrogates escaped) and nesting bounded before validation; values are
    converted as pydantic does in lax mode (``1.0`` → ``1`` for an ``int``, ``"2.5"`` → ``2.5``
    for a ``float``). Only the arguments the call gave are returned (defaults stay Python's).

    Raises:
        ToolArgumentError: invalid JSON, numbers too long to read, nesting too deep, not an
            object, unknown/missing arguments, wrong types at any depth (the message names the
            path, e.g. ``values[0]``, and the tool's usage).
    """
    if isinstance(tool, ToolSignature):
        sig = tool
    elif isinstance(tool, ToolSpec):
        sig = _signature_of(tool)
    else:
        sig = tool_signature(tool)
    spec = sig.spec
    args = _clean_parsed(_parse(spec, raw), spec)
    try:
        model = sig.arguments.model_validate(args)
    except ValidationError as e:
        raise ToolArgumentError(_explain(e, args, spec)) from None
    except (ValueError, TypeError, RecursionError) as e:  # a validator of a user type tripped over the input
        raise ToolArgumentError(f"arguments of `{spec.name}` could not be read ({type(e).__name__}). "
                                f"Usage: {_usage(spec)}") from None
    return {name: getattr(model, field) for name, field in sig.names.items() if field in model.model_fields_set}


def _int_digits_limit() -> int:
    return sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300
