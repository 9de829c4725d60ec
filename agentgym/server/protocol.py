"""The env server's wire format: OpenEnv's WebSocket message shape plus agentgym's extras.

Client → server, one JSON text frame each (OpenEnv's ``{"type", "data"}``)::

    {"type": "reset", "data": {"seed": 0, "task": null}}
    {"type": "step", "data": {"role": "assistant", "content": "...", "tool_calls": [...]}, "seq": 1}
    {"type": "state"}   {"type": "close"}                      # as in OpenEnv
    {"type": "fork"}    {"type": "oracle"}   {"type": "ping"}  # agentgym's extras

Server → client::

    {"type": "observation", "data": {"observation": {...}, "reward": 0.0, "done": false, "metadata": {...}}}
    {"type": "state", "data": {"episode_id": ..., "step_count": 3, ...}}
    {"type": "session", "data": {"session_id": "...", "ttl": 300.0}}        # fork / ping
    {"type": "oracle", "data": {"messages": [...] | null}}
    {"type": "error", "data": {"message": "...", "code": "SESSION_NOT_FOUND", ...}}

``step`` takes the assistant's OpenAI message itself (or ``{"message": {...}}``); an optional
``seq`` (the turn number) makes a step retried after a dropped connection apply exactly once.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..types import Message, StepResult, ToolSpec, jsonable

MESSAGE_TYPES = ("reset", "step", "state", "close", "fork", "oracle", "ping")
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class ErrorCode(str, Enum):
    """Error codes of ``{"type": "error"}`` replies (the first seven are OpenEnv's)."""

    INVALID_JSON = "INVALID_JSON"
    UNKNOWN_TYPE = "UNKNOWN_TYPE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"      # the env raised (an env bug): the session stays usable
    CAPACITY_REACHED = "CAPACITY_REACHED"    # --max-sessions: retry after ``retry_after`` s
    FACTORY_ERROR = "FACTORY_ERROR"
    SESSION_ERROR = "SESSION_ERROR"
    UNAUTHORIZED = "UNAUTHORIZED"
    SESSION_NOT_FOUND = "SESSION_NOT_FOUND"  # unknown, closed or expired (past its lease)
    NOT_RESET = "NOT_RESET"                  # step/fork before reset
    TOO_LARGE = "TOO_LARGE"
    INFRA_ERROR = "INFRA_ERROR"              # the worker hosting the session died, a sandbox broke


class ServerError(Exception):
    """An error reply: ``code`` plus a message that says what to do; ``status`` for HTTP."""

    STATUS = {ErrorCode.UNAUTHORIZED: 401, ErrorCode.SESSION_NOT_FOUND: 404, ErrorCode.NOT_RESET: 409,
              ErrorCode.TOO_LARGE: 413, ErrorCode.CAPACITY_REACHED: 503, ErrorCode.INFRA_ERROR: 502,
              ErrorCode.EXECUTION_ERROR: 500, ErrorCode.FACTORY_ERROR: 500}

    def __init__(self, code: ErrorCode, message: str, **extra: Any):
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra

    @property
    def status(self) -> int:
        return self.STATUS.get(self.code, 400)

    def payload(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code.value, **jsonable(self.extra)}

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "data": self.payload()}


class ResetData(BaseModel):
    """``reset`` data; OpenEnv clients may add ``episode_id`` and other keys (ignored)."""

    model_config = ConfigDict(extra="ignore")

    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    task: dict[str, Any] | str | None = None
    episode_id: str | None = None


class Frame(BaseModel):
    """One client frame. ``seq`` numbers steps for exactly-once retries."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["reset", "step", "state", "close", "fork", "oracle", "ping"]
    data: dict[str, Any] = Field(default_factory=dict)
    seq: int | None = Field(None, ge=0, lt=2**63)


def parse_action(data: dict[str, Any]) -> Message:
    """The assistant message of a ``step``: the message itself, ``{"message": {...}}`` or ``{"content": "..."}``."""
    body = data.get("message", data)
    if not isinstance(body, dict):
        body = {"content": body} if isinstance(body, str) else {}
    body = {"role": "assistant", **body}
    if body.get("role") != "assistant":
        raise ServerError(ErrorCode.VALIDATION_ERROR, f"a step carries an assistant message, got role {body['role']!r}")
    return Message.from_openai(body) if body.get("tool_calls") else Message.model_validate(body)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def encode_result(result: StepResult, *, turn: int, tools: list[ToolSpec] | None = None) -> dict[str, Any]:
    """A :class:`StepResult` as OpenEnv's observation payload (``observation``, ``reward``, ``done``).

    ``done`` is true once the episode is over (ended or truncated), so OpenEnv loops stop;
    ``observation.terminated`` / ``truncated`` keep the two apart for agentgym's client.
    """
    obs: dict[str, Any] = {
        "messages": [m.to_openai() for m in result.messages],
        "terminated": result.done, "truncated": result.truncated, "success": result.success,
        "channels": {k: _finite(float(v)) for k, v in result.channels.items()},
        "info": jsonable(result.info), "turn": turn,
    }
    if tools is not None:
        obs["tools"] = [t.model_dump() for t in tools]
    return {"observation": obs, "reward": _finite(float(result.reward)), "done": bool(result.done or result.truncated),
            "metadata": {"turn": turn}}


def decode_result(data: dict[str, Any]) -> StepResult:
    """The :class:`StepResult` of an observation payload (inverse of :func:`encode_result`)."""
    obs = data.get("observation") or {}
    reward = data.get("reward")
    return StepResult(
        messages=[Message.from_openai(m) for m in obs.get("messages", [])],
        reward=float(reward) if reward is not None else 0.0,
        done=bool(obs.get("terminated", data.get("done", False))), truncated=bool(obs.get("truncated", False)),
        success=obs.get("success"), info=obs.get("info") or {},
        channels={k: (float("nan") if v is None else float(v)) for k, v in (obs.get("channels") or {}).items()},
    )


__all__ = ["ErrorCode", "ServerError", "Frame", "ResetData", "parse_action", "encode_result", "decode_result",
           "MESSAGE_TYPES", "DEFAULT_MAX_MESSAGE_BYTES"]
