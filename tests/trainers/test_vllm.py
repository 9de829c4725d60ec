"""The vLLM generation path of the trainers, against TRL's ``vllm_generation.generate`` protocol.

vLLM needs a GPU, so ``FakeVLLM`` speaks TRL's protocol (token ids in; prompt ids, completion
ids, per-position logprob lists and their token ids out; budget read from
``max_completion_length``) and samples with the tiny model underneath.
"""

import asyncio
import types

import pytest

import agentgym
from agentgym.policies.hf import generate_batch
from agentgym.trainers.episodes import EpisodeStart, Generator, play_episodes
from agentgym.trainers.grpo import AgentRollout
from agentgym.trainers.vllm import VLLMSampler as VLLMGenerator


class FakeVLLM:
    def __init__(self, model, tok):
        self.model, self.tok = model, tok
        self.max_completion_length = 999
        self.budgets: list[int] = []

    def generate(self, prompts, images, num_generations):
        assert images is None and num_generations == 1
        self.budgets.append(self.max_completion_length)
        gens = generate_batch(self.model, self.tok, prompts, max_new_tokens=self.max_completion_length)
        # per position: the sampled token's logprob first, then a top-k alternative (-9.0) that must be ignored
        return (prompts, [g.ids for g in gens], [[[lp, -9.0] for lp in g.logprobs] for g in gens],
                [[[t, 0] for t in g.ids] for g in gens])


def test_multi_turn_episodes_through_vllm_keep_masks_and_logprobs(tiny):
    model, tok = tiny
    fake = FakeVLLM(model, tok)
    gen = VLLMGenerator(fake, tok, max_new_tokens=12)
    make = lambda: agentgym.make("toy/maze", size=2, max_turns=3)  # noqa: E731
    records = asyncio.run(play_episodes(gen, [EpisodeStart(make, seed=s) for s in (1, 2)], max_turns=3,
                                        max_completion_length=512))
    assert fake.budgets and all(b <= 12 for b in fake.budgets) and fake.max_completion_length == 999
    for r in records:
        assert r.error is None and r.turns == 3
        assert len(r.completion_ids) == len(r.env_mask) == len(r.logprobs)
        runs = [m for i, m in enumerate(r.env_mask) if i == 0 or m != r.env_mask[i - 1]]
        assert runs == [1, 0, 1, 0, 1]
        model_lps = [lp for lp, m in zip(r.logprobs, r.env_mask) if m == 1]
        assert all(lp < 0 for lp in model_lps) and -9.0 not in model_lps  # the sampled token's logprob, not top-k
        assert all(lp == 0.0 for lp, m in zip(r.logprobs, r.env_mask) if m == 0)


def test_entropies_by_forward_pass_match_generate(tiny):
    model, tok = tiny
    text = tok.apply_chat_template([{"role": "user", "content": "Find the exit."}], add_generation_prompt=True,
                                   tokenize=False)
    prompt = tok(text, add_special_tokens=False)["input_ids"]
    ref = generate_batch(model, tok, [prompt], max_new_tokens=10, temperature=0.7, entropies=True)[0]
    gen = VLLMGenerator(FakeVLLM(model, tok), tok, model=model, temperature=0.7)
    copy = types.SimpleNamespace(ids=list(ref.ids), entropies=[])
    gen._add_entropies([prompt], [copy])
    assert copy.entropies == pytest.approx(ref.entropies, abs=1e-3)
    with pytest.raises(ValueError, match="need the training model"):
        VLLMGenerator(FakeVLLM(model, tok), tok).generate([prompt], 4, entropies=True)


def test_rollout_picks_vllm_when_the_trainer_uses_it(tiny):
    model, tok = tiny
    trainer = types.SimpleNamespace(
        use_vllm=True, vllm_generation=FakeVLLM(model, tok), processing_class=tok, temperature=1.0, top_p=1.0,
        model=model, accelerator=types.SimpleNamespace(unwrap_model=lambda m: m))
    rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=2, max_new_tokens=8)
    assert isinstance(rollout.generator_for(trainer), VLLMGenerator)
    trainer.use_vllm = False
    assert isinstance(rollout.generator_for(trainer), Generator)
