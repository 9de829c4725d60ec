"""Real-corpus loaders (DPR, FlashRAG/Search-R1 `contents`, NQ, HotpotQA) and `agentgym search`."""

import json

import pytest

import agentgym
from agentgym.cli import main as cli_main
from agentgym.policies.simple import OraclePolicy

pytest.importorskip("bm25s", reason="bm25s is needed: pip install 'agentgym[tools]'")

from agentgym.environments.search.corpus import load_corpus_kb, load_passages, load_questions  # noqa: E402

PASSAGES = [
    {"id": "1", "title": "Veloria", "text": "Veloria is a harbour town. Its lighthouse was built in 1842 by Anselm Quist."},
    {"id": "2", "title": "Anselm Quist", "text": "Anselm Quist was an engineer born in Dunmoor. He built lighthouses."},
    {"id": "3", "title": "Dunmoor", "text": "Dunmoor is a mining village in the Grey Hills, famous for slate."},
]


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def corpus(tmp_path):
    return write_jsonl(tmp_path / "wiki.jsonl", PASSAGES)


@pytest.fixture
def hotpot(tmp_path):
    return write_jsonl(tmp_path / "hotpot.jsonl", [
        {"_id": "h1", "question": "Where was the builder of the Veloria lighthouse born?", "answer": "Dunmoor",
         "supporting_facts": [["Veloria", 0], ["Anselm Quist", 0]], "split": "train"},
        {"_id": "h2", "question": "In what year was the Veloria lighthouse built?", "answers": ["1842"], "split": "dev"},
    ])


def test_passage_shapes(tmp_path):
    flash = write_jsonl(tmp_path / "wiki18.jsonl", [{"id": "7", "contents": '"Veloria"\nVeloria is a town.'}])
    docs = load_passages(flash)
    assert docs[0].title == "Veloria" and docs[0].text == "Veloria is a town."
    with pytest.raises(ValueError, match="neither `text` nor `contents`"):
        load_passages(write_jsonl(tmp_path / "bad.jsonl", [{"id": 1, "body": "x"}]))
    with pytest.raises(ValueError, match="duplicate passage id"):
        load_passages(write_jsonl(tmp_path / "dup.jsonl", [PASSAGES[0], PASSAGES[0]]))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_passages(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_passages(write_jsonl(tmp_path / "x.txt", PASSAGES))


def test_parquet_and_datasets_folder(tmp_path):
    datasets = pytest.importorskip("datasets", reason="datasets is needed for parquet corpora")
    ds = datasets.Dataset.from_list(PASSAGES)
    ds.to_parquet(str(tmp_path / "wiki.parquet"))
    ds.save_to_disk(str(tmp_path / "wiki_ds"))
    assert [d.id for d in load_passages(tmp_path / "wiki.parquet")] == ["1", "2", "3"]
    assert [d.title for d in load_passages(tmp_path / "wiki_ds")] == ["Veloria", "Anselm Quist", "Dunmoor"]


def test_hotpot_and_nq_questions(corpus, hotpot, tmp_path):
    docs = load_passages(corpus)
    qs = load_questions(hotpot, docs)
    assert qs[0].supporting == ["1", "2"] and qs[0].hops == 2 and qs[0].split == "train"
    assert qs[1].answers == ["1842"] and qs[1].split == "test"
    nq = write_jsonl(tmp_path / "nq.jsonl", [{"question": "who built it", "golden_answers": ["Anselm Quist", "Quist"]}])
    assert load_questions(nq)[0].answers == ["Anselm Quist", "Quist"]
    with pytest.raises(ValueError, match="lacks `answer`"):
        load_questions(write_jsonl(tmp_path / "noans.jsonl", [{"question": "q"}]))


async def test_env_over_a_local_corpus(corpus, hotpot, tmp_path):
    kb = load_corpus_kb(corpus, hotpot, cache_dir=tmp_path / "cache")
    assert kb.search("lighthouse builder born", 1)[0][0].id in {"1", "2"}
    env = agentgym.make("search/kb", corpus=str(corpus), questions=str(hotpot), cache_dir=str(tmp_path / "cache"),
                        hops=None, format="tags")
    traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
    assert traj.success and traj.task_id == "h1"
    assert any("<information>" in (m.content or "") for m in traj.messages)


def test_cli_build_query_recall(tmp_path, capsys, corpus):
    cache = str(tmp_path / "cli-cache")
    assert cli_main(["search", "build-kb", "--seed", "3", "--scale", "0.05", "--cache-dir", cache]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] > 200 and set(summary["questions_by_hops"]) == {"1", "2", "3", "4"}
    assert cli_main(["search", "query", "city river", "-k", "2", "--seed", "3", "--scale", "0.05", "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "\n2. [" in out
    assert cli_main(["search", "recall", "--seed", "3", "--scale", "0.05", "--cache-dir", cache]) == 0
    assert json.loads(capsys.readouterr().out)["recall_first_support"] >= 0.9
    assert cli_main(["search", "index", "--corpus", str(corpus), "--cache-dir", cache]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 3
    assert cli_main(["search", "query", "  ", "--cache-dir", cache]) == 2
