"""Build a tiny, random-weight causal LM with a locally trained tokenizer and a tool-capable chat template.

Nothing is downloaded: the BPE tokenizer is trained by ``tokenizers`` on :func:`tiny_corpus`
(maze episodes rendered with the chat template), the model is a Qwen2 or Llama config of
about 1–5M parameters, and both are written with ``save_pretrained``::

    path = init_tiny("models/tiny")                 # a few seconds on a laptop CPU
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)       # works with HF_HUB_OFFLINE=1
    tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True)

:func:`cached_tiny` builds once per argument set under ``$AGENTGYM_CACHE/models`` (default
``~/.cache/agentgym``) and returns the cached copy afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from ..errors import ConfigError, MissingDependencyError
from .corpus import _chat_template, tiny_corpus

Arch = Literal["qwen2", "llama"]

PAD_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = [PAD_TOKEN, BOS_TOKEN, EOS_TOKEN]
# Hermes tags are single (non-special) tokens, as in Qwen2.5: decoding keeps them, the model emits them in one step.
TOOL_TOKENS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<tools>", "</tools>"]
BUILD_INFO_FILE = "agentgym_tiny.json"
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


class TinyModelSpec(BaseModel):
    """The arguments a tiny model was built from (saved next to it as ``agentgym_tiny.json``)."""

    arch: Arch = "qwen2"
    hidden_size: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    intermediate_size: int | None = None
    vocab_size: int = 2048
    max_positions: int = 4096
    seed: int = 0
    corpus_episodes: int = 24
    corpus_sha256: str | None = None
    num_parameters: int | None = None

    def validate_shapes(self) -> None:
        if self.hidden_size % self.heads:
            raise ConfigError(f"hidden_size ({self.hidden_size}) must be divisible by heads ({self.heads})")
        if self.heads % self.kv_heads:
            raise ConfigError(f"heads ({self.heads}) must be divisible by kv_heads ({self.kv_heads})")
        if (self.hidden_size // self.heads) % 2:
            raise ConfigError(f"head size hidden_size/heads = {self.hidden_size // self.heads} must be even (RoPE)")
        if self.vocab_size < 300:
            raise ConfigError(f"vocab_size must be >= 300 (256 byte tokens + specials + merges), got {self.vocab_size}")
        if self.layers < 1 or self.max_positions < 64:
            raise ConfigError("layers must be >= 1 and max_positions >= 64")


def _require_hf() -> None:
    try:
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(e.name or "transformers", "hf", "building tiny models") from e


def build_tokenizer(texts: list[str], vocab_size: int, max_positions: int = 4096):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with the chat template.

    Control tokens are removed from the training text (they are added tokens, never merged).
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    clean = []
    for text in texts:
        for tok in SPECIAL_TOKENS + TOOL_TOKENS:
            text = text.replace(tok, "\n")
        clean.append(text)
    # Qwen2's exact pipeline: AutoTokenizer reloads a qwen2 checkpoint as Qwen2Tokenizer, which rebuilds it.
    bpe = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(TOOL_TOKENS), min_frequency=2, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    bpe.train_from_iterator(clean, trainer=trainer)
    bpe.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=EOS_TOKEN, pad_token=PAD_TOKEN, bos_token=None, unk_token=None,
        chat_template=_chat_template(), model_max_length=max_positions, clean_up_tokenization_spaces=False,
        padding_side="left",
    )


def build_model(spec: TinyModelSpec, tokenizer):
    """A randomly initialised causal LM (seeded by ``spec.seed``) sized for ``tokenizer``."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, Qwen2Config

    intermediate = spec.intermediate_size or 4 * spec.hidden_size
    common = dict(
        vocab_size=len(tokenizer), hidden_size=spec.hidden_size, intermediate_size=intermediate,
        num_hidden_layers=spec.layers, num_attention_heads=spec.heads, num_key_value_heads=spec.kv_heads,
        max_position_embeddings=spec.max_positions, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.convert_tokens_to_ids(BOS_TOKEN),
        eos_token_id=tokenizer.eos_token_id,
    )
    config = Qwen2Config(**common) if spec.arch == "qwen2" else LlamaConfig(**common)
    torch.manual_seed(spec.seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=config.bos_token_id,
    )
    return model


def init_tiny(
    out_dir: str | os.PathLike,
    *,
    arch: Arch = "qwen2",
    hidden_size: int = 128,
    layers: int = 4,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate_size: int | None = None,
    vocab_size: int = 2048,
    max_positions: int = 4096,
    seed: int = 0,
    corpus: list[str] | None = None,
    corpus_episodes: int = 24,
    overwrite: bool = False,
) -> Path:
    """Builds and saves a tiny model + tokenizer; returns ``out_dir``.

    Args:
        out_dir: directory to write (``config.json``, ``model.safetensors``, tokenizer files,
            ``chat_template.jinja``, ``agentgym_tiny.json``).
        arch: ``qwen2`` or ``llama``.
        hidden_size, layers, heads, kv_heads, intermediate_size: transformer shape
            (intermediate defaults to 4 × hidden).
        vocab_size: BPE vocabulary size target (the corpus may yield slightly fewer tokens).
        max_positions: context length (RoPE, costs no parameters).
        seed: weight initialisation seed; the tokenizer is deterministic anyway.
        corpus: extra texts to train the tokenizer on, after the generated maze corpus.
        corpus_episodes: maze episodes per policy in the generated corpus.
        overwrite: replace an existing model in ``out_dir``.

    Example::

        path = init_tiny("/tmp/tiny", arch="llama", hidden_size=64, layers=2)
    """
    _require_hf()
    spec = TinyModelSpec(arch=arch, hidden_size=hidden_size, layers=layers, heads=heads, kv_heads=kv_heads,
                         intermediate_size=intermediate_size, vocab_size=vocab_size, max_positions=max_positions,
                         seed=seed, corpus_episodes=corpus_episodes)
    if arch not in ("qwen2", "llama"):
        raise ConfigError(f"arch must be 'qwen2' or 'llama', got {arch!r}")
    spec.validate_shapes()
    out = Path(out_dir)
    if (out / "config.json").exists() and not overwrite:
        raise FileExistsError(f"{out} already holds a model; pass overwrite=True (CLI: --overwrite) or pick another dir")
    texts = tiny_corpus(corpus_episodes, extra=list(corpus or []))
    spec.corpus_sha256 = hashlib.sha256("\0".join(texts).encode()).hexdigest()
    tokenizer = build_tokenizer(texts, vocab_size, max_positions)
    model = build_model(spec, tokenizer)
    spec.num_parameters = sum(p.numel() for p in model.parameters())
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / BUILD_INFO_FILE).write_text(spec.model_dump_json(indent=2) + "\n")
    return out


def cache_dir() -> Path:
    """``$AGENTGYM_CACHE`` or ``~/.cache/agentgym``."""
    return Path(os.environ.get("AGENTGYM_CACHE") or Path.home() / ".cache" / "agentgym")


def cached_tiny(**kwargs) -> Path:
    """:func:`init_tiny` once per argument set, under ``cache_dir()/models/tiny-<hash>``.

    Example::

        path = cached_tiny(layers=2)   # built on first call, reused afterwards (also across processes)
    """
    if "corpus" in kwargs or "overwrite" in kwargs:
        raise TypeError("cached_tiny builds from the generated corpus only; call init_tiny for custom corpora")
    key = hashlib.sha256(json.dumps(kwargs, sort_keys=True).encode()).hexdigest()[:12]
    target = cache_dir() / "models" / f"tiny-{key}"
    if (target / BUILD_INFO_FILE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{key}-", dir=target.parent))
    try:
        init_tiny(tmp, overwrite=True, **kwargs)
        try:
            tmp.rename(target)  # atomic; loses the race gracefully if another process finished first
        except OSError:
            if not (target / BUILD_INFO_FILE).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_build_info(path: str | os.PathLike) -> TinyModelSpec | None:
    """The :class:`TinyModelSpec` saved with a tiny model, or None for other checkpoints."""
    f = Path(path) / BUILD_INFO_FILE
    return TinyModelSpec.model_validate_json(f.read_text()) if f.exists() else None
