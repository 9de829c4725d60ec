"""Core data types shared by every layer: messages, tools, steps, tasks, trajectories.

Everything that crosses a process or file boundary is a pydantic model, so it
round-trips through JSON::

    msg = Message.assistant(tool_calls=[ToolCall(name="move", arguments='{"direction": "north"}')])
    Message.model_validate_json(msg.model_dump_json()) == msg
    msg.to_openai()   # exactly what the openai SDK sends
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TRAJECTORY_SCHEMA_VERSION = 2   # 1: termination "error", tokens only on messages; 2: policy/infra errors, token turns
MAX_JSON_DEPTH = 64          # deeper values in info dicts are summarised (JSON readers stop near 200)
_SURROGATES = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")
_MAX_INT_BITS = 14_000       # ~4,200 digits: below Python's int-to-str limit (4,300)

Role = Literal["system", "user", "assistant", "tool"]
Termination = Literal["done", "max_turns", "max_length", "context_length", "timeout", "policy_error", "infra_error"]
"""How an episode ended. Ends of a played episode (scored as they are):

- ``done``: the env ended it (solved, failed or submitted);
- ``max_turns``: the turn limit (the run's, or the env's own truncation);
- ``max_length``: the token budget of a local policy (training);
- ``context_length``: the conversation no longer fits the model's context;
- ``timeout``: the per-episode time limit.

Failures (never a policy's reward 0: resumes redo them, trainers drop them from the group baseline):

- ``policy_error``: the policy could not act (endpoint refused or failed after retries);
- ``infra_error``: the environment side broke; ``Trajectory.cause`` says where (see :data:`INFRA_CAUSES`).
"""
ERROR_TERMINATIONS = frozenset({"policy_error", "infra_error"})
INFRA_CAUSES = ("make", "reset", "step", "fork", "close", "tokens", "server", "sandbox", "browser")
"""Where an ``infra_error`` happened: env construction, ``reset``, ``step``, ``fork``, ``close``, the chat
template could not append the env's messages (``tokens``), or a named backend died. Free text is allowed."""


def clean_text(text: str) -> str:
    r"""``text`` made encodable as UTF-8, never shortened: a split surrogate pair becomes its
    character, a lone surrogate is escaped as the six characters ``\udXXX``::

        clean_text("ok \ud83d") == r"ok \ud83d"     # a lone high surrogate, escaped
        clean_text("\ud83d\ude00") == "😀"           # a pair, joined
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass

    def fix(m: re.Match[str]) -> str:
        pair = m.group()
        if len(pair) == 2:
            return chr(0x10000 + ((ord(pair[0]) - 0xD800) << 10) + (ord(pair[1]) - 0xDC00))
        return f"\\u{ord(pair):04x}"

    return _SURROGATES.sub(fix, text)


def jsonable(value: Any, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` as plain JSON data that always serialises and reads back: text cleaned
    (:func:`clean_text`), integers too long to print and unknown objects as text, dict keys as
    text, anything nested deeper than ``max_depth`` summarised. NaN/inf floats are kept."""

    def walk(v: Any, depth: int) -> Any:
        if v is None or isinstance(v, (bool, float)):
            return v
        if isinstance(v, int):
            return v if v.bit_length() <= _MAX_INT_BITS else f"<integer of {v.bit_length()} bits>"
        if isinstance(v, str):
            return clean_text(v)
        if isinstance(v, BaseModel):
            v = v.model_dump(mode="python")
        if isinstance(v, (dict, list, tuple, set, frozenset)):
            if depth >= max_depth:
                return f"<{type(v).__name__} nested deeper than {max_depth} levels>"
            if isinstance(v, dict):
                return {clean_text(k if isinstance(k, str) else str(walk(k, max_depth))): walk(x, depth + 1)
                        for k, x in v.items()}
            return [walk(x, depth + 1) for x in v]
        try:
            return clean_text(str(v))
        except Exception:  # a broken __str__ must not lose the record
            return f"<unprintable {type(v).__name__}>"

    return walk(value, 0)


def _clean_optional(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def new_call_id() -> str:
    """A fresh tool-call id in OpenAI's style (``call_`` + 24 hex digits)."""
    return "call_" + uuid.uuid4().hex[:24]


class ToolCall(BaseModel):
    """One function call requested by the assistant; ``arguments`` is a JSON string, as on the wire."""

    id: str = Field(default_factory=new_call_id)
    name: str
    arguments: str = "{}"

    _clean = field_validator("id", "name", "arguments")(_clean_optional)

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> ToolCall:
        """Accepts both the wire shape ``{"function": {...}}`` and the flat ``{name, arguments}``."""
        fn = data.get("function") or data
        args = fn.get("arguments", "{}")
        if not isinstance(args, str):
            args = json.dumps(jsonable(args))
        return cls(id=data.get("id") or new_call_id(), name=fn["name"], arguments=args)


class TokenInfo(BaseModel):
    """Token-level record of one generated turn (local models only).

    ``prompt_ids`` is everything the model was conditioned on, ``completion_ids`` what it
    generated, ``logprobs`` one float per completion token.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float] = Field(default_factory=list)


class TurnTokens(BaseModel):
    """Tokens of one model turn in a local-policy episode (the trajectory's ``tokens`` list).

    ``completion_ids`` are sampled by the model (loss mask 1) with their sampling ``logprobs``;
    ``env_ids`` are the chat-template tokens appended after it for the env's reply (loss mask 0,
    logprob 0). ``span`` names the span of tokens the turn belongs to: branches of an ARPO tree
    share the span ids of their common prefix.
    """

    completion_ids: list[int]
    logprobs: list[float] = Field(default_factory=list)
    env_ids: list[int] = Field(default_factory=list)
    span: int | None = None


class TokenView(BaseModel):
    """A local-policy episode flattened the way trainers read it (see :meth:`Trajectory.token_view`).

    ``completion_ids`` is everything after the first prompt (model and env tokens interleaved);
    ``loss_mask`` is 1 exactly on model-generated tokens; ``spans`` one span id per completion token.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    loss_mask: list[int]
    spans: list[int]

    def __iter__(self):  # ``prompt, completion, logprobs, mask = traj.token_view()`` keeps working
        return iter((self.prompt_ids, self.completion_ids, self.logprobs, self.loss_mask))


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Message(BaseModel):
    """A chat message in OpenAI's format.

    ``tokens`` and ``usage`` are bookkeeping filled by policies; they are never sent on the wire.
    """

    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    images: list[str] | None = None      # image URLs (``data:image/png;base64,...``) shown with ``content``
    tokens: TokenInfo | None = None
    usage: Usage | None = None

    _clean = field_validator("content", "tool_call_id", "name")(_clean_optional)

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str | None = None, tool_calls: list[ToolCall] | None = None) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls or None)

    @classmethod
    def tool(cls, content: str, tool_call_id: str, name: str | None = None) -> Message:
        return cls(role="tool", content=content, tool_call_id=tool_call_id, name=name)

    def to_openai(self) -> dict[str, Any]:
        """The dict the ``openai`` SDK sends for this message."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.images:   # content parts, as multimodal chat APIs take them
            out["content"] = ([{"type": "text", "text": self.content}] if self.content else []) + [
                {"type": "image_url", "image_url": {"url": url}} for url in self.images]
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role in ("tool", "user", "system"):
            out["name"] = self.name
        return out

    @classmethod
    def from_openai(cls, data: dict[str, Any] | Any) -> Message:
        """Builds a Message from an OpenAI dict or SDK object (``ChatCompletionMessage``)."""
        if not isinstance(data, dict):
            data = data.model_dump(exclude_none=True) if hasattr(data, "model_dump") else dict(data)
        calls = data.get("tool_calls") or None
        content, images = data.get("content"), None
        if isinstance(content, list):   # content parts: text parts joined, image parts kept as URLs
            texts = [p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text"]
            images = [(p.get("image_url") or {}).get("url") for p in content
                      if isinstance(p, dict) and p.get("type") == "image_url"] or None
            content = "\n".join(texts) if texts else None
        return cls(
            role=data["role"],
            content=content,
            images=images,
            tool_calls=[ToolCall.from_openai(c) for c in calls] if calls else None,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
        )


class ToolSpec(BaseModel):
    """An OpenAI function schema: ``name``, ``description`` and JSON-Schema ``parameters``."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class StepResult(BaseModel):
    """What ``Env.reset`` and ``Env.step`` return.

    Attributes:
        messages: messages to append to the conversation (tool results, user text, feedback).
        reward: this step's reward.
        done: the episode ended (solved, failed, or submitted).
        truncated: the episode was cut by a limit (``max_turns``).
        success: whether the task is solved, once known (``None`` while undecided).
        info: free-form diagnostics (tool-call counts, scores, ...).
        channels: named step signals, e.g. ``format`` (-1 on a malformed action), ``tool_ok``,
            ``outcome``; read by gated rewards and metrics.
    """

    messages: list[Message] = Field(default_factory=list)
    reward: float = 0.0
    done: bool = False
    truncated: bool = False
    success: bool | None = None
    info: dict[str, Any] = Field(default_factory=dict)
    channels: dict[str, float] = Field(default_factory=dict)


class Task(BaseModel):
    """One problem instance. ``data`` holds the family-specific payload (answer, game file, ...)."""

    id: str
    instruction: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    split: str | None = None


class EnvSpec(BaseModel):
    """Static description of an environment: what it is, its tools and what it needs to run."""

    id: str
    description: str = ""
    tools: list[ToolSpec] = Field(default_factory=list)
    max_turns: int = 20
    tags: list[str] = Field(default_factory=list)
    requirements: list[str] = Field(default_factory=list)
    entry_point: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Trajectory(BaseModel):
    """One episode: the single record eval, trainers, datasets, the server and the viewer share.

    Written one JSON line each to ``trajectories.jsonl``; ``schema_version`` 1 files still load
    (their ``error`` termination becomes ``policy_error``/``infra_error``, their per-message
    token records become ``prompt_ids`` + ``tokens``).

    Attributes:
        env_id / env_version / task_id / seed: what was played (``seed`` replays it).
        messages: the whole conversation; ``tools`` the tool schemas the policy saw.
        rewards / channels / infos: one entry per env step (index 0 is the reset).
        reward: the sum of ``rewards`` (the episode return before any shaping).
        success: the env's verdict, once known.
        turns: policy actions taken.
        termination: how it ended (:data:`Termination`); ``cause`` where an ``infra_error``
            happened (:data:`INFRA_CAUSES`); ``error`` the error text of a failure.
        prompt_ids / tokens: local policies only: the first prompt's ids and one
            :class:`TurnTokens` per model turn (sampled ids, logprobs, env ids after it, span id).
        usage / timings: tokens billed and seconds spent (``total_s``, ``policy_s``, ``env_s``).

    Example::

        traj = await agentgym.rollout(env, HFPolicy(model, tok), seed=0)
        view = traj.token_view()        # prompt_ids, completion_ids, logprobs, loss_mask, spans
        traj.is_error                   # policy_error / infra_error: not a score
    """

    # NaN/inf (a broken reward) are written as JSON constants so the record still reads back
    model_config = ConfigDict(ser_json_inf_nan="constants")

    schema_version: int = TRAJECTORY_SCHEMA_VERSION
    episode: int | None = None
    env_id: str = ""
    env_version: str | None = None
    task_id: str | None = None
    seed: int | None = None
    model: str | None = None
    messages: list[Message] = Field(default_factory=list)
    tools: list[ToolSpec] = Field(default_factory=list)
    rewards: list[float] = Field(default_factory=list)
    channels: list[dict[str, float]] = Field(default_factory=list)
    infos: list[dict[str, Any]] = Field(default_factory=list)
    reward: float = 0.0
    success: bool = False
    turns: int = 0
    termination: Termination = "done"
    cause: str | None = None
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    timings: dict[str, float] = Field(default_factory=dict)
    prompt_ids: list[int] | None = None
    tokens: list[TurnTokens] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        """Schema 1 (and callers still saying ``termination="error"``): the error is classified."""
        if isinstance(data, dict) and data.get("schema_version", TRAJECTORY_SCHEMA_VERSION) != TRAJECTORY_SCHEMA_VERSION:
            data = {**data, "schema_version": TRAJECTORY_SCHEMA_VERSION}  # read as, and written back as, the current one
        if isinstance(data, dict) and data.get("termination") == "error":
            data = dict(data)
            text = str(data.get("error") or "")
            data["termination"] = "policy_error" if text.startswith("PolicyError") else "infra_error"
        return data

    @model_validator(mode="after")
    def _fold(self) -> Trajectory:
        if not self.tokens and self.messages:
            self.fold_message_tokens()
        return self

    @property
    def is_error(self) -> bool:
        """The episode failed (``policy_error``/``infra_error``) rather than ended: not a score."""
        return self.termination in ERROR_TERMINATIONS

    def fail(self, termination: Literal["policy_error", "infra_error"], error: str, cause: str | None = None) -> None:
        """Records a failure (the first one wins: a close error after a step error keeps the step's)."""
        if self.is_error:
            return
        self.termination, self.error, self.cause = termination, clean_text(error), cause

    def channel_totals(self) -> dict[str, float]:
        """Sum of every channel over the episode."""
        totals: dict[str, float] = {}
        for step in self.channels:
            for k, v in step.items():
                totals[k] = totals.get(k, 0.0) + v
        return totals

    def fold_message_tokens(self) -> bool:
        """Moves the per-message token records of a local policy (``Message.tokens``, each with its whole
        prompt) into ``prompt_ids`` + ``tokens`` (each env part once); True when it did.

        Left as they are when a turn's prompt does not extend the previous one (history re-tokenized).
        """
        turns = [i for i, m in enumerate(self.messages) if m.role == "assistant" and m.tokens is not None]
        if not turns:
            return False
        first = self.messages[turns[0]].tokens
        seen = list(first.prompt_ids)
        out: list[TurnTokens] = []
        for i in turns:
            t = self.messages[i].tokens
            if t.prompt_ids[: len(seen)] != seen:
                return False
            if out:
                out[-1].env_ids = list(t.prompt_ids[len(seen):])
            out.append(TurnTokens(completion_ids=list(t.completion_ids),
                                  logprobs=list(t.logprobs) or [0.0] * len(t.completion_ids)))
            seen = list(t.prompt_ids) + list(t.completion_ids)
        self.prompt_ids, self.tokens = list(first.prompt_ids), out
        for i in turns:  # copies: the caller's message objects keep their records
            self.messages[i] = self.messages[i].model_copy(update={"tokens": None})
        return True

    def token_view(self, *, mask_errors: bool = True) -> TokenView:
        """The episode as one prompt and one completion, the layout trainers (TRL) read.

        The first turn's prompt is the prompt; everything after it (model tokens and the env
        tokens between turns) is the completion. ``loss_mask`` is 1 exactly on model-generated
        tokens, and all 0 for a failed episode when ``mask_errors`` (a broken episode teaches
        nothing). This is the one place loss masks are built.
        """
        if not self.tokens and not self.fold_message_tokens():
            if any(m.tokens is not None for m in self.messages):
                raise ValueError("turn prompt does not extend the previous turn: history was re-tokenized")
            raise ValueError("trajectory has no token records: it was not produced by a local (HF) policy")
        completion: list[int] = []
        logprobs: list[float] = []
        mask: list[int] = []
        spans: list[int] = []
        learn = 0 if (mask_errors and self.is_error) else 1
        for t in self.tokens:
            span = t.span or 0
            n = len(t.completion_ids)
            completion += t.completion_ids
            logprobs += t.logprobs if len(t.logprobs) == n else [0.0] * n
            mask += [learn] * n
            completion += t.env_ids
            logprobs += [0.0] * len(t.env_ids)
            mask += [0] * len(t.env_ids)
            spans += [span] * (n + len(t.env_ids))
        return TokenView(prompt_ids=list(self.prompt_ids or []), completion_ids=completion, logprobs=logprobs,
                         loss_mask=mask, spans=spans)
