"""Search environments over an uncontaminated, generated knowledge base (or your own corpus).

Env ids (registered through the ``agentgym.environments`` entry point)::

    search/kb            single-hop questions          search(query, k), open(doc_id), answer(text)
    search/kb-multihop   2-4-hop questions

    env = agentgym.make("search/kb-multihop", format="tags")   # Search-R1: <search>, <information>, <answer>
    kb = agentgym.environments.search.kb.load_kb(seed=0)       # 5,260 docs, 3,000 questions, BM25

The KB is generated from a seed at first use (about 2 s) and cached under
``$AGENTGYM_CACHE/search`` (default ``~/.cache/agentgym/search``). Importing this package loads nothing.
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers the ``search/*`` ids with agentgym (the entry point of group ``agentgym.environments``)."""
    from agentgym.registry import register

    register("search/kb", "agentgym.environments.search.env:SearchEnv",
             description="Single-hop questions over a generated fictional encyclopedia; BM25 search, open, answer.",
             max_turns=8, tags=["search", "tools", "qa"], requirements=["bm25s"], kwargs={"hops": [1]})
    register("search/kb-multihop", "agentgym.environments.search.env:SearchEnv",
             description="2-4-hop questions over a generated fictional encyclopedia (Search-R1 style).",
             max_turns=14, tags=["search", "tools", "qa", "multihop"], requirements=["bm25s"], kwargs={"hops": [2, 3, 4]})


__all__ = ["register_envs"]
