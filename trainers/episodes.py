"""Batched multi-turn episodes with a local model, token-in/token-out, through the Env contract.

Every active episode's prompt goes into one left-padded ``generate`` call per turn (on CPU,
batching the episodes of a GRPO group is much faster than one at a time); env messages are
appended as chat-template suffix tokens (mask 0, logprob 0) by
:class:`agentgym.policies.hf.ChatTokens`, the same helper :class:`HFPolicy` uses.

    gen = Generator(model, tokenizer, temperature=1.0, max_new_tokens=48)
    records = await play_episodes(gen, [EpisodeStart(make_env, seed=3)] * 4, max_turns=6)
    records[0].completion_ids, records[0].env_mask      # env_mask is 1 exactly on model tokens

An env that raises mid-episode yields a zero-reward episode with an all-zero mask
(excluded from the loss), never a crashed run.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from agentgym.env import Env
from agentgym.policies.hf import ChatTokens, Generation, generate_batch, to_message
from agentgym.types import Message

EnvFactory = Callable[[], "Env | Awaitable[Env]"]
_node_ids = itertools.count(1)


def new_node() -> int:
    """A fresh id for a span of tokens (ARPO's prefix tree; spans shared by branches keep their id)."""
    return next(_node_ids)


@dataclass
class Generator:
    """Sampling settings bound to a model; ``generate`` is blocking (run it in a thread)."""

    model: Any
    tokenizer: Any
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None, entropies: bool = False) -> list[Generation]:
        was_training = self.model.training
        self.model.eval()
        try:
            return generate_batch(self.model, self.tokenizer, prompts, max_new_tokens=max_new_tokens or self.max_new_tokens,
                                  temperature=self.temperature, top_p=self.top_p, entropies=entropies)
        finally:
            if was_training:
                self.model.train()


@dataclass
class EpisodeStart:
    """Where an episode begins: an env factory plus the seed/task (a GRPO group shares one)."""

    make_env: EnvFactory
    seed: int | None = None
    task: Any = None
    key: str = ""


@dataclass
class EpisodeRecord:
    """One finished episode in TRL's layout (prompt = first prompt, completion = everything after)."""

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    env_mask: list[int]
    nodes: list[int]                     # per completion token: id of the span it belongs to
    reward: float = 0.0                  # env reward summed over the episode
    success: bool = False
    channels: list[dict[str, float]] = field(default_factory=list)
    turns: int = 0
    tool_calls: int = 0
    termination: str = "done"            # done | max_turns | max_length | error
    error: str | None = None
    key: str = ""
    messages: list[Message] = field(default_factory=list)
    shaped: float | None = None          # training return after reward shaping (set by the trainer)


class EpisodeState:
    """A live episode: its env, token state and bookkeeping."""

    def __init__(self, env: Env, conv: ChatTokens, start: EpisodeStart):
        self.env, self.conv, self.start = env, conv, start
        self.prompt_len = 0
        self.nodes: list[int] = []
        self.node = new_node()
        self.rewards: list[float] = []
        self.channels: list[dict[str, float]] = []
        self.messages: list[Message] = []
        self.success = False
        self.turns = 0
        self.tool_calls = 0
        self.finished = False
        self.termination = "done"
        self.error: str | None = None
        self.first_entropy: float | None = None   # ARPO: normalized entropy of the first segment

    @property
    def completion_len(self) -> int:
        return len(self.conv.ids) - self.prompt_len

    def _append_env(self, messages: list[Message]) -> None:
        before = len(self.conv.ids)
        self.conv.extend(messages)
        self.nodes += [self.node] * (len(self.conv.ids) - before)
        self.messages += messages

    def record(self, tokenizer: Any) -> EpisodeRecord:
        ids, mask, lps = self.conv.ids, self.conv.mask, self.conv.logprobs
        prompt, completion = ids[: self.prompt_len], ids[self.prompt_len:]
        env_mask, logprobs, nodes = mask[self.prompt_len:], lps[self.prompt_len:], list(self.nodes)
        if self.error is not None:
            env_mask = [0] * len(completion)  # a broken episode teaches nothing
        if not completion:  # TRL needs at least one completion token
            completion, env_mask, logprobs, nodes = [tokenizer.pad_token_id], [0], [0.0], [self.node]
        return EpisodeRecord(
            prompt_ids=list(prompt), completion_ids=list(completion), logprobs=list(logprobs), env_mask=list(env_mask),
            nodes=nodes, reward=0.0 if self.error else sum(self.rewards), success=self.success and not self.error,
            channels=list(self.channels), turns=self.turns, tool_calls=self.tool_calls, termination=self.termination,
            error=self.error, key=self.start.key, messages=list(self.messages),
        )

    def fork_tokens(self, env: Env) -> EpisodeState:
        """A branch sharing this episode's tokens so far (same span ids), on a forked env."""
        twin = EpisodeState(env, _copy_conv(self.conv), self.start)
        twin.prompt_len, twin.nodes = self.prompt_len, list(self.nodes)
        twin.rewards, twin.channels = list(self.rewards), [dict(c) for c in self.channels]
        twin.messages, twin.turns, twin.tool_calls = list(self.messages), self.turns, self.tool_calls
        twin.first_entropy = self.first_entropy
        return twin


def _copy_conv(conv: ChatTokens) -> ChatTokens:
    twin = ChatTokens.__new__(ChatTokens)
    twin.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in conv.__dict__.items()})
    return twin


def _short_error(e: BaseException) -> str:
    return traceback.format_exception_only(type(e), e)[-1].strip()


async def start_episode(start: EpisodeStart, tokenizer: Any) -> EpisodeState:
    """Builds the env, resets it and tokenizes the first prompt (errors become a failed state)."""
    env = start.make_env()
    if asyncio.iscoroutine(env) or isinstance(env, Awaitable):
        env = await env
    state = EpisodeState(env, ChatTokens(tokenizer, env.tools), start)
    try:
        first = await env.reset(seed=start.seed, task=start.task)
        state.conv.extend(first.messages)
        state.messages += first.messages
        state.rewards.append(first.reward)
        state.channels.append(dict(first.channels))
        state.prompt_len = len(state.conv.ids)
    except Exception as e:
        state.finished, state.termination, state.error = True, "error", _short_error(e)
    return state


async def apply_generation(state: EpisodeState, gen: Generation, tokenizer: Any, *, max_turns: int,
                           max_completion_length: int) -> None:
    """Appends one generated turn, steps the env, appends its reply (or ends the episode)."""
    prompt = list(state.conv.ids)
    msg = to_message(gen, tokenizer, prompt)
    state.conv.add_generated(gen.ids, gen.logprobs, msg)
    state.nodes += [state.node] * len(gen.ids)
    state.messages.append(msg)
    state.turns += 1
    state.tool_calls += len(msg.tool_calls or [])
    try:
        result = await state.env.step(msg)
    except Exception as e:
        state.finished, state.termination, state.error = True, "error", _short_error(e)
        return
    state.rewards.append(result.reward)
    state.channels.append(dict(result.channels))
    if result.success is not None:
        state.success = bool(result.success)
    if result.done:
        state.finished, state.termination = True, "done"
        state.messages += result.messages
    elif result.truncated or state.turns >= max_turns:
        state.finished, state.termination = True, "max_turns"
        state.messages += result.messages
    else:
        state._append_env(result.messages)
        if state.completion_len >= max_completion_length:
            state.finished, state.termination = True, "max_length"


def truncate(record: EpisodeRecord, max_completion_length: int) -> EpisodeRecord:
    """Cuts a completion to the token budget (TRL then counts it as clipped)."""
    if len(record.completion_ids) <= max_completion_length:
        return record
    n = max_completion_length
    record.completion_ids, record.env_mask = record.completion_ids[:n], record.env_mask[:n]
    record.logprobs, record.nodes = record.logprobs[:n], record.nodes[:n]
    record.termination = "max_length"
    return record


async def generate_turn(generator: Generator, states: list[EpisodeState], max_completion_length: int,
                        entropies: bool = False) -> list[Generation]:
    """One batched generation for ``states`` (longer turns are cut to the budget when recorded)."""
    room = max(max_completion_length - s.completion_len for s in states)
    budget = max(1, min(generator.max_new_tokens, room))
    return await asyncio.to_thread(generator.generate, [list(s.conv.ids) for s in states], budget, entropies)


async def play_episodes(generator: Generator, starts: list[EpisodeStart], *, max_turns: int,
                        max_completion_length: int = 1024) -> list[EpisodeRecord]:
    """Plays every episode to the end, batching all active ones per turn; returns records in order."""
    tok = generator.tokenizer
    states = list(await asyncio.gather(*(start_episode(s, tok) for s in starts)))
    try:
        while active := [s for s in states if not s.finished]:
            gens = await generate_turn(generator, active, max_completion_length)
            await asyncio.gather(*(apply_generation(s, g, tok, max_turns=max_turns,
                                                    max_completion_length=max_completion_length)
                                   for s, g in zip(active, gens)))
        return [truncate(s.record(tok), max_completion_length) for s in states]
    finally:
        await asyncio.gather(*(s.env.close() for s in states), return_exceptions=True)


__all__ = ["Generator", "EpisodeStart", "EpisodeRecord", "EpisodeState", "play_episodes", "start_episode",
           "apply_generation", "generate_turn", "truncate", "new_node"]
