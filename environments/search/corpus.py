"""Loaders for real corpora a user has locally: Wikipedia passages + NQ / HotpotQA questions.

Passages (``.jsonl``, ``.json``, ``.parquet``, ``.csv`` or a ``datasets.save_to_disk`` folder), one
row per passage, in any of these shapes:

* ``{"id", "title", "text"}``                       (DPR ``psgs_w100`` style)
* ``{"id", "contents": "\\"Title\\"\\ntext"}``        (FlashRAG / Search-R1 ``wiki-18``)

Questions, one row each:

* NQ: ``{"question", "answer": str | [str]}`` or ``"answers"`` / ``"golden_answers"`` lists
* HotpotQA: ``{"question", "answer", "supporting_facts": [[title, sent_id], ...]}`` (titles are
  mapped to passage ids when the titles exist in the corpus) and ``"_id"``
* an optional ``split`` column (``train`` / ``test``; ``dev``/``validation`` count as test)

    kb = load_corpus_kb("wiki.jsonl", "nq_dev.jsonl")
    env = agentgym.make("search/kb", corpus="wiki.jsonl", questions="nq_dev.jsonl")

The BM25 index is built once per corpus file (keyed by path, size and mtime) and cached.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any, Iterator

from .kb import KnowledgeBase, file_fingerprint, kb_from_records
from .kb_models import Document, Question

_TEST_SPLITS = {"test", "dev", "validation", "val"}


def iter_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a local ``.jsonl``/``.json``/``.parquet``/``.csv`` file or ``datasets`` folder."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist; pass a local .jsonl/.json/.parquet/.csv file or a datasets folder")
    if p.is_dir():
        import datasets

        ds = datasets.load_from_disk(str(p))
        parts = ds.items() if isinstance(ds, datasets.DatasetDict) else [(None, ds)]
        for split, part in parts:
            for row in part:
                yield {**row, "split": row.get("split", split)} if split else row
        return
    suffix = p.suffix.lower()
    if suffix == ".jsonl":
        with p.open() as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
    elif suffix == ".json":
        data = json.loads(p.read_text())
        yield from (data if isinstance(data, list) else data.get("data", []))
    elif suffix in (".parquet", ".csv"):
        import datasets

        yield from datasets.load_dataset(suffix[1:], data_files=str(p), split="train")
    else:
        raise ValueError(f"unsupported file type {p.name!r}: use .jsonl, .json, .parquet, .csv or a datasets folder")


def _passage(row: dict[str, Any], i: int) -> Document:
    doc_id = str(row.get("id", row.get("_id", row.get("docid", i))))
    if "contents" in row and "text" not in row:
        contents = str(row["contents"])
        head, _, body = contents.partition("\n")
        title = head.strip().strip('"') if body else str(row.get("title", ""))
        return Document(id=doc_id, title=title, text=(body or contents).strip())
    if "text" not in row:
        raise ValueError(f"passage row {i} has neither `text` nor `contents`; its keys are {sorted(row)}")
    return Document(id=doc_id, title=str(row.get("title", "")), text=str(row["text"]))


def load_passages(path: str | Path, limit: int | None = None) -> list[Document]:
    docs: list[Document] = []
    seen: set[str] = set()
    for i, row in enumerate(iter_rows(path)):
        if limit is not None and i >= limit:
            break
        doc = _passage(row, i)
        if doc.id in seen:
            raise ValueError(f"duplicate passage id {doc.id!r} in {path}; ids must be unique")
        seen.add(doc.id)
        docs.append(doc)
    if not docs:
        raise ValueError(f"{path} holds no passages")
    return docs


def _answers(row: dict[str, Any]) -> list[str]:
    for key in ("answers", "golden_answers", "answer"):
        if key in row and row[key] is not None:
            value = row[key]
            if isinstance(value, dict) and "text" in value:  # SQuAD-style {"text": [...]}
                value = value["text"]
            return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    raise ValueError(f"question row lacks `answer`/`answers`/`golden_answers`; its keys are {sorted(row)}")


def load_questions(path: str | Path, docs: list[Document] | None = None) -> list[Question]:
    """NQ- or HotpotQA-style rows as :class:`Question` (supporting titles → passage ids)."""
    by_title: dict[str, str] = {}
    for d in docs or []:
        by_title.setdefault(d.title.lower(), d.id)
    out: list[Question] = []
    for i, row in enumerate(iter_rows(path)):
        if "question" not in row:
            raise ValueError(f"question row {i} of {path} lacks `question`; its keys are {sorted(row)}")
        qid = str(row.get("id", row.get("_id", f"q-{i:06d}")))
        support: list[str] = []
        for fact in row.get("supporting_facts") or []:
            title = fact[0] if isinstance(fact, (list, tuple)) else fact.get("title", "") if isinstance(fact, dict) else ""
            did = by_title.get(str(title).lower())
            if did and did not in support:
                support.append(did)
        split_raw = str(row.get("split") or "")
        split = "test" if split_raw in _TEST_SPLITS else "train" if split_raw else (
            "test" if zlib.crc32(qid.encode()) % 5 == 0 else "train")
        out.append(Question(id=qid, question=str(row["question"]), answers=_answers(row), supporting=support,
                            hops=max(1, len(support)), split=split, kind="multi" if len(support) > 1 else "single"))
    return out


def load_corpus_kb(corpus: str | Path, questions: str | Path | None = None, *, limit: int | None = None,
                   cache_dir: str | Path | None = None) -> KnowledgeBase:
    """A :class:`KnowledgeBase` over a local passage file (+ question file), index cached."""
    key = file_fingerprint(corpus, questions) + (f"-{limit}" if limit else "")

    def records() -> tuple[list[Document], list[Question]]:
        docs = load_passages(corpus, limit)
        return docs, (load_questions(questions, docs) if questions else [])

    return kb_from_records(records, key=key, name=Path(corpus).stem, cache_dir=cache_dir)


__all__ = ["iter_rows", "load_passages", "load_questions", "load_corpus_kb"]
