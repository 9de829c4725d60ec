"""Per-request sampling for batched decoding: params, logit processing, tool-name constraints.

Every row of a batch keeps its own temperature, top_p, logit_bias, stop strings and seeded
``torch.Generator``, so a request's samples depend on its seed, not on its batch neighbours::

    params = SamplingParams(max_new_tokens=32, temperature=0.7, seed=7)
    tokens = sample_rows(logits, [params, ...], [ToolNameConstraint | None, ...])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SamplingParams:
    """What one request asks of the decoder.

    ``stop`` strings end the completion (cut off by the caller); ``stop_after`` strings end it
    with the string kept (a forced tool call ends at its ``</tool_call>``).
    """

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    stop_after: list[str] = field(default_factory=list)
    logit_bias: dict[int, float] = field(default_factory=dict)
    logprobs: bool = False
    top_logprobs: int = 0

    def generator(self) -> Any:
        """A CPU ``torch.Generator`` seeded by ``seed`` (random when None); any int64 seed is accepted."""
        import torch

        g = torch.Generator()
        seed = self.seed if self.seed is not None else int.from_bytes(os.urandom(8), "little")
        g.manual_seed(seed % 2**64)
        return g


class ToolNameConstraint:
    """Forces the next tokens to spell one of ``names`` then a token starting with ``"``.

    Used after a ``<tool_call>\\n{"name": "`` prefill (tool_choice ``required``: any tool; a named
    tool_choice: that one), so the reply is always a call of a tool the request offered. Names
    are matched on their own tokenization, which is how they appear after ``"`` in the template.
    """

    def __init__(self, tokenizer: Any, names: list[str], quote_ids: list[int]):
        self.trie: dict[int, dict] = {}
        self.ends: set[int] = set()  # ids of trie nodes where a whole name ends
        for name in names:
            node = self.trie
            for tid in tokenizer.encode(name, add_special_tokens=False):
                node = node.setdefault(tid, {})
            self.ends.add(id(node))
        self.quote_ids, self.node, self.done = quote_ids, self.trie, False

    def allowed(self) -> list[int] | None:
        """Token ids allowed next, or None once the name and its closing quote are out."""
        if self.done:
            return None
        allowed = list(self.node)
        if id(self.node) in self.ends:
            allowed += self.quote_ids
        return allowed

    def advance(self, token_id: int) -> None:
        if self.done:
            return
        if token_id in self.node:
            self.node = self.node[token_id]
        else:  # a quote token closed the name
            self.done = True


def quote_token_ids(tokenizer: Any) -> list[int]:
    """Ids of the tokens whose text starts with ``"`` (what may follow a forced tool name)."""
    ids = []
    for tid in range(len(tokenizer)):
        piece = tokenizer.decode([tid])
        if piece.startswith('"'):
            ids.append(tid)
    return ids


def sample_rows(logits: Any, params: list[SamplingParams], generators: list[Any],
                constraints: list[ToolNameConstraint | None]) -> list[int]:
    """One token per row of ``logits`` (B, V): logit_bias and constraints, then greedy (temperature 0)
    or top-p sampling from the row's own generator (inverse CDF of one uniform draw per row)."""
    import torch

    x = logits
    if any(p.logit_bias for p in params) or any(c is not None and not c.done for c in constraints):
        x = logits.clone()
        for i, (p, c) in enumerate(zip(params, constraints)):
            if p.logit_bias:
                ids = torch.tensor(list(p.logit_bias), dtype=torch.long)
                x[i, ids] += torch.tensor(list(p.logit_bias.values()), dtype=x.dtype)
            allowed = c.allowed() if c is not None else None
            if allowed:
                keep = torch.full_like(x[i], float("-inf"))
                keep[torch.tensor(allowed, dtype=torch.long)] = 0.0
                x[i] = x[i] + keep
    tokens = x.argmax(-1)
    rows = [i for i, p in enumerate(params) if p.temperature > 0]
    if rows:
        idx = torch.tensor(rows, dtype=torch.long)
        temps = torch.tensor([params[i].temperature for i in rows], dtype=x.dtype)
        probs = torch.softmax(x[idx] / temps[:, None], dim=-1)
        top_p = torch.tensor([params[i].top_p for i in rows], dtype=x.dtype)
        order = None
        if bool((top_p < 1).any()):
            probs, order = probs.sort(dim=-1, descending=True)
            cut = (probs.cumsum(-1) - probs) >= top_p[:, None]
            probs = probs.masked_fill(cut, 0.0)
        cdf = probs.cumsum(-1)
        u = torch.stack([torch.rand((), generator=generators[i], dtype=cdf.dtype) for i in rows]) * cdf[:, -1]
        choice = torch.searchsorted(cdf, u[:, None], right=True).clamp_(max=cdf.shape[-1] - 1)
        picked = order.gather(1, choice) if order is not None else choice
        tokens[idx] = picked[:, 0]
    return tokens.tolist()
