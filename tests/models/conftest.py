"""Fixtures of the models tests: one tiny model per session, built into a tmp dir."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers", reason="needs transformers: pip install 'agentgym[hf]'")
pytest.importorskip("tokenizers", reason="needs tokenizers: pip install 'agentgym[hf]'")
pytest.importorskip("torch", reason="needs torch: pip install 'agentgym[hf]'")


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    """A default-sized tiny Qwen2 model (random weights)."""
    from agentgym.models import init_tiny

    return init_tiny(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_path)
