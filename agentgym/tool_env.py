"""``ToolEnv``: an env whose actions are calls to its ``@tool`` methods.

    class Guess(ToolEnv):
        async def _reset(self, *, seed, task):
            self.secret = self.rng.randint(1, 100)
            return "Guess a number between 1 and 100."

        @tool
        def guess(self, number: int) -> ToolResult | str:
            '''Guess the number.

            Args:
                number: your guess.
            '''
            if number == self.secret:
                return ToolResult(content="Correct!", reward=1.0, done=True, success=True)
            return "higher" if number < self.secret else "lower"
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any, Callable

from pydantic import BaseModel, Field

from .env import FORMAT_BAD, FORMAT_OK, Env
from .offload import OffloadTimeout, run_in_thread
from .tools import (TOOL_ATTR, ToolArgumentError, collect_tools, tool_attributes, tool_signature, tool_spec,
                    validate_arguments)
from .types import Message, StepResult, ToolCall, ToolSpec, jsonable


class ToolResult(BaseModel):
    """What a ``@tool`` method may return instead of a plain string."""

    content: str
    reward: float = 0.0
    done: bool = False
    success: bool | None = None
    ok: bool = True
    channels: dict[str, float] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict)


class ToolError(Exception):
    """Raise inside a tool for a *model* error (bad path, unknown id): shown as the tool's result."""


class ToolEnv(Env):
    """An env whose actions are calls to its ``@tool`` methods.

    Subclasses write ``_reset`` and tools; ``_step`` dispatches calls, checks arguments
    against the schemas and turns every mistake into feedback. Tools may be sync or async.
    Sync tool bodies run in a thread, off the event loop (:func:`agentgym.offload.run_in_thread`);
    CPU-heavy pure functions belong in a process (:func:`agentgym.offload.run_in_process`).
    A reply without any tool call goes to :meth:`on_text` (default: feedback listing the tools).

    Every call has a hard limit of ``tool_timeout`` seconds. Past it the call is abandoned (a
    runaway thread is interrupted) and, since the env's state can no longer be trusted, the
    episode ends with the message and ``info["error"] == "tool_timeout"``. A tool body that
    fails on its input (``ValueError``, ``TypeError``, ``LookupError``, ``ArithmeticError``,
    ``RecursionError``, ``MemoryError``) is feedback for the model, with ``info["tool_exception"]``;
    other exceptions are env bugs and propagate.
    """

    max_calls_per_turn: int = 8
    tool_timeout: float | None = 60.0

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._tool_specs_cache = None
        cls._tool_table_cache = None

    @classmethod
    def _tool_table(cls) -> dict[str, tuple[str, Any, bool, bool]]:
        """Tool name → (attribute, signature, is async, runs inline), built once per class."""
        table = cls.__dict__.get("_tool_table_cache")
        if table is None:
            table = {}
            for name, attr in tool_attributes(cls).items():
                fn = getattr(cls, attr)
                meta = getattr(fn, TOOL_ATTR, {}) or {}
                table[name] = (attr, tool_signature(fn), inspect.iscoroutinefunction(fn), bool(meta.get("inline")))
            cls._tool_table_cache = table
        return table

    @property
    def tools(self) -> list[ToolSpec]:
        cls = type(self)
        if cls.__dict__.get("_tool_specs_cache") is None:
            cls._tool_specs_cache = [tool_spec(fn) for fn in collect_tools(self).values()]
        return list(cls._tool_specs_cache)

    async def on_text(self, text: str, action: Message) -> StepResult:
        names = ", ".join(t.name for t in self.tools)
        return self.feedback(f"No tool call found. Call one of the tools: {names}.", action)

    async def _step(self, action: Message) -> StepResult:
        calls = action.tool_calls or []
        if not calls:
            return await self.on_text(action.content or "", action)
        fns = self._tool_table()
        out = StepResult(channels={"format": FORMAT_OK})
        ok = 0
        for i, call in enumerate(calls):
            res = await self._call_one(call, fns, over_limit=i >= self.max_calls_per_turn)
            out.messages.append(Message.tool(res.content, call.id, call.name))
            out.reward += res.reward
            ok += res.ok
            if not res.ok and res.info.get("malformed"):
                out.channels["format"] = FORMAT_BAD
            for k, v in res.channels.items():
                out.channels[k] = out.channels.get(k, 0.0) + v
            out.info.update({k: v for k, v in res.info.items() if k != "malformed"})
            if res.done:
                out.done, out.success = True, res.success
                # remaining calls are not executed once the episode ended
                for rest in calls[i + 1:]:
                    out.messages.append(Message.tool("Not executed: the episode already ended.", rest.id, rest.name))
                break
        out.channels["tool_ok"] = ok / len(calls)
        out.info["tool_calls"] = len(calls)
        return out

    async def _call_one(self, call: ToolCall, fns: dict[str, tuple[str, Any, bool, bool]],
                        over_limit: bool) -> ToolResult:
        if over_limit:
            return ToolResult(content=f"Error: at most {self.max_calls_per_turn} tool calls per turn.", ok=False,
                              info={"malformed": True})
        if call.name not in fns:
            names = ", ".join(fns)
            return ToolResult(content=f"Error: unknown tool `{call.name[:80]}`. Available tools: {names}.", ok=False,
                              info={"malformed": True})
        attr, signature, is_async, inline = fns[call.name]
        try:
            kwargs = validate_arguments(signature, call.arguments)
        except ToolArgumentError as e:
            return ToolResult(content=f"Error: {e}", ok=False, info={"malformed": True})
        fn = getattr(self, attr)
        try:
            if is_async:
                value = await asyncio.wait_for(fn(**kwargs), self.tool_timeout)
            elif inline:
                value = fn(**kwargs)
            else:
                value = await run_in_thread(fn, timeout=self.tool_timeout, name=f"agentgym-tool-{call.name}", **kwargs)
                if inspect.isawaitable(value):
                    value = await asyncio.wait_for(value, self.tool_timeout)
        except ToolError as e:
            return ToolResult(content=f"Error: {e}", ok=False)
        except (OffloadTimeout, asyncio.TimeoutError):
            return ToolResult(
                content=f"Error: `{call.name}` did not finish within {self.tool_timeout:g} s and was stopped; "
                        "the episode ends here. Ask for less work per call.",
                ok=False, done=True, success=False, info={"error": "tool_timeout"})
        except (ValueError, TypeError, LookupError, ArithmeticError, RecursionError, MemoryError) as e:
            what = f"{type(e).__name__}: {str(e)[:300]}"
            return ToolResult(content=f"Error: `{call.name}` failed on these arguments ({what}). "
                                      f"Check them against the tool's description.",
                              ok=False, info={"tool_exception": what})
        if isinstance(value, ToolResult):
            return value
        if not isinstance(value, str):
            value = json.dumps(jsonable(value))
        return ToolResult(content=value)


__all__ = ["ToolEnv", "ToolResult", "ToolError"]
