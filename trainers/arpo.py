"""ARPO: entropy-triggered branching at tool calls, and soft/hard advantage attribution.

Per task: a budget of ``M`` completions, ``N`` initial global samples. Generation goes turn
by turn (a turn ends at the model's end-of-turn token, i.e. at its tool call). After each
tool result, the normalized entropy of the first ``k`` tokens of the next segment is
compared with the first segment's (ΔH); the trajectory branches with probability
``clip(τ + β·ΔH, 0, 1)`` by ``env.fork()`` — the branch shares the parent's token prefix
(same span ids) and samples its own next segment. Each active trajectory spawns at most
one copy per tool round, never past ``M``; when the tree ends with fewer than ``M`` leaves
the group is padded with fresh global samples, so exactly ``M`` come back.

Attribution: ``soft`` (default) is plain GRPO over the ``M`` leaves; ``hard`` gives a token
shared by ``d`` leaves the mean advantage of those leaves (:func:`token_advantages`).

    records, stats = await arpo_rollout(generator, [EpisodeStart(make_env, seed=3)], ArpoConfig(budget=8, initial=4),
                                        max_turns=6, rng=random.Random(0))
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgym.errors import ConfigError
from agentgym.policies.hf import normalized_entropy

from .episodes import (
    EpisodeRecord, EpisodeStart, EpisodeState, Generator, apply_generation, generate_turn, new_node, play_episodes,
    start_episode, truncate,
)


class ArpoConfig(BaseModel):
    """YAML section ``arpo`` (defaults as in the paper's code)."""

    model_config = ConfigDict(extra="forbid")

    budget: int = Field(16, ge=1, description="M: completions per task")
    initial: int = Field(8, ge=1, description="N: initial global samples per task")
    beta: float = Field(0.2, description="β: weight of the entropy change")
    tau: float = Field(0.5, description="τ: base branching probability")
    k: int = Field(20, ge=1, description="tokens whose entropy is measured after each tool result")
    attribution: Literal["soft", "hard"] = "soft"

    @model_validator(mode="after")
    def _check(self) -> ArpoConfig:
        if self.initial > self.budget:
            raise ConfigError(f"arpo.initial (N={self.initial}) must be <= arpo.budget (M={self.budget})")
        return self


def branch_probability(delta_entropy: float, tau: float, beta: float) -> float:
    """``clip(τ + β·ΔH, 0, 1)``."""
    return min(1.0, max(0.0, tau + beta * delta_entropy))


@dataclass
class ArpoStats:
    """What happened during an ARPO rollout: every branching decision and its ΔH."""

    decisions: list[tuple[float, bool]] = field(default_factory=list)
    padded: int = 0

    @property
    def branch_rate(self) -> float:
        return sum(b for _, b in self.decisions) / len(self.decisions) if self.decisions else 0.0


@dataclass
class _Group:
    start: EpisodeStart
    states: list[EpisodeState] = field(default_factory=list)


async def arpo_rollout(
    generator: Generator, starts: Sequence[EpisodeStart], config: ArpoConfig, *, max_turns: int,
    max_completion_length: int = 1024, rng: random.Random | None = None,
) -> tuple[list[list[EpisodeRecord]], ArpoStats]:
    """Runs one ARPO tree per start; returns exactly ``config.budget`` records per start."""
    rng = rng or random.Random()
    tok = generator.tokenizer
    vocab = len(tok)
    stats = ArpoStats()
    groups = [_Group(s) for s in starts]
    for g in groups:
        g.states = list(await asyncio.gather(*(start_episode(g.start, tok) for _ in range(config.initial))))
    try:
        while True:
            active = [(g, s) for g in groups for s in g.states if not s.finished]
            if not active:
                break
            gens = await generate_turn(generator, [s for _, s in active], max_completion_length, entropies=True)
            for (group, state), gen in zip(active, gens):
                h = normalized_entropy(gen.entropies, config.k, vocab)
                if state.first_entropy is None:
                    state.first_entropy = h
                elif len(group.states) < config.budget:  # a segment that follows a tool result
                    delta = h - state.first_entropy
                    branched = rng.random() < branch_probability(delta, config.tau, config.beta)
                    stats.decisions.append((delta, branched))
                    if branched:
                        child = state.fork_tokens(await state.env.fork())
                        child.node = new_node()  # the branch's own tokens start a new span
                        group.states.append(child)
                        state.node = new_node()  # so do the parent's, from here on
            await asyncio.gather(*(apply_generation(s, g_, tok, max_turns=max_turns,
                                                    max_completion_length=max_completion_length)
                                   for (_, s), g_ in zip(active, gens)))
        results = [[truncate(s.record(tok), max_completion_length) for s in g.states] for g in groups]
    finally:
        await asyncio.gather(*(s.env.close() for g in groups for s in g.states), return_exceptions=True)
    missing = [(i, config.budget - len(r)) for i, r in enumerate(results) if len(r) < config.budget]
    if missing:
        pad_starts = [groups[i].start for i, n in missing for _ in range(n)]
        stats.padded = len(pad_starts)
        fresh = await play_episodes(generator, pad_starts, max_turns=max_turns,
                                    max_completion_length=max_completion_length)
        for i, n in missing:
            results[i] += fresh[:n]
            fresh = fresh[n:]
    return results, stats


def token_advantages(nodes: Sequence[Sequence[int]], advantages: Sequence[float]) -> list[list[float]]:
    """Hard attribution: each token gets the mean advantage of every leaf that contains its span.

    ``nodes[i]`` are the span ids of leaf ``i``'s completion tokens (shared prefixes keep their
    ids, see :meth:`EpisodeState.fork_tokens`); tokens of a span owned by one leaf keep that
    leaf's advantage.
    """
    if len(nodes) != len(advantages):
        raise ValueError(f"{len(nodes)} node rows for {len(advantages)} advantages")
    total: dict[int, float] = {}
    count: dict[int, int] = {}
    for row, adv in zip(nodes, advantages):
        for node in set(row):
            total[node] = total.get(node, 0.0) + float(adv)
            count[node] = count.get(node, 0) + 1
    return [[total[n] / count[n] for n in row] for row in nodes]


__all__ = ["ArpoConfig", "ArpoStats", "arpo_rollout", "branch_probability", "token_advantages"]
