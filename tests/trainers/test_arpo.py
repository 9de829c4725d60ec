"""ARPO: branching probability, budget, shared prefixes, masks, hard attribution."""

import asyncio
import random

import pytest

import agentgym
from agentgym.trainers.arpo import ArpoConfig, arpo_rollout, branch_probability, token_advantages
from agentgym.trainers.episodes import EpisodeStart, Generator


def _start(seed=0):
    return EpisodeStart(lambda: agentgym.make("toy/maze", size=2, max_turns=4), seed=seed)


def test_branch_probability_is_clipped_and_rises_with_entropy():
    assert branch_probability(0.0, 0.5, 0.2) == 0.5
    assert branch_probability(10.0, 0.5, 0.2) == 1.0 and branch_probability(-10.0, 0.5, 0.2) == 0.0
    rng = random.Random(0)
    rates = []
    for dh in (-2.0, 0.0, 2.0):
        p = branch_probability(dh, 0.5, 0.2)
        rates.append(sum(rng.random() < p for _ in range(4000)) / 4000)
    assert rates[0] < rates[1] < rates[2]


def test_exactly_m_per_task_shared_prefixes_and_masks(tiny):
    model, tok = tiny
    gen = Generator(model, tok, max_new_tokens=12)
    cfg = ArpoConfig(budget=6, initial=2, beta=0.0, tau=1.0, k=5)  # always branch while the budget allows
    groups, stats = asyncio.run(arpo_rollout(gen, [_start(1), _start(2)], cfg, max_turns=4, rng=random.Random(0)))
    assert [len(g) for g in groups] == [6, 6]
    assert stats.decisions and stats.branch_rate == 1.0
    for group in groups:
        # branches share the parent's token prefix: same span ids on the same tokens
        shared = [(a, b) for i, a in enumerate(group) for b in group[i + 1:] if a.nodes[0] == b.nodes[0]]
        assert shared, "no two leaves share a prefix"
        for a, b in shared:
            n = next((i for i, (x, y) in enumerate(zip(a.nodes, b.nodes)) if x != y), min(len(a.nodes), len(b.nodes)))
            assert a.completion_ids[:n] == b.completion_ids[:n] and a.env_mask[:n] == b.env_mask[:n]
        for r in group:
            # tool results are masked: every env span decodes to a tool-response/user block
            assert all(lp == 0.0 for lp, m in zip(r.logprobs, r.env_mask) if m == 0)
            assert r.prompt_ids == group[0].prompt_ids


def test_beta_zero_branch_rate_is_tau(tiny):
    model, tok = tiny
    gen = Generator(model, tok, max_new_tokens=6)
    cfg = ArpoConfig(budget=64, initial=16, beta=0.0, tau=0.5, k=3)
    _, stats = asyncio.run(arpo_rollout(gen, [_start(3)], cfg, max_turns=4, rng=random.Random(1)))
    assert len(stats.decisions) >= 40
    assert stats.branch_rate == pytest.approx(0.5, abs=0.17)


def test_padding_with_fresh_samples_when_nothing_branches(tiny):
    model, tok = tiny
    gen = Generator(model, tok, max_new_tokens=6)
    cfg = ArpoConfig(budget=5, initial=2, beta=0.0, tau=0.0)
    [group], stats = asyncio.run(arpo_rollout(gen, [_start(4)], cfg, max_turns=3, rng=random.Random(0)))
    assert len(group) == 5 and stats.padded == 3 and stats.branch_rate == 0.0
    assert len({r.nodes[0] for r in group}) == 5  # independent samples share nothing


def test_hard_attribution_averages_shared_tokens():
    nodes = [[1, 1, 2, 2], [1, 1, 3], [4, 4]]
    adv = token_advantages(nodes, [1.0, -1.0, 0.5])
    assert adv[0] == [0.0, 0.0, 1.0, 1.0]
    assert adv[1] == [0.0, 0.0, -1.0]
    assert adv[2] == [0.5, 0.5]


def test_initial_cannot_exceed_budget():
    with pytest.raises(ValueError, match="initial"):
        ArpoConfig(budget=4, initial=8)
