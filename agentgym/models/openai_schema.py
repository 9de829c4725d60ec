"""Pydantic shapes of the OpenAI chat-completions subset that ``agentgym serve-model`` speaks.

Requests are validated here; anything malformed becomes a 400 in OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``) before a model is touched::

    payload = parse_json_body(raw_bytes)                 # RequestError on bad UTF-8/JSON/depth/ints
    req = ChatCompletionRequest.model_validate(payload)
"""

from __future__ import annotations

import time
import uuid
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_JSON_DEPTH = 64


class RequestError(Exception):
    """A request the server refuses: becomes an OpenAI-shaped error response with ``status``."""

    def __init__(self, message: str, status: int = 400, *, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.param, self.code, self.type = status, param, code, type
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(str(self), type=self.type, param=self.param, code=self.code)


def parse_json_body(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decodes a request body: UTF-8, JSON, at most ``max_depth`` levels of nesting, no integers
    past Python's digit limit. Lone surrogates (``"\\ud83d"``) become U+FFFD. Raises RequestError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(f"the request body is not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r}); "
                           "send JSON encoded as UTF-8") from None
    try:
        payload = json.loads(text) if text.strip() else None
    except RecursionError:
        raise RequestError(f"the request body is nested too deeply; at most {max_depth} levels of JSON "
                           "objects and arrays are accepted") from None
    except json.JSONDecodeError as e:
        raise RequestError(f"the request body is not valid JSON: {e}") from None
    except ValueError as e:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise RequestError(f"the request body has an integer too long to read ({str(e).split(';')[0]}); "
                           "send integers within int64") from None
    return _clean(payload, max_depth)


def _clean(value: Any, max_depth: int) -> Any:
    """Checks nesting depth (iteratively) and replaces lone surrogates in strings and keys."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    root: list[Any] = [value]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)) and depth > max_depth:
            raise RequestError(f"the request body is nested too deeply (over {max_depth} levels of JSON objects "
                               "and arrays); flatten it")
        if isinstance(node, dict):
            for key in list(node):
                item = node.pop(key)
                node[_fix_text(key)] = item = _fix_text(item) if isinstance(item, str) else item
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = _fix_text(item)
                stack.append((node[i], depth + 1))
    return _fix_text(root[0]) if isinstance(root[0], str) else root[0]


def _fix_text(s: str) -> str:
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:  # pairs are joined, lone surrogates replaced
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class FunctionSchema(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolIn(BaseModel):
    type: Literal["function"] = "function"
    function: FunctionSchema


class NamedToolChoice(BaseModel):
    type: Literal["function"] = "function"
    function: dict[str, str]

    @field_validator("function")
    @classmethod
    def _has_name(cls, v: dict[str, str]) -> dict[str, str]:
        if not v.get("name"):
            raise ValueError('a named tool_choice needs {"function": {"name": ...}}')
        return v


class ChatMessageIn(BaseModel):
    """An incoming message; ``content`` may be a string or a list of ``{"type": "text", "text": ...}`` parts."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @field_validator("content")
    @classmethod
    def _text_parts_only(cls, v: Any) -> Any:
        if isinstance(v, list):
            for part in v:
                if part.get("type") != "text":
                    raise ValueError(f"only text content parts are supported, got type {part.get('type')!r}")
        return v

    def to_template(self) -> dict[str, Any]:
        """The dict handed to the chat template (``developer`` is treated as ``system``)."""
        out: dict[str, Any] = {"role": "system" if self.role == "developer" else self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        return out


class ChatCompletionRequest(BaseModel):
    """The accepted request body. Unknown fields are ignored, as vLLM does."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)
    logit_bias: dict[str, float] | None = None
    n: int = 1
    stop: str | list[str] | None = None
    stream: bool = False
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @field_validator("logit_bias")
    @classmethod
    def _bias_range(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        for key, bias in (v or {}).items():
            if not key.isdigit() or not -100 <= bias <= 100:
                raise ValueError(f"logit_bias maps token ids to biases in [-100, 100]; got {key!r}: {bias}")
        return v

    @model_validator(mode="after")
    def _check(self) -> ChatCompletionRequest:
        if self.n != 1:
            raise ValueError(f"n={self.n} is not supported: this server returns one choice per request; send n=1 "
                             "and repeat the request for more samples")
        if self.stream:
            raise ValueError("stream=true is not supported by agentgym serve-model; send stream=false")
        if self.tool_choice not in (None, "auto", "none") and not self.tools:
            raise ValueError("tool_choice requires `tools`; pass the tools the model may call")
        if isinstance(self.tool_choice, NamedToolChoice):
            name = self.tool_choice.function["name"]
            if name not in {t.function.name for t in self.tools or []}:
                raise ValueError(f"tool_choice names {name!r}, which is not in `tools`")
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs requires logprobs=true")
        stops = self.stop_list
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("stop takes up to 4 non-empty strings")
        return self

    @property
    def stop_list(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    @property
    def max_new_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[dict[str, Any]] = Field(default_factory=list)


def error_body(message: str, *, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def completion_body(model: str, message: dict[str, Any], finish_reason: str, prompt_tokens: int,
                    completion_tokens: int, logprobs: list[TokenLogprob] | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice."""
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
    if logprobs is not None:
        choice["logprobs"] = {"content": [lp.model_dump() for lp in logprobs]}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
