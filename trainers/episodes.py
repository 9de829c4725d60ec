"""Batched multi-turn episodes with a local model, token-in/token-out, through the Env contract.

Every active episode's prompt goes into one left-padded ``generate`` call per turn (on CPU,
batching the episodes of a GRPO group is much faster than one at a time); env messages are
appended as chat-template suffix tokens (mask 0, logprob 0) by
:class:`agentgym.policies.hf.ChatTokens`, the same helper :class:`HFPolicy` uses.

    gen = Generator(model, tokenizer, temperature=1.0, max_new_tokens=48)
    records = await play_episodes(gen, [EpisodeStart(make_env, seed=3)] * 4, max_turns=6)
    records[0].completion_ids, records[0].env_mask      # env_mask is 1 exactly on model tokens

An env that cannot be built, raises mid-episode, or whose messages the chat template cannot
append without rewriting history yields an episode with ``error`` set and an all-zero mask:
the trainer leaves it out of the loss and of its group's baseline, never a crashed batch.
Each episode's turns are cut to its own remaining token budget, and a turn cut by it is
never executed (see :func:`apply_generation`).
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
    """Sampling settings bound to a model; ``generate`` is blocking (run it in a thread).

    These settings are all that shapes sampling: the model's own ``generation_config`` is
    ignored (see :func:`agentgym.policies.hf.sampling_config`). The trainer passes TRL's
    ``temperature``, ``top_p``, ``top_k``, ``min_p``, ``repetition_penalty`` and ``generation_kwargs``.
    """

    model: Any
    tokenizer: Any
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64
    top_k: int = 0
    min_p: float | None = None
    repetition_penalty: float = 1.0
    generation_kwargs: dict[str, Any] | None = None

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None, entropies: bool = False) -> list[Generation]:
        was_training = self.model.training
        self.model.eval()
        try:
            return generate_batch(self.model, self.tokenizer, prompts, max_new_tokens=max_new_tokens or self.max_new_tokens,
                                  temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, min_p=self.min_p,
                                  repetition_penalty=self.repetition_penalty, generation_kwargs=self.generation_kwargs,
                                  entropies=entropies)
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
        if not prompt:  # ... and one prompt token (an env that failed before its first observation)
            prompt = [tokenizer.pad_token_id]
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


class _NoEnv:
    """Stands in for an env that could not be built (the episode is already an error)."""

    tools: list = []

    async def close(self) -> None:
        return None


async def start_episode(start: EpisodeStart, tokenizer: Any) -> EpisodeState:
    """Builds the env, resets it and tokenizes the first prompt (errors become a failed state)."""
    try:
        env = start.make_env()
        if asyncio.iscoroutine(env) or isinstance(env, Awaitable):
            env = await env
    except Exception as e:  # the env (its sandbox, server, simulator) could not be built: an infra error
        state = EpisodeState(_NoEnv(), ChatTokens(tokenizer), start)  # type: ignore[arg-type]
        state.finished, state.termination, state.error = True, "error", _short_error(e)
        return state
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


def fit_to_room(gen: Generation, room: int, tokenizer: Any) -> Generation:
    """``gen`` cut to the episode's remaining ``room`` (what generation within that budget would have produced)."""
    if len(gen.ids) <= room:
        return gen
    ids = gen.ids[:room]
    return Generation(ids=ids, logprobs=gen.logprobs[:room], entropies=gen.entropies[:room],
                      text=tokenizer.decode(ids, skip_special_tokens=False))


def cut_by_budget(gen: Generation, room: int, tokenizer: Any) -> bool:
    """True when a turn filled the episode's remaining room without reaching its end-of-turn token."""
    return len(gen.ids) >= room and not (gen.ids and gen.ids[-1] == tokenizer.eos_token_id)


async def apply_generation(state: EpisodeState, gen: Generation, tokenizer: Any, *, max_turns: int,
                           max_completion_length: int) -> None:
    """Appends one generated turn, steps the env, appends its reply (or ends the episode).

    A turn cut by the episode's token budget (no end-of-turn token within the room left) is
    kept in the tokens but never sent to the env: the episode ends as ``max_length``, so
    nothing outside the trained tokens is executed or rewarded.
    """
    room = max_completion_length - state.completion_len
    gen = fit_to_room(gen, room, tokenizer)
    prompt = list(state.conv.ids)
    msg = to_message(gen, tokenizer, prompt)
    cut = cut_by_budget(gen, room, tokenizer)
    if cut:  # an unfinished action: recorded as the text it is, not as a (partial) tool call
        msg = msg.model_copy(update={"content": gen.text, "tool_calls": None})
    state.conv.add_generated(gen.ids, gen.logprobs, msg)
    state.nodes += [state.node] * len(gen.ids)
    state.messages.append(msg)
    state.turns += 1
    if cut:
        state.finished, state.termination = True, "max_length"
        return
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
        try:
            state._append_env(result.messages)
        except Exception as e:  # e.g. a chat template that rewrites history: this episode fails, not the batch
            state.finished, state.termination, state.error = True, "error", _short_error(e)
            return
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
    """One batched generation for ``states``; each turn is cut to its own episode's remaining room.

    The batch samples up to the largest room (one ``generate`` call); an episode with less room
    keeps only what fits in it, exactly what sampling with its own budget would have given.
    """
    rooms = [max(1, min(generator.max_new_tokens, max_completion_length - s.completion_len)) for s in states]
    gens = await asyncio.to_thread(generator.generate, [list(s.conv.ids) for s in states], max(rooms), entropies)
    return [fit_to_room(g, room, generator.tokenizer) for g, room in zip(gens, rooms)]


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
           "apply_generation", "generate_turn", "truncate", "new_node", "fit_to_room", "cut_by_budget"]
