"""Text action formats for models without native tool calling.

``TextFormatEnv`` wraps any env: the model sees a tool description in the system prompt and
writes its actions as text (``tags`` or ``react``); tool results come back as user messages
(``<result>…</result>`` / ``Observation: …``). The inner env still receives structured
tool calls, so envs declare their tools once.

    env = agentgym.make("toy/maze", format="tags")          # or TextFormatEnv(inner, "tags")
"""

from __future__ import annotations

import random

from .env import Env
from .parsers import Format, parse, render_tool_call, render_tool_prompt, render_tool_result
from .types import Message, StepResult, Task, ToolSpec


class TextFormatEnv(Env):
    """Presents ``inner``'s tools as a text protocol (``tags`` | ``react``)."""

    def __init__(self, inner: Env, format: Format = "tags", result_tag: str | None = None):
        if format not in ("tags", "react"):
            raise ValueError(f"text format must be 'tags' or 'react', got {format!r}")
        self.inner = inner
        self.format = format
        self.result_tag = result_tag or inner.result_tag
        self.spec = inner.spec

    @property
    def tools(self) -> list[ToolSpec]:
        return []

    @property
    def turn(self) -> int:
        return self.inner.turn

    @property
    def task(self) -> Task | None:
        return self.inner.task

    @property
    def seed(self) -> int | None:
        return self.inner.seed

    @property
    def done(self) -> bool:
        return self.inner.done

    @property
    def rng(self) -> random.Random:
        return self.inner.rng

    def _text(self, result: StepResult) -> StepResult:
        parts, out = [], []
        for m in result.messages:
            if m.role == "tool":
                parts.append(render_tool_result(m.content or "", self.format, self.result_tag))
            else:
                out.append(m)
        if parts:
            out.append(Message.user("\n".join(parts)))
        return result.model_copy(update={"messages": out})

    async def reset(self, *, seed: int | None = None, task: Task | dict | str | None = None) -> StepResult:
        self._check_open()
        result = self._text(await self.inner.reset(seed=seed, task=task))
        prompt = render_tool_prompt(self.inner.tools, self.format, self.result_tag)
        if prompt:
            if result.messages and result.messages[0].role == "system":
                sys_msg = result.messages[0]
                result.messages[0] = Message.system(f"{sys_msg.content}\n\n{prompt}")
            else:
                result.messages.insert(0, Message.system(prompt))
        return result

    async def step(self, action: Message | str) -> StepResult:
        """Parses the reply and steps the inner env with the tool calls it holds. A reply that
        does not parse is refused (:meth:`Env.reject`): it counts as a turn, the model gets the
        parse error, and the inner env never acts on the text."""
        self._check_open()
        raw = action if isinstance(action, str) else (action.content or "")
        parsed = None
        if self.inner.tools and len(raw) <= self.inner.max_action_chars:  # oversized: the inner env refuses it
            parsed = parse(raw, self.inner.tools, self.format)
        if parsed is not None and parsed.error and not parsed.tool_calls:
            result = self._text(await self.inner.reject(Message.assistant(content=raw), parsed.error))
            result.info["error"] = parsed.error
            return result
        inner_action = Message.assistant(content=raw, tool_calls=(parsed.tool_calls or None) if parsed else None)
        return self._text(await self.inner.step(inner_action))

    async def fork(self) -> TextFormatEnv:
        return TextFormatEnv(await self.inner.fork(), self.format, self.result_tag)

    async def oracle(self) -> list[Message] | None:
        actions = await self.inner.oracle()
        if actions is None:
            return None
        return [self._render(a) for a in actions]

    def _render(self, action: Message) -> Message:
        if not action.tool_calls:
            return Message.assistant(action.content or "")
        specs = {t.name: t for t in self.inner.tools}
        text = "\n".join(render_tool_call(c, specs.get(c.name), self.format) for c in action.tool_calls)
        return Message.assistant(text)

    def sample_action(self, rng: random.Random) -> Message:
        return self._render(self.inner.sample_action(rng))

    async def close(self) -> None:
        self._closed = True
        await self.inner.close()

    async def _reset(self, *, seed, task):  # pragma: no cover - reset() is overridden
        raise NotImplementedError

    async def _step(self, action):  # pragma: no cover - step() is overridden
        raise NotImplementedError
