"""``OpenAIPolicy``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, ``agentgym serve-model``).

    policy = OpenAIPolicy("gpt-4.1-mini")                                        # OPENAI_API_KEY
    policy = OpenAIPolicy("qwen", base_url="http://127.0.0.1:8000/v1", api_key_env="LOCAL_KEY")

The env's tools are sent as ``tools``; transient failures (429, 5xx, timeouts, connection
errors) surface as :class:`TransientPolicyError` and are retried by the rollout engine with
exponential backoff; anything else is a :class:`PolicyError` that fails the episode.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError, MissingDependencyError, PolicyError, TransientPolicyError
from ..types import Message, ToolSpec, Usage

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


class OpenAIPolicy:
    """Chat-completions policy. Extra ``sampling`` kwargs (temperature, max_tokens, ...) are passed through."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        tool_choice: str | None = None,
        **sampling: Any,
    ):
        try:
            import openai
        except ImportError as e:  # pragma: no cover - openai is a core dependency
            raise MissingDependencyError("openai", "all") from e
        self.name = model
        self.model = model
        self.base_url = base_url
        key = api_key or os.environ.get(api_key_env)
        if not key:
            if base_url and any(h in base_url for h in LOCAL_HOSTS):
                key = "not-needed"  # local servers usually ignore the key
            else:
                raise ConfigError(
                    f"no API key: set the environment variable {api_key_env} (or pass --api-key-env NAME "
                    f"to read another variable) for {base_url or 'the OpenAI API'}"
                )
        self.client = openai.AsyncOpenAI(api_key=key, base_url=base_url, timeout=timeout, max_retries=0)
        self.tool_choice = tool_choice
        self.sampling = sampling
        self._openai = openai
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        kwargs: dict[str, Any] = dict(self.sampling)
        if tools:
            kwargs["tools"] = [t.to_openai() for t in tools]
            if self.tool_choice:
                kwargs["tool_choice"] = self.tool_choice
        o = self._openai
        try:
            # client.post skips the SDK's per-request TypedDict transform (7 ms for a long chat,
            # most of the client's CPU time); our payload is already plain JSON in wire format.
            resp = await self.client.post(
                "/chat/completions", cast_to=self._completion_type,
                body={"model": self.model, "messages": [m.to_openai() for m in messages], **kwargs},
            )
        except (o.RateLimitError, o.APITimeoutError, o.APIConnectionError, o.InternalServerError) as e:
            raise TransientPolicyError(f"{type(e).__name__} from {self.base_url or 'OpenAI'}: {e}") from e
        except o.APIStatusError as e:
            if e.status_code >= 500 or e.status_code == 429:
                raise TransientPolicyError(f"HTTP {e.status_code} from {self.base_url or 'OpenAI'}: {e}") from e
            raise PolicyError(f"HTTP {e.status_code} from {self.base_url or 'OpenAI'}: {e.message}") from e
        if not resp.choices:
            raise TransientPolicyError("the endpoint returned no choices")
        msg = Message.from_openai(resp.choices[0].message)
        msg = msg.model_copy(update={"role": "assistant", "name": None})
        if resp.usage:
            msg.usage = Usage(prompt_tokens=resp.usage.prompt_tokens or 0,
                              completion_tokens=resp.usage.completion_tokens or 0)
        return msg

    async def aclose(self) -> None:
        await self.client.close()
