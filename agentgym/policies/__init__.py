"""Policies: anything with ``async act(messages, tools) -> Message``.

    class Policy(Protocol):
        name: str
        async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message: ...

Optional hooks the rollout engine calls when present, each a Protocol of its own (test with
``isinstance(policy, EpisodeAware)``):
    :class:`EpisodeAware` ``async begin_episode(env)`` — called after reset (oracle/random
        policies read the env); may return the policy to act for this episode,
    :class:`Closable` ``async aclose()`` — release clients/models at the end of a run.

Implementations: :class:`OpenAIPolicy` (any OpenAI-compatible endpoint), :class:`HFPolicy`
(transformers, token-in/token-out), :class:`OraclePolicy`, :class:`RandomPolicy`,
:class:`NoopPolicy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..types import Message, ToolSpec

if TYPE_CHECKING:
    from ..env import Env


@runtime_checkable
class Policy(Protocol):
    name: str

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message: ...


@runtime_checkable
class EpisodeAware(Protocol):
    """Optional: told about each episode after reset; returns the policy to act in it (or None: itself)."""

    async def begin_episode(self, env: Env) -> Policy | None: ...


@runtime_checkable
class Closable(Protocol):
    """Optional: releases clients, sessions or models at the end of a run."""

    async def aclose(self) -> None: ...


__all__ = ["Policy", "EpisodeAware", "Closable"]
