"""The generated knowledge base: size, determinism, well-formed questions, cache, BM25 recall."""

import re

import pytest

pytest.importorskip("bm25s", reason="bm25s is needed: pip install 'agentgym[tools]'")

from agentgym.environments.search.index import tokenize  # noqa: E402
from agentgym.environments.search.kb import load_kb  # noqa: E402
from agentgym.environments.tools.scoring import normalize_answer  # noqa: E402


@pytest.fixture(scope="module")
def kb():
    return load_kb(seed=0)  # built once per machine into $AGENTGYM_CACHE/search (~2 s), then loaded


def test_bundled_kb_is_large_and_varied(kb):
    assert len(kb.docs) >= 5000
    assert len({d.id for d in kb.docs}) == len(kb.docs)
    assert len({d.title for d in kb.docs}) == len(kb.docs)  # titles identify entities
    kinds = {d.kind for d in kb.docs}
    assert kinds == {"country", "city", "person", "org", "work", "event"}
    leads = {re.sub(r"^\S+( \S+)*? (is|was|took) ", "", d.text.split(".")[0])[:12] for d in kb.docs if d.kind == "person"}
    assert len(leads) > 10  # varied prose, not one template
    assert {q.hops for q in kb.questions} == {1, 2, 3, 4}
    assert {q.split for q in kb.questions} == {"train", "test"}


def test_questions_are_grounded_in_their_supporting_documents(kb):
    for q in kb.questions[::7]:
        assert len(q.supporting) == q.hops == len(q.chain)
        last = kb.doc(q.supporting[-1])
        assert normalize_answer(q.answers[0]) in normalize_answer(last.text), (q.question, last.text)
        for step, nxt in zip(q.chain, q.chain[1:]):  # each hop names the next entity
            assert nxt.entity in kb.doc(step.doc_id).text, (q.question, step, nxt)
        assert q.chain[0].entity in q.question or q.chain[0].entity.lower() in q.question.lower()


def test_multi_hop_question_does_not_name_the_intermediate_entities(kb):
    for q in kb.questions_for(hops=[3, 4])[:200]:
        assert all(step.entity not in q.question for step in q.chain[1:])


def test_generation_is_deterministic_and_cached(tmp_path):
    a = load_kb(seed=7, scale=0.05, cache_dir=tmp_path / "a")
    b = load_kb(seed=7, scale=0.05, cache_dir=tmp_path / "b")
    c = load_kb(seed=8, scale=0.05, cache_dir=tmp_path / "c")
    assert [d.model_dump() for d in a.docs] == [d.model_dump() for d in b.docs]
    assert [q.model_dump() for q in a.questions] == [q.model_dump() for q in b.questions]
    assert [d.text for d in a.docs] != [d.text for d in c.docs]
    stamp = (a.path / "docs.jsonl").stat().st_mtime_ns
    import agentgym.environments.search.kb as kb_module

    kb_module._MEMO.clear()
    again = load_kb(seed=7, scale=0.05, cache_dir=tmp_path / "a")
    assert (again.path / "docs.jsonl").stat().st_mtime_ns == stamp  # read from disk, not rebuilt
    assert [d.text for d in again.docs] == [d.text for d in a.docs]
    assert not list((tmp_path / "a").glob("*.tmp*"))


def test_bm25_recall_at_5_on_single_hop_questions(kb):
    qs = kb.questions_for(hops=1)
    hits = sum(q.supporting[0] in {d.id for d, _ in kb.search(q.question, 5)} for q in qs)
    recall = hits / len(qs)
    assert len(qs) >= 1000 and recall >= 0.9, recall


def test_tokenizer_folds_case_plurals_possessives_and_stopwords():
    assert tokenize("The Cities of Riva's ORCHARDS, 1842!") == ["city", "riva", "orchard", "1842"]
    assert tokenize("") == [] and tokenize("the of and") == []


def test_search_edge_cases(kb):
    assert kb.search("", 5) == []
    assert kb.search("zzzqqq unknownword", 5) == []
    assert len(kb.search("city", 10**6)) <= len(kb.docs)
    assert kb.search("city", 0) == []
