"""init_tiny: builds fast, reloads offline with the Auto classes, is deterministic, rejects bad shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agentgym.errors import ConfigError
from agentgym.models import cached_tiny, init_tiny, load_build_info
from agentgym.models.corpus import tiny_corpus

pytestmark = pytest.mark.train

RELOAD_SCRIPT = r"""
import json, sys
from transformers import AutoModelForCausalLM, AutoTokenizer
path = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(path)
tok = AutoTokenizer.from_pretrained(path)
msgs = [{"role": "user", "content": "Find the exit."}]
tools = [{"type": "function", "function": {"name": "look", "description": "Look.", "parameters": {"type": "object", "properties": {}}}}]
ids = tok.apply_chat_template(msgs, tools=tools, add_generation_prompt=True, return_tensors="pt", return_dict=True)
out = model.generate(**ids, max_new_tokens=5, do_sample=False)
print(json.dumps({"arch": model.config.model_type, "new": out.shape[1] - ids["input_ids"].shape[1],
                  "eos": tok.eos_token, "pad": tok.pad_token, "n_params": sum(p.numel() for p in model.parameters())}))
"""


def test_tiny_model_reloads_offline_with_auto_classes(tiny_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(tiny_path.parent / "hf")}
    proc = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT, str(tiny_path)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["arch"] == "qwen2"
    assert 1 <= info["new"] <= 5
    assert info["eos"] == "<|im_end|>" and info["pad"] == "<|endoftext|>"
    assert 500_000 <= info["n_params"] <= 5_000_000


def test_tokenizer_contract(tiny_tokenizer, tiny_path):
    tok = tiny_tokenizer
    assert tok.eos_token_id != tok.pad_token_id
    for t in ("<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"):
        assert len(tok.encode(t, add_special_tokens=False)) == 1, t
    # byte-level: any text round-trips, nothing becomes <unk>
    text = "Héllo wörld 😀\t12345 {\"a\": [1, 2]}\n  <tool_call> x"
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text
    assert tok.chat_template and "{% generation %}" in tok.chat_template.replace("{%- generation -%}", "{% generation %}")
    spec = load_build_info(tiny_path)
    assert spec is not None and spec.arch == "qwen2" and spec.num_parameters
    assert len(tok) <= spec.vocab_size


def test_reloaded_tokenizer_encodes_like_the_built_one(tiny_tokenizer):
    # AutoTokenizer reloads a qwen2 checkpoint as Qwen2Tokenizer (which rebuilds the pipeline): must agree
    from agentgym.models.tiny import build_tokenizer

    texts = tiny_corpus(4)
    built = build_tokenizer(tiny_corpus(), 2048)
    assert type(tiny_tokenizer).__name__ == "Qwen2Tokenizer"
    for text in texts + ["naïve café ½ 3.14159 \r\n\r\n x"]:
        assert tiny_tokenizer.encode(text) == built.encode(text)


def test_build_is_deterministic(tmp_path):
    kw = dict(hidden_size=32, layers=1, heads=2, kv_heads=1, seed=3, corpus_episodes=6)
    a = init_tiny(tmp_path / "a", **kw)
    b = init_tiny(tmp_path / "b", **kw)
    assert (a / "tokenizer.json").read_bytes() == (b / "tokenizer.json").read_bytes()
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    c = init_tiny(tmp_path / "c", **{**kw, "seed": 4})
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_llama_arch_and_extra_corpus(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = init_tiny(tmp_path / "llama", arch="llama", hidden_size=32, layers=1, heads=2, kv_heads=1,
                     corpus_episodes=4, corpus=["zyxwv quokka " * 50])
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert model.config.model_type == "llama"
    assert model.config.vocab_size == len(tok)
    assert len(tok.encode(" quokka", add_special_tokens=False)) == 1  # learned from the extra corpus


@pytest.mark.parametrize("kw, match", [
    ({"hidden_size": 30, "heads": 4}, "divisible by heads"),
    ({"heads": 4, "kv_heads": 3}, "divisible by kv_heads"),
    ({"vocab_size": 100}, "vocab_size"),
    ({"arch": "gpt2"}, "qwen2"),
])
def test_bad_shapes_say_what_to_fix(tmp_path, kw, match):
    with pytest.raises((ConfigError, ValueError), match=match):
        init_tiny(tmp_path / "bad", **kw)


def test_refuses_to_overwrite_without_flag(tiny_path):
    with pytest.raises(FileExistsError, match="overwrite"):
        init_tiny(tiny_path)


def test_cached_tiny_builds_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    kw = dict(hidden_size=32, layers=1, heads=2, kv_heads=1, corpus_episodes=4)
    p1 = cached_tiny(**kw)
    stamp = (p1 / "model.safetensors").stat().st_mtime_ns
    p2 = cached_tiny(**kw)
    assert p1 == p2 and p1.parent == tmp_path / "models"
    assert (p2 / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [p for p in p1.parent.iterdir() if p.name.startswith(".tiny-")]  # no temp dirs left behind
