"""Local models for tests, demos and CPU training: tiny model builder, OpenAI-compatible server.

    from agentgym.models import init_tiny, cached_tiny
    path = init_tiny("models/tiny")            # ~1M-param Qwen2 + local BPE tokenizer + tool chat template
    # agentgym serve-model models/tiny --port 8000   → POST /v1/chat/completions

Heavy libraries (torch, transformers, tokenizers) load on first use.
"""

from __future__ import annotations

from .tiny import TinyModelSpec, cached_tiny, init_tiny, load_build_info

__all__ = ["init_tiny", "cached_tiny", "load_build_info", "TinyModelSpec"]
