"""A throwaway tiny Qwen2 model + locally trained byte-level BPE tokenizer for trainer tests.

Uses ``agentgym.models.tiny.init_tiny`` when it exists; otherwise builds one here from a
``Qwen2Config`` and a tokenizer trained on rendered maze conversations. Cached per process.
"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "agentgym" / "models" / "chat_template.jinja"
_CACHE: dict[str, tuple] = {}


def _corpus() -> list[str]:
    import agentgym
    from agentgym.types import Message

    texts = []
    for seed in range(40):
        env = agentgym.make("toy/maze", size=2).sync()
        first = env.reset(seed=seed)
        texts += [m.content or "" for m in first.messages]
        for action in env.oracle():
            r = env.step(action)
            texts += [m.content or "" for m in r.messages]
            texts.append(json.dumps({"name": action.tool_calls[0].name, "arguments": json.loads(action.tool_calls[0].arguments)}))
        texts.append(json.dumps([t.to_openai() for t in env.tools]))
        env.close()
    texts.append(TEMPLATE.read_text())
    return texts


def build_tiny(out_dir: Path, hidden: int = 64, layers: int = 2, seed: int = 0):
    """Writes a tiny model + tokenizer to ``out_dir``; returns (model, tokenizer)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(_corpus(), trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=["<|im_start|>"])
    tok.chat_template = TEMPLATE.read_text()
    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      bos_token_id=None)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return model, tok


def tiny_model_dir(tmp_root: Path) -> Path:
    """Path of a tiny model directory (the models engineer's ``init_tiny`` when available)."""
    if "dir" in _CACHE:
        return _CACHE["dir"][0]
    out = tmp_root / "tiny"
    try:
        from agentgym.models.tiny import cached_tiny  # type: ignore[import-not-found]

        path = Path(cached_tiny(hidden_size=64, layers=2, vocab_size=1024))
    except ImportError:
        build_tiny(out)
        path = out
    _CACHE["dir"] = (path,)
    return path
