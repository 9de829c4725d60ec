"""``HFPolicy``: a local transformers model, token-in/token-out.

    policy = HFPolicy("path/to/model", max_new_tokens=64, temperature=1.0)
    traj = await agentgym.rollout(agentgym.make("toy/maze"), policy, seed=0)
    prompt, completion, logprobs, mask = traj.token_view()   # mask is 1 exactly on model tokens

The chat template is applied once per episode. Each later turn appends only the *suffix*
the template adds for the new messages (tool results, user text, the generation prompt),
tokenized on its own, plus the model's generated ids exactly as sampled: history is never
re-tokenized, so ``decode(prompt + completion)`` is the conversation the model really saw.
This needs a prefix-preserving chat template (``render(msgs[:k])`` is a prefix of
``render(msgs)``); :class:`ChatTokens` checks it and says so when it is not.

Token helpers (:class:`ChatTokens`, :func:`generate_batch`, ...) live in :mod:`agentgym.tokens`.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError, MissingDependencyError
from ..tokens import (  # noqa: F401  (re-exported: their old home)
    DEFAULT_MAX_NEW_TOKENS, ChatTokens, Generation, generate_batch, message_dicts, normalized_entropy, sampling_config,
    to_message,
)
from ..types import Message, ToolSpec


class HFPolicy:
    """A transformers causal LM as an agentgym policy (token-in/token-out, hermes tool calls).

    Args:
        model_or_path: a loaded ``PreTrainedModel`` or a path / hub id to load.
        tokenizer: its tokenizer (loaded from ``model_or_path`` when omitted); needs a
            prefix-preserving chat template and ``eos_token`` = the end-of-turn token.
        max_new_tokens: generation budget per turn.
        temperature: 0 means greedy.
        top_p: nucleus sampling.
        device: torch device for a model loaded from a path.
        format: how tool calls are read from the text (only ``hermes``).

    Example::

        policy = HFPolicy("runs/demo/model", temperature=0.7)
        traj = await agentgym.rollout(agentgym.make("toy/maze", size=2), policy, seed=3)
    """

    def __init__(
        self, model_or_path: Any, tokenizer: Any = None, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 1.0, top_p: float = 1.0, device: str = "cpu", format: str = "hermes",
    ):
        if format != "hermes":
            raise ConfigError(f"HFPolicy reads tool calls in the hermes format only, got format={format!r}")
        if isinstance(model_or_path, (str, Path)):
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as e:  # pragma: no cover
                raise MissingDependencyError("transformers", "hf", "HFPolicy") from e
            self.name = str(model_or_path)
            model = AutoModelForCausalLM.from_pretrained(str(model_or_path)).to(device)
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(model_or_path))
        else:
            model = model_or_path
            self.name = getattr(getattr(model, "config", None), "_name_or_path", None) or type(model).__name__
            if tokenizer is None:
                raise ConfigError("pass the tokenizer together with a loaded model: HFPolicy(model, tokenizer)")
        model.eval()
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self._lock = threading.Lock()  # one generate at a time per model

    def generate(self, prompts: Sequence[Sequence[int]], **kw: Any) -> list[Generation]:
        """Blocking batched generation with this policy's sampling settings."""
        with self._lock:
            return generate_batch(
                self.model, self.tokenizer, prompts, max_new_tokens=kw.pop("max_new_tokens", self.max_new_tokens),
                temperature=self.temperature, top_p=self.top_p, **kw,
            )

    async def begin_episode(self, env: Any = None) -> HFEpisode:
        """A per-episode actor keeping the conversation's token ids (called by the rollout engine)."""
        return HFEpisode(self, list(getattr(env, "tools", []) or []))

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        """Stateless use: renders the whole conversation (prefer rollout(), which keeps token state)."""
        return await HFEpisode(self, tools).act(messages, tools)


class HFEpisode:
    """Token state of one episode; ``act`` appends only the new messages' template suffix."""

    def __init__(self, policy: HFPolicy, tools: list[ToolSpec]):
        self.policy, self.name = policy, policy.name
        self.conv = ChatTokens(policy.tokenizer, tools)
        self.seen = 0

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        new = [m for m in messages[self.seen:]]
        if self.seen and new and new[0].role == "assistant":
            new = new[1:]  # our own previous turn, already held as generated ids
        self.conv.extend(new)
        prompt = list(self.conv.ids)
        gen = (await asyncio.to_thread(self.policy.generate, [prompt]))[0]
        msg = to_message(gen, self.policy.tokenizer, prompt)
        self.conv.add_generated(gen.ids, msg)
        self.seen = len(messages) + 1
        return msg


__all__ = ["HFPolicy", "HFEpisode", "ChatTokens", "Generation", "generate_batch", "sampling_config", "to_message", "normalized_entropy"]
