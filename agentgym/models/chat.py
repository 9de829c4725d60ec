"""Chat requests → token jobs for the batch engine → ``chat.completion`` bodies.

:class:`ChatGenerator` renders messages and tools with the model's chat template, checks the
context length, forces tool calls (``tool_choice`` required or named) and parses Hermes
``<tool_call>`` blocks from the reply. Generation itself runs in :class:`~.engine.BatchEngine`::

    gen = ChatGenerator.load("models/tiny")
    prepared = gen.prepare(ChatCompletionRequest(model="tiny", messages=[{"role": "user", "content": "hi"}]))
    job = gen.engine.submit(prepared.prompt_ids, prepared.params, prepared.constraint)
    body = gen.render(prepared, job.future.result(), model_name="tiny")
    gen.close()
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, MissingDependencyError
from ..parsers import parse_hermes
from ..types import ToolCall
from .engine import BatchEngine, GenerationResult
from .openai_schema import (ChatCompletionRequest, NamedToolChoice, RequestError, TokenLogprob,
                            completion_body)
from .sampling import SamplingParams, ToolNameConstraint, quote_token_ids

SMALL_MODEL_PARAMS = 20_000_000
FORCED_CALL_PREFILL = '<tool_call>\n{"name": "'
_ARGUMENTS = re.compile(r'"arguments"\s*:\s*(.*)', re.S)


@dataclass
class PreparedChat:
    """A validated, tokenized request, ready for the engine."""

    request: ChatCompletionRequest
    prompt_ids: list[int]
    prefill: str
    params: SamplingParams
    constraint: ToolNameConstraint | None


class ChatGenerator:
    """A causal LM + its tokenizer serving chat requests through a :class:`BatchEngine`."""

    def __init__(self, model: Any, tokenizer: Any, *, max_batch_size: int = 64, max_waiting: int = 256,
                 max_model_len: int | None = None):
        self.model, self.tokenizer = model.eval(), tokenizer
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("this tokenizer has no chat_template; serve a chat model (e.g. one from init_tiny)")
        positions = int(getattr(model.config, "max_position_embeddings", None) or tokenizer.model_max_length)
        if max_model_len is not None and not 1 <= max_model_len <= positions:
            raise ConfigError(f"max_model_len must be between 1 and the model's {positions} positions, "
                              f"got {max_model_len}")
        self.max_positions = max_model_len or positions  # the context length served (prompt + completion)
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        self.eos_ids = sorted({*eos, tokenizer.eos_token_id} - {None})
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_ids[0]
        # a token spells at most this many characters: a cheap lower bound on a prompt's length in tokens
        self.max_token_chars = max(1, max((len(t) for t in tokenizer.get_vocab()), default=1))
        self._quote_ids: list[int] | None = None
        self.engine = BatchEngine(model, tokenizer, eos_ids=self.eos_ids, pad_id=self.pad_id,
                                  max_batch_size=max_batch_size, max_waiting=max_waiting)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str = "cpu", threads: int | None = None,
             max_batch_size: int = 64, max_waiting: int = 256, max_model_len: int | None = None) -> ChatGenerator:
        """Loads a checkpoint. ``threads`` sets torch's (process-wide) CPU thread count; 0 = auto:
        one thread for models under 20M parameters, whose ops are too small to split (on a busy
        machine extra threads only contend: ~10x slower on 2 shared cores)."""
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise MissingDependencyError(e.name or "transformers", "hf", "serving local models") from e
        if not (Path(path) / "config.json").exists():
            raise ConfigError(f"{path} is not a model directory (no config.json); build one with "
                              "`agentgym model init-tiny DIR` or pass a save_pretrained() directory")
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(device)
        if threads == 0:
            threads = 1 if sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMS else None
        if threads:
            torch.set_num_threads(threads)
        return cls(model, AutoTokenizer.from_pretrained(path), max_batch_size=max_batch_size,
                   max_waiting=max_waiting, max_model_len=max_model_len)

    def close(self) -> None:
        self.engine.close()

    # ------------------------------------------------------------------ request → job
    def prepare(self, req: ChatCompletionRequest) -> PreparedChat:
        """Renders and tokenizes ``req`` and checks it fits the context; raises RequestError (400)."""
        tok = self.tokenizer
        self._check_rough_length(req)
        tools = [t.model_dump() for t in req.tools] if req.tools else None
        messages = [m.to_template() for m in req.messages]
        try:
            prompt_ids = list(tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True,
                                                      tokenize=True, return_dict=True)["input_ids"])
        except Exception as e:  # jinja errors, malformed tool_calls
            raise RequestError(f"the chat template cannot render these messages: {e}", param="messages") from e
        forced = self._forced_names(req)
        prefill = FORCED_CALL_PREFILL if forced else ""
        prefill_ids = tok.encode(prefill, add_special_tokens=False) if prefill else []
        max_new = self._budget(req, len(prompt_ids), len(prefill_ids))
        bias = {}
        for key, value in (req.logit_bias or {}).items():
            if not 0 <= int(key) < len(tok):
                raise RequestError(f"logit_bias: token id {key} is not in this model's vocabulary (0..{len(tok) - 1})",
                                   param="logit_bias")
            bias[int(key)] = value
        params = SamplingParams(
            max_new_tokens=max_new, temperature=req.temperature, top_p=req.top_p, seed=req.seed, stop=req.stop_list,
            stop_after=["</tool_call>"] if isinstance(req.tool_choice, NamedToolChoice) else [], logit_bias=bias,
            logprobs=req.logprobs, top_logprobs=req.top_logprobs or 0,
        )
        constraint = ToolNameConstraint(tok, forced, self.quote_ids) if forced else None
        return PreparedChat(req, prompt_ids + prefill_ids, prefill, params, constraint)

    @property
    def quote_ids(self) -> list[int]:
        if self._quote_ids is None:
            self._quote_ids = quote_token_ids(self.tokenizer)
        return self._quote_ids

    def _check_rough_length(self, req: ChatCompletionRequest) -> None:
        """Refuses prompts that cannot fit before tokenizing them (a 4 MB prompt takes seconds to tokenize)."""
        chars = 0
        for m in req.messages:
            if isinstance(m.content, str):
                chars += len(m.content)
            elif m.content:
                chars += sum(len(p.get("text") or "") for p in m.content if isinstance(p.get("text"), str))
        at_least = chars // self.max_token_chars
        if at_least > self.max_positions:
            raise RequestError(
                f"This model's maximum context length is {self.max_positions} tokens, but the messages are at least "
                f"{at_least} tokens long ({chars} characters). Please reduce the length of the messages.",
                param="messages", code="context_length_exceeded")

    def _budget(self, req: ChatCompletionRequest, prompt: int, prefill: int) -> int:
        """max_tokens, or what fits in the context when it is absent; a clear 400 when nothing fits."""
        room = self.max_positions - prompt - prefill
        forced = f" (+{prefill} tokens of the forced tool-call prefix)" if prefill else ""
        if room < 1:
            raise RequestError(
                f"This model's maximum context length is {self.max_positions} tokens, but the messages take {prompt} "
                f"tokens{forced}, leaving no room for a completion. Please reduce the length of the messages.",
                param="messages", code="context_length_exceeded")
        asked = req.max_new_tokens
        if asked is None:
            return room
        if asked > room:
            raise RequestError(
                f"This model's maximum context length is {self.max_positions} tokens. However, you requested "
                f"{prompt + prefill + asked} tokens ({prompt} in the messages{forced}, {asked} in the completion). "
                f"Please reduce the length of the messages or completion (at most {room} completion tokens fit; "
                "omit max_tokens to get what fits).",
                param="max_tokens", code="context_length_exceeded")
        return asked

    @staticmethod
    def _forced_names(req: ChatCompletionRequest) -> list[str]:
        if isinstance(req.tool_choice, NamedToolChoice):
            return [req.tool_choice.function["name"]]
        if req.tool_choice == "required":
            return [t.function.name for t in req.tools or []]
        return []

    # ------------------------------------------------------------------ result → body
    def render(self, prepared: PreparedChat, result: GenerationResult, model_name: str) -> dict[str, Any]:
        """The ``chat.completion`` body of a finished job."""
        req, tok = prepared.request, self.tokenizer
        text = tok.decode(result.token_ids, skip_special_tokens=True)
        finish = result.finish_reason
        cut = [i for i in (text.find(s) for s in req.stop_list) if i >= 0]
        if cut:
            text, finish = text[: min(cut)], "stop"
        message = self._message(prepared.prefill + text, req, forced=prepared.constraint is not None)
        if message.get("tool_calls") and finish != "length":
            finish = "tool_calls"
        logprobs = None
        if result.logprobs is not None:
            logprobs = [self._token_logprob(lp.token_id, lp.logprob, lp.top) for lp in result.logprobs]
        prompt_tokens = len(prepared.prompt_ids) - len(tok.encode(prepared.prefill, add_special_tokens=False)
                                                       if prepared.prefill else [])
        completion_tokens = len(prepared.prompt_ids) - prompt_tokens + len(result.token_ids)
        return completion_body(model_name, message, finish, prompt_tokens, completion_tokens, logprobs)

    @staticmethod
    def _message(text: str, req: ChatCompletionRequest, *, forced: bool) -> dict[str, Any]:
        if req.tools and req.tool_choice != "none":
            parsed = parse_hermes(text)
            calls = [c.to_openai() for c in parsed.tool_calls]
            if forced and isinstance(req.tool_choice, NamedToolChoice):
                calls = [c for c in calls if c["function"]["name"] == req.tool_choice.function["name"]][:1]
            if forced and not calls:
                calls = [_salvage_call(text)]
            if calls:
                return {"role": "assistant", "content": parsed.text or None if parsed.tool_calls else None,
                        "tool_calls": calls}
        return {"role": "assistant", "content": text}

    def _token_logprob(self, token_id: int, logprob: float, top: list[tuple[int, float]]) -> TokenLogprob:
        piece = self.tokenizer.decode([token_id])
        alts = [{"token": (p := self.tokenizer.decode([i])), "logprob": v, "bytes": list(p.encode())} for i, v in top]
        return TokenLogprob(token=piece, logprob=logprob, bytes=list(piece.encode()), top_logprobs=alts)


def _salvage_call(text: str) -> dict[str, Any]:
    """A forced call whose JSON the model broke: the (constrained) name and the raw argument text.

    OpenAI does the same: ``arguments`` is whatever the model wrote, valid JSON or not.
    """
    body = text[len(FORCED_CALL_PREFILL):]
    name = body.split('"', 1)[0]
    match = _ARGUMENTS.search(body)
    args = match.group(1) if match else "{}"
    args = args.split("</tool_call>", 1)[0].strip()
    if args.endswith("}") and args.count("{") < args.count("}"):
        args = args[:-1].rstrip()  # the closing brace of the {"name", "arguments"} object
    return ToolCall(name=name, arguments=args or "{}").to_openai()
