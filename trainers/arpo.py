"""ARPO: entropy-triggered branching at tool calls, and soft/hard advantage attribution.

Per task: a budget of ``M`` completions, ``N`` initial global samples. Generation goes turn
by turn (a turn ends at the model's end-of-turn token, i.e. at its tool call). Only after a
turn that called a tool (not after other env replies, e.g. format feedback) the mean entropy
of the first ``k`` tokens of the next segment is compared with the first segment's:
``ΔH = (H - H₀) / max(H, H₀)`` (:func:`entropy_change`, in [-1, 1], so β is the largest shift
of the probability whatever the model's entropy scale; dividing by ``log V`` made ΔH ~1e-3 on
real models). The trajectory branches with probability ``clip(τ + β·ΔH, 0, 1)`` by
``env.fork()`` — the branch shares the parent's token prefix (same span ids) and samples its
own next segment. Each active trajectory spawns at most one copy per tool round, never past
``M``; when the tree ends with fewer than ``M`` leaves the group is padded with fresh global
samples, so exactly ``M`` come back.

Attribution: ``soft`` (default) is plain GRPO over the ``M`` leaves; ``hard`` gives a token
shared by ``d`` leaves the mean advantage of those leaves *and counts it once*
(:func:`hard_attribution`: the first leaf holding the span keeps it in the loss, the others
mask it). Counting a shared token once per leaf, as plain GRPO does, would make hard equal
soft: ``d × mean(A) = Σ A``.

    records, stats = await arpo_rollout(generator, [EpisodeStart(make_env, seed=3)], ArpoConfig(budget=8, initial=4),
                                        max_turns=6, rng=random.Random(0))
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentgym.errors import ConfigError
from agentgym.types import Message

from .episodes import (
    EpisodeRecord, EpisodeStart, EpisodeState, Sampler, apply_generation, generate_turn, new_node, play_episodes,
    start_episode,
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


def segment_entropy(entropies: Sequence[float], k: int) -> float:
    """Mean per-token entropy (nats) of a segment's first ``k`` tokens (0 for an empty segment)."""
    head = list(entropies[:k])
    return sum(head) / len(head) if head else 0.0


def entropy_change(h: float, h_first: float) -> float:
    """ΔH normalised to [-1, 1]: ``(h - h_first) / max(h, h_first)`` (0 when both are ~0).

        entropy_change(1.5, 0.1)   # -> 0.93: the model is much less sure after the tool result
    """
    scale = max(h, h_first)
    return 0.0 if scale <= 1e-8 else (h - h_first) / scale


def after_tool_call(messages: Sequence[Message]) -> bool:
    """Whether the newest assistant turn in ``messages`` called a tool (ARPO branches only then)."""
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    return bool(last is not None and last.tool_calls)


@dataclass
class ArpoStats:
    """What happened during an ARPO rollout: every branching decision and its ΔH."""

    decisions: list[tuple[float, bool]] = field(default_factory=list)
    padded: int = 0
    fork_errors: int = 0

    @property
    def branch_rate(self) -> float:
        return sum(b for _, b in self.decisions) / len(self.decisions) if self.decisions else 0.0


@dataclass
class _Group:
    start: EpisodeStart
    states: list[EpisodeState] = field(default_factory=list)


async def arpo_rollout(
    generator: Sampler, starts: Sequence[EpisodeStart], config: ArpoConfig, *, max_turns: int,
    max_completion_length: int = 1024, rng: random.Random | None = None,
) -> tuple[list[list[EpisodeRecord]], ArpoStats]:
    """Runs one ARPO tree per start; returns exactly ``config.budget`` records per start."""
    rng = rng or random.Random()
    tok = generator.tokenizer
    stats = ArpoStats()
    decided: dict[int, int] = {}   # id(state) -> the turn whose tool round it already branched (or not) at
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
                h = segment_entropy(gen.entropies, config.k)
                if state.first_entropy is None:
                    state.first_entropy = h
                elif (after_tool_call(state.messages) and decided.get(id(state)) != state.turns
                      and len(group.states) < config.budget):  # a segment that follows a tool result
                    decided[id(state)] = state.turns
                    delta = entropy_change(h, state.first_entropy)
                    branched = rng.random() < branch_probability(delta, config.tau, config.beta)
                    stats.decisions.append((delta, branched))
                    if branched:
                        child = await state.fork()
                        if child is None:  # the fork failed: the parent ended as infra_error (cause fork)
                            stats.fork_errors += 1
                            continue
                        decided[id(child)] = state.turns  # one copy per tool round: the copy does not branch here
                        child.node = new_node()  # the branch's own tokens start a new span
                        group.states.append(child)
                        state.node = new_node()  # so do the parent's, from here on
            await asyncio.gather(*(apply_generation(s, g_, tok, max_turns=max_turns,
                                                    max_completion_length=max_completion_length)
                                   for (_, s), g_ in zip(active, gens) if not s.finished))
    finally:
        await asyncio.gather(*(s.close() for g in groups for s in g.states), return_exceptions=True)
    results = [[s.record(tok, max_completion_length) for s in g.states] for g in groups]
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


def apply_hard_attribution(output: dict, nodes: Sequence[Sequence[int]], gather: Callable | None = None) -> None:
    """Rewrites a TRL batch (``_generate_and_score_completions`` output) for hard attribution, in place.

    ``advantages`` become per-token (B, T); ``tool_mask`` drops the repeated copies of shared spans and
    ``num_items_in_batch`` (the DAPO normaliser) counts each shared token once. ``gather``: the
    accelerator's, so the count spans all processes.
    """
    import torch

    adv_rows, keep_rows = hard_attribution(nodes, output["advantages"].tolist())
    base = output["advantages"]
    width = output["completion_ids"].shape[1]
    adv = torch.zeros((len(adv_rows), width), dtype=base.dtype, device=base.device)
    keep = torch.zeros((len(adv_rows), width), dtype=torch.long, device=base.device)
    for i, (a, k) in enumerate(zip(adv_rows, keep_rows)):
        a, k = a[:width], k[:width]
        adv[i, : len(a)] = torch.tensor(a, dtype=adv.dtype)
        keep[i, : len(k)] = torch.tensor(k, dtype=torch.long)
    output["advantages"] = adv  # (B, T): TRL's _compute_loss accepts per-token advantages
    tool_mask = output.get("tool_mask")
    output["tool_mask"] = keep if tool_mask is None else tool_mask * keep
    counted = (output["completion_mask"] * output["tool_mask"]).sum()
    output["num_items_in_batch"] = gather(counted).sum() if gather is not None else counted


def hard_attribution(nodes: Sequence[Sequence[int]], advantages: Sequence[float]) -> tuple[list[list[float]], list[list[int]]]:
    """Hard attribution: per-token advantages (:func:`token_advantages`) and the loss mask that counts
    every shared span once — kept in the first leaf holding it, 0 in the others.

        adv, keep = hard_attribution([[1, 1, 2], [1, 1, 3]], [1.0, -1.0])
        # adv == [[0, 0, 1], [0, 0, -1]]; keep == [[1, 1, 1], [0, 0, 1]]
    """
    owner: dict[int, int] = {}
    for i, row in enumerate(nodes):
        for node in row:
            owner.setdefault(node, i)
    keep = [[int(owner[n] == i) for n in row] for i, row in enumerate(nodes)]
    return token_advantages(nodes, advantages), keep


def token_advantages(nodes: Sequence[Sequence[int]], advantages: Sequence[float]) -> list[list[float]]:
    """Hard attribution: each token gets the mean advantage of every leaf that contains its span.

    ``nodes[i]`` are the span ids of leaf ``i``'s completion tokens (shared prefixes keep their
    ids, see :meth:`EpisodeState.fork`); tokens of a span owned by one leaf keep that
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


__all__ = ["ArpoConfig", "ArpoStats", "arpo_rollout", "branch_probability", "segment_entropy", "entropy_change",
           "after_tool_call", "hard_attribution", "apply_hard_attribution", "token_advantages"]
