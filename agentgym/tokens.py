"""Token-in/token-out helpers shared by :class:`~agentgym.policies.hf.HFPolicy` and the trainers.

:class:`ChatTokens` grows one conversation's token ids turn by turn without re-tokenizing
history; :func:`generate_batch` samples a left-padded batch with exactly the given settings;
:func:`to_message` turns a :class:`Generation` into an assistant message with its token record.

    conv = ChatTokens(tokenizer, tools)
    prompt = conv.extend(first_messages)                      # the full first prompt
    gen = generate_batch(model, tokenizer, [conv.ids], max_new_tokens=64)[0]
    conv.add_generated(gen.ids, to_message(gen, tokenizer, prompt))
    branch = conv.copy()                                      # an independent copy (ARPO)

Loss masks are not built here: :meth:`agentgym.types.Trajectory.token_view` is the one place.

Logprobs: for each sampled token, ``log_softmax(logits / temperature)`` of the raw model —
temperature-scaled, *before* top-p/top-k truncation — the same quantity TRL's
``GRPOTrainer`` computes for its old/ref log-probabilities (raw logits when temperature is 0).
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

from .errors import ConfigError, MissingDependencyError
from .parsers import parse_hermes
from .types import Message, TokenInfo, ToolSpec, Usage

DEFAULT_MAX_NEW_TOKENS = 128


def _torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError("torch", "hf", "token-in/token-out generation") from e
    return torch


def message_dicts(messages: Sequence[Message | dict]) -> list[dict[str, Any]]:
    """Messages as the plain dicts chat templates expect (tool-call arguments stay JSON strings)."""
    return [m.to_openai() if isinstance(m, Message) else dict(m) for m in messages]


class ChatTokens:
    """The token ids of one conversation, grown turn by turn without re-tokenizing history.

    ``extend(new_messages)`` appends and returns the ids to add before the next generation (the
    template suffix of the new messages plus the generation prompt); ``add_generated`` records
    what the model produced, as sampled. ``ids`` is the whole conversation so far. It needs a
    prefix-preserving chat template (``render(msgs[:k])`` a prefix of ``render(msgs)``) and says
    so when it is not.

        conv = ChatTokens(tokenizer, tools)
        prompt = conv.extend(first_messages)          # the full first prompt
        conv.add_generated(completion_ids, assistant_message)
        suffix = conv.extend(tool_messages)           # only the new part
    """

    def __init__(self, tokenizer: Any, tools: Sequence[ToolSpec] = ()):
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError(
                "the tokenizer has no chat_template: set `tokenizer.chat_template` (a prefix-preserving, "
                "tool-capable Jinja template, e.g. agentgym/models/chat_template.jinja) before using HFPolicy"
            )
        if tokenizer.eos_token is None:
            raise ConfigError("the tokenizer has no eos_token; set it to the end-of-turn token (e.g. <|im_end|>)")
        self.tokenizer = tokenizer
        self.tools = [t.to_openai() for t in tools] or None
        self.messages: list[dict[str, Any]] = []
        self.rendered = ""       # canonical template text of self.messages (no generation prompt)
        self.pending = ""        # text the template adds after the model's last turn (e.g. "\n")
        self.ids: list[int] = []

    def copy(self) -> ChatTokens:
        """An independent copy at the same point (a branch of the conversation)."""
        twin = object.__new__(ChatTokens)
        twin.tokenizer, twin.tools = self.tokenizer, self.tools
        twin.messages, twin.rendered, twin.pending, twin.ids = list(self.messages), self.rendered, self.pending, list(self.ids)
        return twin

    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tools=self.tools, tokenize=False, add_generation_prompt=add_generation_prompt,
        )

    def extend(self, new_messages: Sequence[Message | dict]) -> list[int]:
        """Appends the template suffix of ``new_messages`` + the generation prompt; returns its ids."""
        new = message_dicts(new_messages)
        full = self.render(self.messages + new, add_generation_prompt=True)
        if not full.startswith(self.rendered):
            raise ConfigError(
                "the chat template is not prefix-preserving: rendering more messages rewrote earlier text. "
                "Token-in/token-out needs render(msgs[:k]) to be a prefix of render(msgs); use a template "
                "without history-dependent rewriting (e.g. agentgym/models/chat_template.jinja)"
            )
        text = self.pending + full[len(self.rendered):]
        ids = self.tokenizer.encode(text, add_special_tokens=False) if text else []
        self.messages += new
        self.rendered = self.render(self.messages, add_generation_prompt=False)
        self.pending = ""
        self.ids += ids
        return ids

    def add_generated(self, completion_ids: list[int], message: Message) -> None:
        """Records the model's turn: its ids as generated, and its parsed message for the template."""
        self.ids += completion_ids
        new = message_dicts([message.model_copy(update={"tokens": None, "usage": None})])
        self.messages += new
        rendered = self.render(self.messages, add_generation_prompt=False)
        eos = self.tokenizer.eos_token
        tail = rendered[rendered.rfind(eos) + len(eos):] if eos in rendered[len(self.rendered):] else ""
        ended = bool(completion_ids) and completion_ids[-1] == self.tokenizer.eos_token_id
        # a turn cut by max_new_tokens is closed by the env side (mask 0) so the next prompt is well formed
        self.pending = tail if ended else eos + tail
        self.rendered = rendered


@dataclass
class Generation:
    """One sampled continuation: ids up to and including eos, their logprobs and entropies."""

    ids: list[int]
    logprobs: list[float]
    entropies: list[float] = field(default_factory=list)
    text: str = ""


def sampling_config(tokenizer: Any, *, max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                    top_k: int = 0, min_p: float | None = None, repetition_penalty: float = 1.0,
                    generation_kwargs: dict[str, Any] | None = None) -> Any:
    """A complete ``GenerationConfig`` from these settings alone (everything else neutral).

    Nothing comes from the model's own ``generation_config``: :func:`generate_batch` swaps it
    out while it samples, so e.g. a checkpoint's ``repetition_penalty`` cannot skew what the
    loss assumes is plain sampling at ``temperature``. ``generation_kwargs`` (TRL's field of
    the same name) override the sampling settings, as in TRL (not the budget or stop token).
    """
    from transformers import GenerationConfig

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    kwargs: dict[str, Any] = {"do_sample": temperature > 0}
    if temperature > 0:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p)
    kwargs.update(repetition_penalty=repetition_penalty, **(generation_kwargs or {}))
    kwargs.update(max_new_tokens=max_new_tokens, pad_token_id=pad_id, eos_token_id=tokenizer.eos_token_id,
                  bos_token_id=getattr(tokenizer, "bos_token_id", None))  # the budget and stop token are ours
    return GenerationConfig(**kwargs)


_generate_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_generate_locks_guard = threading.Lock()


def _generate_lock(model: Any) -> threading.Lock:
    with _generate_locks_guard:
        return _generate_locks.setdefault(model, threading.Lock())


def generate_batch(
    model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0, min_p: float | None = None,
    repetition_penalty: float = 1.0, generation_kwargs: dict[str, Any] | None = None, entropies: bool = False,
) -> list[Generation]:
    """Samples one continuation per prompt (left-padded batch); blocking — run it off the event loop.

    Sampling uses exactly the given settings (see :func:`sampling_config`).
    """
    torch = _torch()
    if not prompts:
        return []
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(p) for p in prompts)
    device = next(model.parameters()).device
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        input_ids[i, width - len(p):] = torch.tensor(list(p), dtype=torch.long)
        attention[i, width - len(p):] = 1
    sample = temperature > 0
    config = sampling_config(tokenizer, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                             top_k=top_k, min_p=min_p, repetition_penalty=repetition_penalty,
                             generation_kwargs=generation_kwargs)
    config.update(output_logits=True, return_dict_in_generate=True)
    with _generate_lock(model), torch.no_grad():
        # transformers fills every unset field from model.generation_config: lend it ours for this call
        own = model.generation_config
        model.generation_config = config
        try:
            out = model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                 generation_config=config)
        finally:
            model.generation_config = own
    new = out.sequences[:, width:].cpu()
    logits = torch.stack(out.logits, dim=1).float().cpu()  # (B, T, V) raw logits
    if sample and temperature != 1.0:
        logits = logits / temperature
    logp = torch.log_softmax(logits, dim=-1)
    token_logp = logp.gather(-1, new.unsqueeze(-1)).squeeze(-1)
    ent = -(logp.exp() * logp).sum(-1) if entropies else None
    results = []
    for i in range(len(prompts)):
        row = new[i].tolist()
        n = row.index(tokenizer.eos_token_id) + 1 if tokenizer.eos_token_id in row else len(row)
        ids = row[:n]
        results.append(Generation(
            ids=ids, logprobs=token_logp[i, :n].tolist(), entropies=ent[i, :n].tolist() if ent is not None else [],
            text=tokenizer.decode(ids, skip_special_tokens=False),
        ))
    return results


def to_message(gen: Generation, tokenizer: Any, prompt_ids: list[int]) -> Message:
    """The assistant message of a generation: tool calls parsed from hermes blocks, plus token records."""
    text = gen.text
    if tokenizer.eos_token and text.endswith(tokenizer.eos_token):
        text = text[: -len(tokenizer.eos_token)]
    parsed = parse_hermes(text)
    msg = Message.assistant(content=parsed.text or None, tool_calls=parsed.tool_calls or None)
    if not parsed.tool_calls:
        msg.content = text
    msg.tokens = TokenInfo(prompt_ids=list(prompt_ids), completion_ids=list(gen.ids), logprobs=list(gen.logprobs))
    msg.usage = Usage(prompt_tokens=len(prompt_ids), completion_tokens=len(gen.ids))
    return msg


def normalized_entropy(entropies: Sequence[float], k: int, vocab_size: int) -> float:
    """Mean entropy of the first ``k`` tokens divided by ``log(vocab_size)`` (in [0, 1])."""
    head = list(entropies[:k])
    if not head:
        return 0.0
    return sum(head) / len(head) / math.log(max(vocab_size, 2))


__all__ = ["ChatTokens", "Generation", "generate_batch", "sampling_config", "to_message", "normalized_entropy",
           "message_dicts", "DEFAULT_MAX_NEW_TOKENS"]
