"""``agentgym info ENV_ID``: everything a newcomer asks about one environment, in one place.

    agentgym info toy/maze              # description, arguments, tools, formats, requirements, example
    agentgym info toy/maze --json       # the same as one JSON object (EnvInfo)
    agentgym info textworld/cooking --no-example   # skip the first observation (no game generated)

    from agentgym.info import env_info
    info = await env_info("toy/maze")
    info.arguments[0].name, info.arguments[0].default          # ('size', 4)
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

from pydantic import BaseModel, Field

from .errors import AgentGymError
from .parsers import render_tool_call
from .requirements import check
from .types import Message, ToolCall, ToolSpec

FORMATS = {
    "openai": "native tool calls (tool_calls in the assistant message); --format openai, the default",
    "tags": "text tags for models without tool calling, e.g. {example}; results come back in <{tag}>",
    "react": "ReAct text, e.g. {example}; results come back as 'Observation: ...'",
}


class Argument(BaseModel):
    """One constructor argument: ``--env-arg NAME=VALUE`` on the CLI, ``make(id, NAME=VALUE)`` in Python."""

    name: str
    default: Any = None
    required: bool = False
    annotation: str | None = None


class RequirementInfo(BaseModel):
    name: str
    installed: bool
    install: str | None = None


class EnvInfo(BaseModel):
    """What ``agentgym info`` prints (``--json`` prints this model)."""

    id: str
    description: str
    entry_point: str
    max_turns: int
    tags: list[str] = Field(default_factory=list)
    arguments: list[Argument] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    formats: dict[str, str] = Field(default_factory=dict)
    requirements: list[RequirementInfo] = Field(default_factory=list)
    has_oracle: bool | None = None
    example: list[dict[str, Any]] | None = None
    example_note: str | None = None


def _arguments(factory: Any, defaults: dict[str, Any]) -> list[Argument]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return [Argument(name=k, default=v) for k, v in defaults.items()]
    out = []
    for name, p in params.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            continue
        has_default = name in defaults or p.default is not p.empty
        default = defaults.get(name, None if p.default is p.empty else p.default)
        note = None
        if p.annotation is not p.empty:
            note = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
        out.append(Argument(name=name, default=_jsonable(default), required=not has_default, annotation=note))
    return out


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _formats(tools: list[ToolSpec], result_tag: str = "result") -> dict[str, str]:
    if not tools:
        return {"text": "plain text: the env reads the assistant's message as its action (no tools)"}
    first = next((t for t in tools if t.parameters.get("properties")), tools[0])
    props = first.parameters.get("properties") or {}
    args = {k: _example_value(v) for k, v in props.items()}
    call = ToolCall(name=first.name, arguments=json.dumps(args))
    out = {}
    for name, text in FORMATS.items():
        example = render_tool_call(call, first, name) if name != "openai" else ""  # type: ignore[arg-type]
        out[name] = text.format(example=example.strip(), tag=result_tag)
    return out


def _example_value(schema: Any) -> Any:
    """A placeholder value of the parameter's type (its first enum value when it has one)."""
    if not isinstance(schema, dict):
        return "..."
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}.get(kind, "...")


async def env_info(env_id: str, *, example: bool = True, seed: int = 0) -> EnvInfo:
    """Collects :class:`EnvInfo` for a registered id; builds the env (and resets it when ``example``)."""
    from .registry import factory as factory_of, make, spec

    s = spec(env_id)
    reqs = check(*s.requirements)
    info = EnvInfo(
        id=s.id, description=s.description, entry_point=s.entry_point, max_turns=s.max_turns, tags=list(s.tags),
        requirements=[RequirementInfo(name=r.name, installed=r.installed, install=None if r.installed else r.pip)
                      for r in reqs],
    )
    missing = [r for r in reqs if not r.installed]
    try:
        factory = factory_of(env_id)  # a callable registered directly (lambda, partial) has no importable entry point
    except (AgentGymError, ImportError, AttributeError) as e:
        info.example_note = f"cannot load {s.entry_point}: {e}"
        return info
    info.arguments = _arguments(factory, s.kwargs)
    if not info.description:
        info.description = (inspect.getdoc(factory) or "").split("\n", 1)[0]
    if missing:
        info.example_note = "not built: " + "; ".join(f"{r.name} is missing ({r.pip})" for r in missing)
        return info
    try:
        env = await asyncio.to_thread(make, env_id)
    except Exception as e:
        info.example_note = f"make({env_id!r}) failed: {type(e).__name__}: {e}"
        return info
    try:
        tools = env.tools
        info.tools = [t.to_openai() for t in tools]
        inner = env
        while getattr(inner, "inner", None) is not None:
            inner = inner.inner
        info.formats = _formats(tools, getattr(inner, "result_tag", None) or "result")
        from .env import Env

        info.has_oracle = getattr(type(inner), "oracle", None) is not Env.oracle
        if example:
            try:
                first = await env.reset(seed=seed)
                info.example = [_message(m) for m in first.messages]
                info.example_note = f"reset(seed={seed})"
            except Exception as e:
                info.example_note = f"reset(seed={seed}) failed: {type(e).__name__}: {e}"
    finally:
        try:
            await env.close()
        except Exception:
            pass
    return info


def _message(m: Message) -> dict[str, Any]:
    return {"role": m.role, "content": m.content}


def render(info: EnvInfo) -> str:
    """The human-readable view ``agentgym info`` prints."""
    lines = [f"{info.id}  {info.description}".rstrip(), f"  entry point   {info.entry_point}",
             f"  max turns     {info.max_turns} (--max-turns N)"]
    if info.tags:
        lines.append(f"  tags          {', '.join(info.tags)}")
    if info.has_oracle is not None:
        lines.append(f"  oracle        {'yes (--policy oracle)' if info.has_oracle else 'no'}")
    lines.append("requirements:" + ("" if info.requirements else " none beyond agentgym"))
    for r in info.requirements:
        lines.append(f"  {r.name:<14}{'installed' if r.installed else 'MISSING: ' + (r.install or '')}")
    lines.append("arguments (--env-arg NAME=VALUE, or make(id, NAME=VALUE)):" + ("" if info.arguments else " none"))
    for a in info.arguments:
        kind = f" ({a.annotation})" if a.annotation else ""
        lines.append(f"  {a.name}{kind} = " + ("REQUIRED" if a.required else json.dumps(a.default)))
    lines.append("tools:" + ("" if info.tools else " none (pure text)" if info.formats else " (env not built)"))
    for t in info.tools:
        fn = t.get("function", t)
        lines.append(f"  {fn['name']}: {fn.get('description', '')}".rstrip())
        lines.append(f"    parameters {json.dumps(fn.get('parameters', {}))}")
    if info.formats:
        lines.append("formats (--format):")
        lines += [f"  {k:<7} {v}" for k, v in info.formats.items()]
    if info.example is not None:
        lines.append(f"example first observation ({info.example_note}):")
        for m in info.example:
            body = (m["content"] or "").replace("\n", "\n      ")
            lines.append(f"  [{m['role']}] {body}")
    elif info.example_note:
        lines.append(f"example first observation: {info.example_note}")
    return "\n".join(lines)


__all__ = ["EnvInfo", "Argument", "env_info", "render"]
