"""Batched multi-turn episodes with a local model, token-in/token-out, on the core's episode loop.

Every active episode's prompt goes into one left-padded ``generate`` call per turn (on CPU,
batching the episodes of a GRPO group is much faster than one at a time). Each episode is an
:class:`agentgym.episode.Episode` — the same stepping primitive :func:`agentgym.rollout` uses —
plus its :class:`agentgym.tokens.ChatTokens`; the tokens go into the episode's
:class:`~agentgym.types.Trajectory` (``prompt_ids`` + one ``TurnTokens`` per turn), and
:class:`EpisodeRecord` is that trajectory in TRL's layout (``Trajectory.token_view``).

    sampler = Sampler(model, tokenizer, temperature=1.0, max_new_tokens=48)
    records = await play_episodes(sampler, [EpisodeStart(make_env, seed=3)] * 4, max_turns=6)
    records[0].completion_ids, records[0].env_mask      # env_mask is 1 exactly on model tokens
    records[0].trajectory                                # the same record eval writes

An env that cannot be built, fails to reset or step, or whose messages the chat template cannot
append without rewriting history ends its episode as ``infra_error`` (with its ``cause``) and an
all-zero mask: the trainer leaves it out of the loss and of its group's baseline, never a
crashed batch, and every env is closed. Each episode's turns are cut to its own remaining
token budget, and a turn cut by it is never executed (see :func:`apply_generation`).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from agentgym.env import Env
from agentgym.episode import Episode, error_text
from agentgym.tokens import ChatTokens, Generation, generate_batch, to_message
from agentgym.types import Message, Trajectory, TurnTokens

EnvFactory = Callable[[], "Env | Awaitable[Env]"]
_node_ids = itertools.count(1)


def new_node() -> int:
    """A fresh id for a span of tokens (ARPO's prefix tree; spans shared by branches keep their id)."""
    return next(_node_ids)


@dataclass
class Sampler:
    """Sampling settings bound to a model; ``generate`` is blocking (run it in a thread).

    These settings are all that shapes sampling: the model's own ``generation_config`` is
    ignored (see :func:`agentgym.tokens.sampling_config`). The trainer passes TRL's
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


Generator = Sampler  # deprecated name (it samples; it is not a Python generator)


@dataclass
class EpisodeStart:
    """Where an episode begins: an env factory plus the seed/task (a GRPO group shares one)."""

    make_env: EnvFactory
    seed: int | None = None
    task: Any = None
    key: str = ""


@dataclass
class EpisodeRecord:
    """One finished episode in TRL's layout (prompt = first prompt, completion = everything after):
    a view of its :class:`~agentgym.types.Trajectory` (:meth:`of`), plus what training adds
    (``shaped`` return, ``replayed``)."""

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    env_mask: list[int]
    nodes: list[int]                     # per completion token: id of the span it belongs to
    reward: float = 0.0                  # env reward summed over the episode (0 for a failed one)
    success: bool = False
    channels: list[dict[str, float]] = field(default_factory=list)
    turns: int = 0
    tool_calls: int = 0
    termination: str = "done"            # agentgym.types.Termination
    error: str | None = None
    key: str = ""
    messages: list[Message] = field(default_factory=list)
    shaped: float | None = None          # training return after reward shaping (set by the trainer)
    replayed: bool = False               # sampled by an older policy (set by the replay buffer)
    trajectory: Trajectory | None = None

    @classmethod
    def of(cls, traj: Trajectory, *, key: str = "", pad_id: int = 0, max_completion_length: int | None = None) -> EpisodeRecord:
        """The TRL row of ``traj`` (its token view); at least one prompt and one completion token (TRL needs them),
        cut to ``max_completion_length`` (then ``max_length``)."""
        if traj.tokens or traj.prompt_ids:
            view = traj.token_view()
            prompt, completion, logprobs, mask, nodes = (view.prompt_ids, view.completion_ids, view.logprobs,
                                                         view.loss_mask, view.spans)
        else:  # failed before its first observation was tokenized
            prompt, completion, logprobs, mask, nodes = [], [], [], [], []
        if not completion:
            completion, mask, logprobs, nodes = [pad_id], [0], [0.0], [0]
        if not prompt:
            prompt = [pad_id]
        termination = traj.termination
        if max_completion_length is not None and len(completion) > max_completion_length:
            n = max_completion_length
            completion, mask, logprobs, nodes = completion[:n], mask[:n], logprobs[:n], nodes[:n]
            if not traj.is_error:
                termination = traj.termination = "max_length"
        failed = traj.is_error
        return cls(
            prompt_ids=prompt, completion_ids=completion, logprobs=logprobs, env_mask=mask, nodes=nodes,
            reward=0.0 if failed else traj.reward, success=traj.success and not failed, channels=traj.channels,
            turns=traj.turns, tool_calls=sum(len(m.tool_calls or []) for m in traj.messages if m.role == "assistant"),
            termination=termination, error=_first_line(traj.error) if failed else None, key=key, messages=traj.messages,
            trajectory=traj,
        )


def _first_line(text: str | None) -> str:
    """What reward functions get as ``error``: the exception line (the trajectory keeps the traceback)."""
    return next((line for line in (text or "").splitlines() if line.strip()), "error")


class EpisodeState:
    """A live episode in a batch: its core :class:`Episode`, its token state, its span id (ARPO)."""

    def __init__(self, ep: Episode, conv: ChatTokens | None, start: EpisodeStart):
        self.ep, self.conv, self.start = ep, conv, start
        self.prompt_len = len(conv.ids) if conv is not None else 0
        self.node = new_node()
        self.first_entropy: float | None = None   # ARPO: entropy of the first segment

    env = property(lambda self: self.ep.env)
    finished = property(lambda self: self.ep.finished)
    turns = property(lambda self: self.ep.traj.turns)
    messages = property(lambda self: self.ep.traj.messages)
    termination = property(lambda self: self.ep.traj.termination)
    error = property(lambda self: self.ep.traj.error)

    @property
    def completion_len(self) -> int:
        return len(self.conv.ids) - self.prompt_len if self.conv is not None else 0

    def record(self, tokenizer: Any, max_completion_length: int | None = None) -> EpisodeRecord:
        return EpisodeRecord.of(self.ep.finish(), key=self.start.key, pad_id=tokenizer.pad_token_id or 0,
                                max_completion_length=max_completion_length)

    async def fork(self) -> EpisodeState | None:
        """A branch sharing this episode's tokens so far (same span ids) on ``env.fork()``; ``None`` when the
        fork failed (this episode then ends as ``infra_error``, cause ``fork``)."""
        twin_ep = await self.ep.fork()
        if twin_ep is None:
            return None
        twin = EpisodeState(twin_ep, self.conv.copy(), self.start)
        twin.prompt_len, twin.node, twin.first_entropy = self.prompt_len, self.node, self.first_entropy
        return twin

    async def close(self) -> Trajectory:
        return await self.ep.close()


async def start_episode(start: EpisodeStart, tokenizer: Any) -> EpisodeState:
    """Builds the env, resets it and tokenizes the first prompt (failures end the episode, never raise)."""
    ep = await Episode.open(start.make_env, seed=start.seed, task=start.task, max_turns=10**9)
    if ep.finished:
        return EpisodeState(ep, None, start)
    try:
        conv = ChatTokens(tokenizer, ep.tools)
        ep.traj.prompt_ids = conv.extend(ep.traj.messages)
    except Exception as e:  # no chat template, or one that cannot render these messages
        ep.end("infra_error", error_text(e), cause="tokens")
        return EpisodeState(ep, None, start)
    return EpisodeState(ep, conv, start)


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
    ep, conv = state.ep, state.conv
    room = max_completion_length - state.completion_len
    gen = fit_to_room(gen, room, tokenizer)
    msg = to_message(gen, tokenizer, conv.ids)
    msg.tokens = None  # the tokens go to the trajectory's turns, once
    cut = cut_by_budget(gen, room, tokenizer)
    if cut:  # an unfinished action: recorded as the text it is, not as a (partial) tool call
        msg = msg.model_copy(update={"content": gen.text, "tool_calls": None})
    conv.add_generated(gen.ids, msg)
    ep.traj.tokens.append(TurnTokens(completion_ids=list(gen.ids), logprobs=list(gen.logprobs), span=state.node))
    ep.max_turns = max_turns
    if cut:
        ep.add_action(msg)
        ep.end("max_length")
        return
    result = await ep.step(msg)
    if result is None or ep.finished:  # the env broke, or the episode ended: its last reply is not tokenized
        return
    try:
        ep.traj.tokens[-1].env_ids = conv.extend(result.messages)
    except Exception as e:  # e.g. a chat template that rewrites history: this episode fails, not the batch
        ep.end("infra_error", error_text(e), cause="tokens")
        return
    if state.completion_len >= max_completion_length:
        ep.end("max_length")


async def generate_turn(generator: Sampler, states: list[EpisodeState], max_completion_length: int,
                        entropies: bool = False) -> list[Generation]:
    """One batched generation for ``states``; each turn is cut to its own episode's remaining room.

    The batch samples up to the largest room (one ``generate`` call); an episode with less room
    keeps only what fits in it, exactly what sampling with its own budget would have given.
    """
    rooms = [max(1, min(generator.max_new_tokens, max_completion_length - s.completion_len)) for s in states]
    gens = await asyncio.to_thread(generator.generate, [list(s.conv.ids) for s in states], max(rooms), entropies)
    return [fit_to_room(g, room, generator.tokenizer) for g, room in zip(gens, rooms)]


async def play_episodes(generator: Sampler, starts: list[EpisodeStart], *, max_turns: int,
                        max_completion_length: int = 1024) -> list[EpisodeRecord]:
    """Plays every episode to the end, batching all active ones per turn; returns records in order.

    Every env is closed, whatever happens (a close that raises makes that episode an ``infra_error``).
    """
    tok = generator.tokenizer
    states = list(await asyncio.gather(*(start_episode(s, tok) for s in starts)))
    try:
        while active := [s for s in states if not s.finished]:
            gens = await generate_turn(generator, active, max_completion_length)
            await asyncio.gather(*(apply_generation(s, g, tok, max_turns=max_turns,
                                                    max_completion_length=max_completion_length)
                                   for s, g in zip(active, gens)))
    finally:
        await asyncio.gather(*(s.close() for s in states), return_exceptions=True)
    return [s.record(tok, max_completion_length) for s in states]


__all__ = ["Sampler", "Generator", "EpisodeStart", "EpisodeRecord", "EpisodeState", "play_episodes", "start_episode",
           "apply_generation", "generate_turn", "new_node", "fit_to_room", "cut_by_budget"]
