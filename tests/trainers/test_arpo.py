"""ARPO: branching probability, budget, shared prefixes, masks, hard attribution."""

import asyncio
import random

import pytest

import agentgym
from agentgym.trainers.arpo import ArpoConfig, arpo_rollout, branch_probability, token_advantages
from agentgym.trainers.episodes import EpisodeStart, Generator


def _start(seed=0):
    return EpisodeStart(lambda: agentgym.make("toy/maze", size=2, max_turns=4), seed=seed)


class ScriptedGenerator:
    """A stand-in model: each turn replies with a tool call (or plain text) and reports chosen entropies.

    ``entropy(turn)`` gives the per-token entropy (nats) of the segment generated at assistant turn ``turn``
    (0 = the first segment), as a model whose logits get flatter or sharper after tool results would.
    Tool calls are drawn from a few maze moves with a seeded RNG, so branches differ.
    """

    CALLS = ('{"name": "look", "arguments": {}}', '{"name": "move", "arguments": {"direction": "north"}}',
             '{"name": "move", "arguments": {"direction": "east"}}', '{"name": "look", "arguments": {"x": 1}}')

    def __init__(self, tok, *, tool_calls=True, entropy=lambda turn: 1.0, seed=0):
        self.tokenizer, self.tool_calls, self.entropy, self.max_new_tokens = tok, tool_calls, entropy, 64
        self.rng = random.Random(seed)

    def generate(self, prompts, max_new_tokens=None, entropies=False):
        from agentgym.policies.hf import Generation

        out = []
        for p in prompts:
            turn = self.tokenizer.decode(p).count("<|im_start|>assistant") - 1
            text = (f"<tool_call>\n{self.rng.choice(self.CALLS)}\n</tool_call>" if self.tool_calls
                    else "I will think about it.")
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(ids=ids, logprobs=[-0.5] * len(ids), entropies=[self.entropy(turn)] * len(ids),
                                  text=self.tokenizer.decode(ids)))
        return out


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
    gen = ScriptedGenerator(tok)  # a model that calls tools (ARPO branches only after tool calls)
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
    gen = ScriptedGenerator(tok)
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

        def generator_for(self, trainer):  # a model that calls tools, so ARPO has tool rounds to branch at
            return ScriptedGenerator(trainer.processing_class, seed=len(calls))

    # tau=1, beta=0: every trajectory branches at its first tool round, so leaves share prefixes
    cfg = ArpoConfig(budget=budget, initial=2, tau=1.0, beta=0.0, k=5, attribution=attribution)
    rollout = Rollout("toy/maze", {"size": 2}, max_turns=3, algo="arpo", arpo=cfg, max_new_tokens=12,
                      max_completion_length=96)
    hard_calls = []
    from agentgym.trainers import arpo

    real_token_advantages = arpo.token_advantages

    def spy(nodes, advantages):
        hard_calls.append((nodes, list(advantages)))
        return real_token_advantages(nodes, advantages)

    monkeypatch.setattr(arpo, "token_advantages", spy)
    scored = []

    class Trainer(grpo.make_trainer_class()):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            scored.append({k: output[k].detach().clone() for k in ("advantages", "completion_ids", "tool_mask",
                                                                   "num_items_in_batch")})
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
                holders = [k for k, other in enumerate(nodes) if node in other]
                assert adv[i, j].item() == pytest.approx(sum(leaf_adv[k] for k in holders) / len(holders), abs=1e-5)
                if holders[0] != i:  # a shared span is counted once: in the first leaf holding it
                    assert s["tool_mask"][i, j] == 0
            assert (adv[i, len(row):] == 0).all()


# --------------------------------------------------------------------------- issue 10, item 7
def test_branching_happens_only_after_tool_calls(tiny):
    _, tok = tiny
    cfg = ArpoConfig(budget=16, initial=4, beta=0.0, tau=1.0, k=5)  # would always branch, if it may
    chatty = ScriptedGenerator(tok, tool_calls=False)
    [group], stats = asyncio.run(arpo_rollout(chatty, [_start(0)], cfg, max_turns=4, rng=random.Random(0)))
    assert all(r.tool_calls == 0 for r in group) and all(r.turns >= 2 for r in group[:4])
    assert stats.decisions == [], "branched after env replies to turns without a tool call"
    caller = ScriptedGenerator(tok, tool_calls=True)
    [group], stats = asyncio.run(arpo_rollout(caller, [_start(0)], cfg, max_turns=3, rng=random.Random(0)))
    assert stats.decisions and stats.padded == 0
    # one decision per trajectory and tool round: 4 roots decide after turn 1, every tree member after turn 2
    assert len(stats.decisions) <= 4 + 8


def test_entropy_change_moves_the_branch_probability_on_real_logits():
    import torch

    from agentgym.trainers.arpo import entropy_change, segment_entropy

    vocab = 151_936  # a real LLM's vocabulary: log V = 11.9
    gen = torch.Generator().manual_seed(0)

    def entropies(temperature, tokens=20):
        logits = torch.randn(tokens, vocab, generator=gen) * 4.0 / temperature  # controlled sharpness
        logp = torch.log_softmax(logits, -1)
        return (-(logp.exp() * logp).sum(-1)).tolist()

    sure, unsure = segment_entropy(entropies(0.25), 20), segment_entropy(entropies(0.6), 20)
    assert 0.0 < sure < unsure < 6.0  # nats: far below log V, as for real models
    rise, fall = entropy_change(unsure, sure), entropy_change(sure, unsure)
    assert -1.0 <= fall < 0.0 < rise <= 1.0
    p_rise, p_fall = branch_probability(rise, 0.5, 0.2), branch_probability(fall, 0.5, 0.2)
    assert p_rise - 0.5 > 0.05 and 0.5 - p_fall > 0.05, (p_rise, p_fall)  # β·ΔH moves P by more than 5 points
    assert entropy_change(0.0, 0.0) == 0.0


@pytest.mark.parametrize("rises", [True, False])
def test_branch_rate_follows_the_entropy_after_tool_results(tiny, rises):
    _, tok = tiny
    low, high = 0.1, 1.5
    after = high if rises else low
    gen = ScriptedGenerator(tok, entropy=lambda turn: (high if not rises else low) if turn == 0 else after)
    cfg = ArpoConfig(budget=400, initial=100, beta=0.2, tau=0.5, k=5)
    _, stats = asyncio.run(arpo_rollout(gen, [_start(1)], cfg, max_turns=2, rng=random.Random(2)))
    assert len(stats.decisions) == 100  # one tool round, 100 trajectories
    expected = 0.5 + 0.2 * ((high - low) / high) * (1 if rises else -1)
    assert stats.branch_rate == pytest.approx(expected, abs=0.1)


def test_hard_attribution_counts_a_shared_span_once():
    from agentgym.trainers.arpo import hard_attribution

    adv, keep = hard_attribution([[1, 1, 2, 2], [1, 1, 3], [4, 4]], [1.0, -1.0, 0.5])
    assert adv == [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, -1.0], [0.5, 0.5]]
    assert keep == [[1, 1, 1, 1], [0, 0, 1], [1, 1]]


def _loss_gradient(tiny_dir, tmp_path, attribution):
    """One GRPO loss gradient on canned branched completions (two pairs of leaves, each pair sharing a prefix)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from agentgym.trainers import grpo
    from agentgym.trainers.config import CPU_TRL_DEFAULTS

    torch.manual_seed(0)
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
    prompt = tok.encode("You are in a maze.", add_special_tokens=False)
    shared = [tok.encode("look north", add_special_tokens=False), tok.encode("move east", add_special_tokens=False)]
    own = [tok.encode(w, add_special_tokens=False) for w in ("west", "south", "exit", "wall")]
    rows = [(shared[i // 2] + own[i], [i // 2 + 1] * len(shared[i // 2]) + [10 + i] * len(own[i])) for i in range(4)]

    class CannedRollout:
        last_nodes = [nodes for _, nodes in rows]

        def __call__(self, prompts, trainer):
            return {"prompt_ids": [prompt] * 4, "completion_ids": [ids for ids, _ in rows],
                    "logprobs": [[-1.0] * len(ids) for ids, _ in rows], "env_mask": [[1] * len(ids) for ids, _ in rows],
                    "episode_return": [1.0, 0.0, 0.6, 0.2]}

    trainer_cls = grpo.make_trainer_class()
    trainer_cls.attribution = attribution
    args = GRPOConfig(**{**CPU_TRL_DEFAULTS, "save_strategy": "no", "output_dir": str(tmp_path / attribution),
                         "num_generations": 4, "per_device_train_batch_size": 4, "max_steps": 1,
                         "max_completion_length": 32, "beta": 0.0, "loss_type": "dapo", "disable_tqdm": True})
    trainer = trainer_cls(model=model, reward_funcs=[grpo.episode_return], args=args, processing_class=tok,
                          train_dataset=grpo.task_dataset(range(4)), rollout_func=CannedRollout())
    trainer.current_gradient_accumulation_steps = 1
    model.train()
    inputs = trainer._generate_and_score_completions([{"prompt": grpo.task_prompt(0)} for _ in range(4)])
    loss = trainer.compute_loss(model, inputs)
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])


def test_hard_attribution_changes_the_gradient(tiny_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    soft = _loss_gradient(tiny_dir, tmp_path, "soft")
    hard = _loss_gradient(tiny_dir, tmp_path, "hard")
    relative = ((hard - soft).norm() / soft.norm()).item()
    assert relative > 1e-2, f"hard and soft attribution give the same gradient (relative difference {relative:.1e})"
