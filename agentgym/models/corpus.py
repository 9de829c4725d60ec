"""Deterministic training text for the tiny model's BPE tokenizer.

The corpus is what a tiny agent model will read and write: ``toy/maze`` episodes (oracle and
random policies) rendered with the chat template — system prompts listing tools as JSON,
``<tool_call>`` blocks, ``<tool_response>`` observations — plus plain English replies.
Same arguments, same text, byte for byte::

    texts = tiny_corpus(episodes=24)
    assert texts == tiny_corpus(episodes=24)
"""

from __future__ import annotations

import json
import random
from typing import Any

from ..types import Message, ToolCall

CHAT_TEMPLATE_FILE = "chat_template.jinja"

# Plain replies so the tokenizer also knows everyday English, digits and punctuation.
ENGLISH = """\
I will look around first and then move towards the exit.
The answer is 42. Let me check the result before I submit it.
I cannot find a tool for that, so I will answer directly.
Thank you! The task is done: I reached the goal in 7 moves.
First, read the instructions carefully. Then call one tool per turn and wait for its result.
The file was not found; please check the path and try again.
Search for the capital of the country, then compare the two numbers and report the larger one.
There is a wall to the north, an open door to the east and a key on the table.
Open the fridge, take the apple, cut it with the knife and put it in the bowl.
Error: unknown tool. Available tools are listed in the system message.
You are a helpful assistant. Answer the question with a short sentence.
Think step by step: what do I know, what do I need, and which action gets me closer?
"""


def _chat_template() -> str:
    from importlib import resources

    return resources.files("agentgym.models").joinpath(CHAT_TEMPLATE_FILE).read_text(encoding="utf-8")


def render_chat(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                add_generation_prompt: bool = False) -> str:
    """Renders OpenAI-format messages with the tiny model's chat template (no tokenizer needed)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(
        conversations=[messages], tools=tools, chat_template=_chat_template(),
        add_generation_prompt=add_generation_prompt,
    )
    return rendered[0]


def maze_episode(seed: int, size: int, policy: str, max_steps: int = 16) -> tuple[list[Message], list[dict]]:
    """One ``toy/maze`` episode as (messages, OpenAI tools) with the ``oracle`` or ``random`` policy."""
    from ..registry import make

    with make("toy/maze", size=size).sync() as env:
        first = env.reset(seed=seed)
        messages = list(first.messages)
        if policy == "oracle":
            actions = env.oracle() or []
        else:
            rng = random.Random(seed * 7919 + size)
            actions = [env.env.sample_action(rng) for _ in range(max_steps)]
        for i, action in enumerate(actions[:max_steps]):
            # deterministic call ids keep the corpus reproducible (the template does not render ids anyway)
            action = action.model_copy(update={"tool_calls": [
                ToolCall(id=f"call_{seed}_{i}_{j}", name=c.name, arguments=c.arguments)
                for j, c in enumerate(action.tool_calls or [])
            ] or None})
            if i % 3 == 1:  # some turns think aloud before calling, like real models do
                action.content = f"Step {i + 1}: I will {action.tool_calls[0].name if action.tool_calls else 'wait'}."
            messages.append(action)
            result = env.step(action)
            messages.extend(result.messages)
            if result.done or result.truncated:
                break
        tools = [t.to_openai() for t in env.tools]
    return messages, tools


def tiny_corpus(episodes: int = 24, extra: list[str] | None = None) -> list[str]:
    """The training texts: ``episodes`` oracle + ``episodes`` random maze episodes rendered
    with the chat template, the tool schemas as JSON, plain English, then ``extra``."""
    texts: list[str] = [ENGLISH]
    for seed in range(episodes):
        size = 2 + seed % 4
        for policy in ("oracle", "random"):
            messages, tools = maze_episode(seed, size, policy)
            wire = [m.to_openai() for m in messages]
            texts.append(render_chat(wire, tools if seed % 2 == 0 else None))
            if seed == 0:
                texts.append("\n".join(json.dumps(t) for t in tools))
    texts.extend(extra or [])
    return texts
