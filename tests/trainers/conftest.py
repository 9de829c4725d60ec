import pytest

pytest.importorskip("torch", reason="trainer tests need torch (pip install 'agentgym[train]')")
pytest.importorskip("trl", reason="trainer tests need trl (pip install 'agentgym[train]')")

from tiny_model_helper import tiny_model_dir  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tiny_model_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
