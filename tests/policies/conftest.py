import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="HFPolicy tests need torch (pip install 'agentgym[hf]')")
pytest.importorskip("transformers", reason="HFPolicy tests need transformers (pip install 'agentgym[hf]')")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainers"))

from tiny_model_helper import tiny_model_dir  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
