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


def test_rollout_rejects_a_budget_other_than_num_generations():
    import types

    from agentgym.trainers.grpo import AgentRollout, task_prompt

    rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=2, algo="arpo", arpo=ArpoConfig(budget=4, initial=2))
    trainer = types.SimpleNamespace(num_generations=8)  # checked before anything else of the trainer is touched
    with pytest.raises(ValueError, match=r"arpo\.budget \(M=4\) must equal the trainer's num_generations \(8\)"):
        rollout([task_prompt(0)] * 8, trainer)


def _length_reward(completions, **kwargs):
    """Differs between leaves (branches sample different segments), so advantages are not all zero."""
    return [len(c[-1]["content"] if isinstance(c, list) else c) / 100 for c in completions]


@pytest.mark.parametrize("attribution", ["soft", "hard"])
def test_arpo_trains_end_to_end(tiny_dir, tmp_path, monkeypatch, attribution):
    import collections
    import math

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from agentgym.trainers import grpo
    from agentgym.trainers.config import CPU_TRL_DEFAULTS

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
    budget = 4
    calls = []

    class Rollout(grpo.AgentRollout):
        def __call__(self, prompts, trainer):
            out = super().__call__(prompts, trainer)
            calls.append((len(prompts), out, [r.key for r in self.last_records], [list(n) for n in self.last_nodes]))
            return out

    # tau=1, beta=0: every trajectory branches at its first tool round, so leaves share prefixes
    cfg = ArpoConfig(budget=budget, initial=2, tau=1.0, beta=0.0, k=5, attribution=attribution)
    rollout = Rollout("toy/maze", {"size": 2}, max_turns=3, algo="arpo", arpo=cfg, max_new_tokens=12,
                      max_completion_length=96)
    hard_calls = []
    real_token_advantages = grpo.token_advantages

    def spy(nodes, advantages):
        hard_calls.append((nodes, list(advantages)))
        return real_token_advantages(nodes, advantages)

    monkeypatch.setattr(grpo, "token_advantages", spy)
    scored = []

    class Trainer(grpo.make_trainer_class()):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            scored.append({k: output[k].detach().clone() for k in ("advantages", "completion_ids")})
            return output

    Trainer.attribution = cfg.attribution  # as trainers/run.py sets it
    args = GRPOConfig(**{**CPU_TRL_DEFAULTS, "save_strategy": "no", "output_dir": str(tmp_path / "run"),
                         "num_generations": budget, "per_device_train_batch_size": 2 * budget, "max_steps": 2,
                         "max_completion_length": 96, "learning_rate": 1e-4, "beta": 0.0, "disable_tqdm": True})
    trainer = Trainer(model=model, reward_funcs=[grpo.episode_return, _length_reward], args=args,
                      train_dataset=grpo.task_dataset(range(16)), processing_class=tok, rollout_func=rollout)
    trainer.train()

    losses = [row["loss"] for row in trainer.state.log_history if "loss" in row]
    assert trainer.state.global_step == 2 and len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert len(calls) == len(scored) == 2
    for n_prompts, out, keys, nodes in calls:  # exactly M completions per task, in consecutive groups
        assert n_prompts == len(out["completion_ids"]) == 2 * budget
        assert list(collections.Counter(keys).values()) == [budget, budget]
        assert keys[:budget] == [keys[0]] * budget and keys[budget:] == [keys[budget]] * budget
        for g in (nodes[:budget], nodes[budget:]):
            assert len({row[0] for row in g}) < budget, "no leaves share a prefix"
    if attribution == "soft":
        assert not hard_calls
        for s in scored:
            assert s["advantages"].shape == (2 * budget,)
        return
    assert len(hard_calls) == 2
    for s, (nodes, leaf_adv), (_, _, _, rollout_nodes) in zip(scored, hard_calls, calls):
        adv, width = s["advantages"], s["completion_ids"].shape[1]
        assert adv.dim() == 2 and adv.shape == s["completion_ids"].shape == (2 * budget, width)
        assert nodes == rollout_nodes and len(leaf_adv) == 2 * budget
        assert any(a != 0.0 for a in leaf_adv)
        for i, row in enumerate(nodes):
            for j, node in enumerate(row[:width]):  # a span's tokens get the mean advantage of the leaves holding it
                holders = [leaf_adv[k] for k, other in enumerate(nodes) if node in other]
                assert adv[i, j].item() == pytest.approx(sum(holders) / len(holders), abs=1e-5)
            assert (adv[i, len(row):] == 0).all()
