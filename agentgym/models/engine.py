"""Continuous batching for a local causal LM on one worker thread (what ``serve-model`` runs).

Requests join the running batch as soon as there is room: their prompts are prefilled together
(left padded) and their KV caches merged into the batch's; every decode step then advances all
rows at once. Each row keeps its own sampling params, seed, stop strings and token budget, and
leaves the batch when it finishes or is cancelled (checked before every decode step)::

    engine = BatchEngine(model, tokenizer, eos_ids=[2], pad_id=0, max_batch_size=64, max_waiting=256,
                         prefill_tokens=2048)        # prompt tokens prefilled per step, between decode steps
    job = engine.submit(prompt_ids, SamplingParams(max_new_tokens=32, temperature=0))
    result = job.future.result()        # GenerationResult(token_ids, finish_reason, logprobs)
    engine.cancel(job)                  # e.g. the HTTP client went away
    engine.stats()                      # counters: prefill_batches, decode_steps, cancelled, ...
    engine.close()
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .sampling import SamplingParams, ToolNameConstraint, sample_rows


class QueueFullError(Exception):
    """More requests are waiting than the engine accepts; retry after ``retry_after`` seconds."""

    def __init__(self, waiting: int, retry_after: int):
        super().__init__(f"{waiting} requests are already waiting for the model")
        self.waiting, self.retry_after = waiting, retry_after


@dataclass
class TokenLogprobs:
    token_id: int
    logprob: float
    top: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class GenerationResult:
    token_ids: list[int]
    finish_reason: str  # "stop" (eos or a stop string), "length" or "cancelled"
    logprobs: list[TokenLogprobs] | None = None


@dataclass(eq=False)
class GenerationJob:
    prompt_ids: list[int]
    params: SamplingParams
    constraint: ToolNameConstraint | None = None
    future: Future = field(default_factory=Future)
    cancelled: bool = False
    submitted: float = field(default_factory=time.monotonic)


class EngineStats(BaseModel):
    """Counters since start (``GET /stats`` on the server)."""

    submitted: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    rejected: int = 0
    prefill_batches: int = 0
    decode_steps: int = 0
    tokens_generated: int = 0
    max_batch_size_seen: int = 0
    waiting: int = 0
    running: int = 0
    max_batch_size: int = 0
    max_waiting: int = 0


class _Row:
    """A request being decoded: its job, generated tokens and position."""

    def __init__(self, job: GenerationJob, stop_window: int):
        self.job, self.params = job, job.params
        self.generator = job.params.generator()
        self.new: list[int] = []
        self.logprobs: list[TokenLogprobs] | None = [] if job.params.logprobs else None
        self.stop_window = stop_window

    @property
    def position(self) -> int:  # position id of the last token (the next decode input)
        return len(self.job.prompt_ids) + len(self.new) - 1


class BatchEngine:
    """Continuous batching over one HF causal LM; thread-safe ``submit``/``cancel``."""

    def __init__(self, model: Any, tokenizer: Any, *, eos_ids: list[int], pad_id: int, max_batch_size: int = 64,
                 max_waiting: int = 256, prefill_tokens: int = 2048):
        import torch

        self.model, self.tokenizer, self.torch = model, tokenizer, torch
        self.eos_ids, self.pad_id = set(eos_ids), pad_id
        self.max_batch_size, self.max_waiting = max_batch_size, max_waiting
        self.prefill_tokens = prefill_tokens  # prompt tokens admitted per iteration (one request at least)
        self._stats = EngineStats(max_batch_size=max_batch_size, max_waiting=max_waiting)
        self._waiting: deque[GenerationJob] = deque()
        self._rows: list[_Row] = []
        self._cache: list[tuple[Any, Any]] = []  # per layer (keys, values): (B, heads, S, dim)
        self._mask: Any = None  # (B, S) attention mask over the cache, left padded
        self._cache_obj: Any = None  # the transformers cache object holding ``_cache`` between decode steps
        # transformers 5.2x renamed ``past_key_values`` to ``cache`` (argument and output field)
        self._cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
        self._cond = threading.Condition()
        self._paused = False
        self._closed = False
        self._avg_seconds = 1.0
        self._thread = threading.Thread(target=self._loop, name="agentgym-generate", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public API
    def submit(self, prompt_ids: list[int], params: SamplingParams,
               constraint: ToolNameConstraint | None = None) -> GenerationJob:
        """Queues a request; raises :class:`QueueFullError` past ``max_waiting`` waiting requests."""
        job = GenerationJob(list(prompt_ids), params, constraint)
        with self._cond:
            if self._closed:
                raise RuntimeError("the engine is closed")
            if len(self._waiting) >= self.max_waiting:
                self._stats.rejected += 1
                batches_ahead = len(self._waiting) / max(1, self.max_batch_size) + 1
                raise QueueFullError(len(self._waiting), max(1, round(batches_ahead * self._avg_seconds)))
            self._waiting.append(job)
            self._stats.submitted += 1
            self._cond.notify_all()
        return job

    def cancel(self, job: GenerationJob) -> None:
        """Stops ``job`` before its next decode step (or drops it from the queue)."""
        with self._cond:
            job.cancelled = True
            self._cond.notify_all()

    def pause(self) -> None:
        """Holds new admissions (running rows keep decoding); for tests and draining."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stats(self) -> EngineStats:
        with self._cond:
            return self._stats.model_copy(update={"waiting": len(self._waiting), "running": len(self._rows)})

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=30)
        for job in list(self._waiting) + [r.job for r in self._rows]:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the model server is shutting down"))

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        while True:
            with self._cond:
                self._drop_cancelled_waiting()
                while not self._closed and not self._rows and (self._paused or not self._waiting):
                    self._cond.wait()
                    self._drop_cancelled_waiting()
                if self._closed:
                    return
                room = self.max_batch_size - len(self._rows)
                admit, tokens = [], 0
                while not self._paused and self._waiting and len(admit) < room and (
                        not admit or tokens + len(self._waiting[0].prompt_ids) <= self.prefill_tokens):
                    admit.append(self._waiting.popleft())
                    tokens += len(admit[-1].prompt_ids)
            try:
                with self.torch.inference_mode():
                    self._finish_cancelled_rows()
                    if admit:  # a bounded prefill chunk, then a decode step: running rows never stall for long
                        self._prefill(admit)
                    if self._rows:
                        self._decode_step()
            except Exception as e:  # a failure of the model: fail these requests, keep serving
                for job in admit + [r.job for r in self._rows]:
                    if not job.future.done():
                        job.future.set_exception(e)
                with self._cond:
                    self._stats.failed += len(admit) + len(self._rows)
                self._rows, self._cache, self._mask, self._cache_obj = [], [], None, None

    def _drop_cancelled_waiting(self) -> None:
        for job in [j for j in self._waiting if j.cancelled]:
            self._waiting.remove(job)
            self._stats.cancelled += 1
            job.future.set_result(GenerationResult([], "cancelled"))

    def _finish_cancelled_rows(self) -> None:
        gone = [i for i, r in enumerate(self._rows) if r.job.cancelled]
        if gone:
            self._remove_rows(gone, "cancelled")

    def _prefill(self, jobs: list[GenerationJob]) -> None:
        torch = self.torch
        from transformers import DynamicCache

        longest = max(len(j.prompt_ids) for j in jobs)
        ids = torch.full((len(jobs), longest), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(jobs), longest), dtype=torch.long)
        for i, job in enumerate(jobs):
            n = len(job.prompt_ids)
            ids[i, longest - n:] = torch.tensor(job.prompt_ids, dtype=torch.long)
            mask[i, longest - n:] = 1
        positions = (mask.cumsum(-1) - 1).clamp_(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                         logits_to_keep=1, **{self._cache_kw: DynamicCache()})
        new_rows = [_Row(j, _stop_window(j.params)) for j in jobs]
        self._merge(new_rows, _layers(getattr(out, self._cache_kw)), mask)
        self._cache_obj = None
        with self._cond:
            self._stats.prefill_batches += 1
        self._advance(out.logits[:, -1, :].float(), first=len(self._rows) - len(new_rows))

    def _decode_step(self) -> None:
        torch = self.torch
        from transformers import DynamicCache

        inputs = torch.tensor([[r.new[-1]] for r in self._rows], dtype=torch.long)
        positions = torch.tensor([[r.position] for r in self._rows], dtype=torch.long)
        self._mask = torch.cat([self._mask, torch.ones((len(self._rows), 1), dtype=torch.long)], dim=1)
        if self._cache_obj is None:  # rebuilt only after rows joined or left
            self._cache_obj = DynamicCache()
            for layer, (k, v) in enumerate(self._cache):
                self._cache_obj.update(k, v, layer)
        out = self.model(input_ids=inputs, attention_mask=self._mask, position_ids=positions, use_cache=True,
                         **{self._cache_kw: self._cache_obj})
        self._cache_obj = getattr(out, self._cache_kw)
        self._cache = _layers(self._cache_obj)
        with self._cond:
            self._stats.decode_steps += 1
        self._advance(out.logits[:, -1, :].float(), first=0)

    def _advance(self, logits: Any, first: int) -> None:
        """Samples the next token of rows ``first..`` and retires those that finished."""
        rows = self._rows[first:]
        tokens = sample_rows(logits, [r.params for r in rows], [r.generator for r in rows],
                             [r.job.constraint for r in rows])
        want_lp = [i for i, r in enumerate(rows) if r.logprobs is not None]
        lps = self.torch.log_softmax(logits[want_lp], dim=-1) if want_lp else None
        finished: dict[int, str] = {}
        appended = 0
        for i, (row, token) in enumerate(zip(rows, tokens)):
            constraint = row.job.constraint
            forced = constraint is not None and not constraint.done
            if constraint is not None:
                constraint.advance(token)
            if token in self.eos_ids and not forced:
                finished[first + i] = "stop"
                continue
            row.new.append(token)
            appended += 1
            if row.logprobs is not None:
                lp = lps[want_lp.index(i)]
                top = []
                if row.params.top_logprobs:
                    values, ids = lp.topk(row.params.top_logprobs)
                    top = list(zip(ids.tolist(), values.tolist()))
                row.logprobs.append(TokenLogprobs(token, float(lp[token]), top))
            if reason := self._stopped(row):
                finished[first + i] = reason
        with self._cond:
            self._stats.tokens_generated += appended
            self._stats.max_batch_size_seen = max(self._stats.max_batch_size_seen, len(self._rows))
        if finished:
            self._remove_rows(sorted(finished), finished)

    def _stopped(self, row: _Row) -> str | None:
        p = row.params
        if len(row.new) >= p.max_new_tokens:
            return "length"
        if p.stop or p.stop_after:
            tail = self.tokenizer.decode(row.new[-row.stop_window:], skip_special_tokens=True)
            if any(s in tail for s in p.stop + p.stop_after):
                return "stop"
        return None

    # ------------------------------------------------------------------ batch bookkeeping
    def _merge(self, new_rows: list[_Row], new_cache: list[tuple[Any, Any]], new_mask: Any) -> None:
        """Appends prefilled rows to the running batch, left padding the shorter cache."""
        torch = self.torch
        if not self._rows:
            self._rows, self._cache, self._mask = new_rows, new_cache, new_mask
            return
        old_len, new_len = self._mask.shape[1], new_mask.shape[1]
        width = max(old_len, new_len)

        def pad(t: Any, extra: int) -> Any:
            if not extra:
                return t
            shape = list(t.shape)
            shape[-2 if t.dim() == 4 else -1] = extra
            return torch.cat([t.new_zeros(shape), t], dim=-2 if t.dim() == 4 else -1)

        self._cache = [(torch.cat([pad(k0, width - old_len), pad(k1, width - new_len)]),
                        torch.cat([pad(v0, width - old_len), pad(v1, width - new_len)]))
                       for (k0, v0), (k1, v1) in zip(self._cache, new_cache)]
        self._mask = torch.cat([pad(self._mask, width - old_len), pad(new_mask, width - new_len)])
        self._rows = self._rows + new_rows

    def _remove_rows(self, indices: list[int], reasons: dict[int, str] | str) -> None:
        """Resolves the futures of rows ``indices`` and drops them (and any all-padding columns)."""
        now = time.monotonic()
        for i in indices:
            row = self._rows[i]
            reason = reasons if isinstance(reasons, str) else reasons[i]
            if not row.job.future.done():
                row.job.future.set_result(GenerationResult(row.new, reason, row.logprobs))
            self._avg_seconds = 0.9 * self._avg_seconds + 0.1 * (now - row.job.submitted)
        with self._cond:
            if isinstance(reasons, str):
                self._stats.cancelled += len(indices)
            else:
                self._stats.completed += len(indices)
        keep = [i for i in range(len(self._rows)) if i not in set(indices)]
        self._cache_obj = None
        if not keep:
            self._rows, self._cache, self._mask = [], [], None
            return
        index = self.torch.tensor(keep, dtype=self.torch.long)
        mask = self._mask[index]
        start = int((mask.sum(0) > 0).nonzero()[0])
        self._mask = mask[:, start:]
        self._cache = [(k[index, :, start:], v[index, :, start:]) for k, v in self._cache]
        self._rows = [self._rows[i] for i in keep]


def _stop_window(params: SamplingParams) -> int:
    """How many trailing tokens to decode to see any stop string (a token is at least one character)."""
    longest = max((len(s) for s in params.stop + params.stop_after), default=0)
    return longest + 2


def _layers(cache: Any) -> list[tuple[Any, Any]]:
    """The (keys, values) tensors of each layer of a transformers cache."""
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return list(zip(cache.key_cache, cache.value_cache))
