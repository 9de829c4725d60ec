"""Policies: anything with ``async act(messages, tools) -> Message``.

    class Policy(Protocol):
        name: str
        async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message: ...

Optional hooks the rollout engine calls when present:
    ``async begin_episode(env)`` — called after reset (oracle/random policies read the env),
    ``async aclose()`` — release clients/models at the end of a run.

Implementations: :class:`OpenAIPolicy` (any OpenAI-compatible endpoint), :class:`HFPolicy`
(transformers, token-in/token-out), :class:`OraclePolicy`, :class:`RandomPolicy`,
:class:`NoopPolicy`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..types import Message, ToolSpec


@runtime_checkable
class Policy(Protocol):
    name: str

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message: ...


__all__ = ["Policy"]
