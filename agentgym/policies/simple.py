"""Baseline policies that need no model: oracle, random and no-op.

    await agentgym.rollout(env, OraclePolicy())    # solves tasks whose env knows the answer
    await agentgym.rollout(env, RandomPolicy(seed=0))

Oracle and random policies read the env, so ``begin_episode(env)`` returns a per-episode
policy: concurrent episodes never share state.
"""

from __future__ import annotations

import random

from ..env import Env
from ..errors import AgentGymError
from ..types import Message, ToolSpec


class _Scripted:
    def __init__(self, name: str, plan: list[Message]):
        self.name, self.plan = name, plan

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        if not self.plan:
            return Message.assistant("I have nothing left to do.")
        return self.plan.pop(0).model_copy(deep=True)


class OraclePolicy:
    """Replays ``env.oracle()``; fails the episode clearly when the env has no oracle."""

    name = "oracle"

    async def begin_episode(self, env: Env) -> _Scripted:
        plan = await env.oracle()
        if plan is None:
            raise AgentGymError(f"{env.spec.id} has no oracle for this task; use another policy")
        return _Scripted(self.name, list(plan))

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        raise AgentGymError("OraclePolicy needs the env: run it through agentgym.rollout()/run()")


class _Sampler:
    def __init__(self, env: Env, rng: random.Random):
        self.name, self.env, self.rng = "random", env, rng

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        return self.env.sample_action(self.rng)


class RandomPolicy:
    """Uniformly random well-formed actions from ``env.sample_action``."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    async def begin_episode(self, env: Env) -> _Sampler:
        return _Sampler(env, random.Random(self.rng.random()))

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        raise AgentGymError("RandomPolicy needs the env: run it through agentgym.rollout()/run()")


class NoopPolicy:
    """Replies with text and never calls a tool: a floor every task must beat."""

    name = "noop"

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        return Message.assistant("I will do nothing.")
