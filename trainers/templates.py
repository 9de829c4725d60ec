"""Checks, before training starts, that a chat template allows token-in/token-out episodes.

Multi-turn training appends each env reply as the template *suffix* of the new messages and
never re-tokenizes history (:class:`agentgym.tokens.ChatTokens`). That needs a
prefix-preserving template: rendering more messages must not rewrite earlier text. Qwen3's
original template, for one, drops the ``<think>`` block of earlier assistant turns once a new
user message arrives, so the tokens the model was trained on would not be the ones it saw.
TRL ships prefix-preserving *training* templates for such models (``trl/chat_templates/*_training.jinja``,
returned by ``trl.chat_template_utils.get_training_chat_template``).

    check_chat_template(tokenizer)        # raises ConfigError naming the fix, before any episode is played
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentgym.errors import ConfigError
from agentgym.tokens import message_dicts
from agentgym.types import Message, ToolCall, ToolSpec

_PROBE_TOOL = ToolSpec(name="lookup", description="Look a word up.",
                       parameters={"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]})


def _probe_conversation() -> list[dict[str, Any]]:
    """A short agent episode with reasoning, a tool call, its result, an answer and a follow-up question."""
    call = ToolCall(id="call_0", name="lookup", arguments='{"word": "maze"}')
    return message_dicts([
        Message.system("You are a helpful assistant."),
        Message.user("What is a maze?"),
        Message.assistant(content="<think>\nI should look it up.\n</think>\n\n", tool_calls=[call]),
        Message.tool("a network of paths", "call_0", "lookup"),
        Message.assistant(content="<think>\nThe tool answered.\n</think>\n\nA network of paths."),
        Message.user("And a labyrinth?"),
    ])


def first_rewrite(tokenizer: Any, tools: list[ToolSpec] | None = None) -> tuple[int, str, str] | None:
    """Where the template rewrites history: ``(k, before, after)`` with ``render(msgs[:k])`` not a prefix
    of ``render(msgs[:k+1], add_generation_prompt=True)``, or None when it is prefix-preserving."""
    specs = [t.to_openai() for t in (tools or [_PROBE_TOOL])]
    msgs = _probe_conversation()
    for k in range(1, len(msgs)):
        if msgs[k]["role"] == "assistant":
            continue  # the model's own turn is appended as generated ids, not rendered
        before = tokenizer.apply_chat_template(msgs[:k], tools=specs, tokenize=False)
        after = tokenizer.apply_chat_template(msgs[:k + 1], tools=specs, tokenize=False, add_generation_prompt=True)
        if not after.startswith(before):
            return k, before, after
    return None


def training_template_name(tokenizer: Any) -> str | None:
    """The file in ``trl/chat_templates/`` that TRL would swap in for this tokenizer's template, if any."""
    try:
        from trl.chat_template_utils import get_training_chat_template
    except ImportError:  # pragma: no cover - trl is part of the train extra
        return None
    try:
        fixed = get_training_chat_template(tokenizer)
    except Exception:  # TRL knows no training template for this one
        return None
    if not fixed:
        return None
    import trl

    for path in sorted((Path(trl.__file__).parent / "chat_templates").glob("*_training.jinja")):
        if path.read_text() == fixed:
            return path.name
    return "a training template"


def check_chat_template(tokenizer: Any, tools: list[ToolSpec] | None = None) -> None:
    """Raises :class:`ConfigError` (naming the fix) when the template is not prefix-preserving."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the tokenizer has no chat_template: set a prefix-preserving, tool-capable Jinja template "
                          "(e.g. agentgym/models/chat_template.jinja) before training")
    found = first_rewrite(tokenizer, tools)
    if found is None:
        return
    k, before, after = found
    split = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    name = training_template_name(tokenizer)
    fix = (f"TRL ships a prefix-preserving training template for this model (trl/chat_templates/{name}): "
           "`from trl.chat_template_utils import get_training_chat_template; "
           "tokenizer.chat_template = get_training_chat_template(tokenizer)`"
           if name else
           "use a template that renders every message the same whatever follows it (e.g. one that keeps the "
           "<think> blocks of earlier turns; agentgym/models/chat_template.jinja is one; for models TRL knows, "
           "trl.chat_template_utils.get_training_chat_template(tokenizer) returns one)")
    raise ConfigError(
        f"the chat template is not prefix-preserving: appending a {_probe_conversation()[k]['role']} message "
        f"rewrote earlier text (e.g. dropped an earlier turn's <think> block): {before[split:split + 60]!r} became "
        f"{after[split:split + 60]!r}. Multi-turn training appends each env reply as a template suffix without "
        f"re-tokenizing history, so every episode past its first tool call would fail. Fix: {fix}."
    )


__all__ = ["check_chat_template", "first_rewrite", "training_template_name"]
