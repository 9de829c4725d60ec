"""Pydantic shapes of the OpenAI chat-completions subset that ``agentgym serve-model`` speaks.

Requests are validated here; anything malformed becomes a 400 in OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``) before a model is touched.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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

    model_config = ConfigDict(extra="ignore")

    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    n: int = 1
    stop: str | list[str] | None = None
    stream: bool = False
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

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
