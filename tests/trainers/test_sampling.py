"""Generation samples with exactly the trainer's settings; nothing leaks in from the model's generation_config."""

import types

import torch

from agentgym.policies.hf import generate_batch
from agentgym.trainers.episodes import Generator
from agentgym.trainers.grpo import AgentRollout


def _prompts(tok):
    text = tok.apply_chat_template([{"role": "user", "content": "Find the exit of the maze."}],
                                   add_generation_prompt=True, tokenize=False)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    return [ids, ids[3:], ids]


def _sample(model, tok, **kw):
    torch.manual_seed(0)
    return [g.ids for g in generate_batch(model, tok, _prompts(tok), max_new_tokens=24, **kw)]


def test_the_models_generation_config_does_not_change_the_samples(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tok = AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
    with torch.no_grad():  # peaked logits (a random tiny model is ~uniform, so a penalty would change nothing)
        model.model.norm.weight.mul_(6.0)
    plain = _sample(model, tok)
    model.generation_config.repetition_penalty = 3.0
    model.generation_config.no_repeat_ngram_size = 2
    model.generation_config.min_new_tokens = 20
    assert _sample(model, tok) == plain
    assert model.generation_config.repetition_penalty == 3.0  # left as it was
    # the trainer's own settings do apply
    assert _sample(model, tok, repetition_penalty=3.0) != plain


def test_the_trainers_top_k_min_p_and_generation_kwargs_are_honoured(tiny):
    model, tok = tiny
    greedy = _sample(model, tok, temperature=0.0)
    assert _sample(model, tok, top_k=1) == greedy  # top_k=1 sampling is argmax
    assert _sample(model, tok, min_p=1.0) == greedy  # only the most likely token survives
    assert _sample(model, tok, generation_kwargs={"top_k": 1}) == greedy
    assert _sample(model, tok) != greedy

    trainer = types.SimpleNamespace(
        use_vllm=False, processing_class=tok, temperature=0.7, top_p=0.9, top_k=5, min_p=0.05, repetition_penalty=1.1,
        args=types.SimpleNamespace(generation_kwargs={"typical_p": 0.5}), model=model,
        accelerator=types.SimpleNamespace(unwrap_model=lambda m: m))
    gen = AgentRollout("toy/maze", {"size": 2}, max_turns=2, max_new_tokens=8).generator_for(trainer)
    assert isinstance(gen, Generator)
    assert (gen.temperature, gen.top_p, gen.top_k, gen.min_p, gen.repetition_penalty, gen.generation_kwargs) == (
        0.7, 0.9, 5, 0.05, 1.1, {"typical_p": 0.5})
    torch.manual_seed(0)
    assert [g.ids for g in Generator(model, tok, top_k=1, max_new_tokens=24).generate(_prompts(tok))] == greedy
