"""``OpenAIPolicy``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, ``agentgym serve-model``).

    policy = OpenAIPolicy("gpt-4.1-mini")                                        # OPENAI_API_KEY
    policy = OpenAIPolicy("qwen", base_url="http://127.0.0.1:8000/v1", api_key_env="LOCAL_KEY")

The env's tools are sent as ``tools``; transient failures (429, 5xx, timeouts, connection
errors) surface as :class:`TransientPolicyError` and are retried by the rollout engine with
exponential backoff; anything else is a :class:`PolicyError` that fails the episode.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any

from ..errors import ConfigError, MissingDependencyError, PolicyError, TransientPolicyError
from ..types import Message, ToolSpec, Usage

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


def _root_cause(e: BaseException) -> str:
    """`` (cause: ConnectionRefusedError: ...)`` — the SDK's own message can hide it ("Request timed out.")."""
    root = e
    while root.__cause__ is not None or (root.__context__ is not None and not root.__suppress_context__):
        root = root.__cause__ or root.__context__
    return "" if root is e else f" (cause: {type(root).__name__}: {root})"


def _transport(openai: Any, wanted: str) -> str:
    """``aiohttp`` (the SDK's aiohttp client: about a third less CPU per request) when installed, else ``httpx``."""
    if wanted not in ("auto", "aiohttp", "httpx"):
        raise ConfigError(f"transport must be auto, aiohttp or httpx, got {wanted!r}")
    if wanted == "httpx":
        return "httpx"
    if hasattr(openai, "DefaultAioHttpClient") and importlib.util.find_spec("aiohttp") is not None:
        return "aiohttp"
    if wanted == "aiohttp":
        raise MissingDependencyError("aiohttp", "all", "the aiohttp transport of OpenAIPolicy")
    return "httpx"


class OpenAIPolicy:
    """Chat-completions policy. Extra ``sampling`` kwargs (temperature, max_tokens, ...) are passed through.

    ``transport``: ``auto`` (aiohttp when ``openai[aiohttp]`` is installed, as with agentgym's
    dependencies, else httpx), ``aiohttp`` or ``httpx``.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        tool_choice: str | None = None,
        transport: str = "auto",
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
        self.transport = _transport(openai, transport)
        self._key, self._timeout = key, timeout
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.tool_choice = tool_choice
        self.sampling = sampling
        self._openai = openai

    @property
    def client(self) -> Any:
        """The ``AsyncOpenAI`` client of the running event loop (one per loop: connections are bound to it).

        So one policy serves several ``agentgym.run`` calls, each with its own ``asyncio.run``.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            o = self._openai
            http_client = o.DefaultAioHttpClient() if self.transport == "aiohttp" else None
            self._client = o.AsyncOpenAI(api_key=self._key, base_url=self.base_url, timeout=self._timeout,
                                         max_retries=0, http_client=http_client)
            self._loop = loop
        return self._client

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        kwargs: dict[str, Any] = dict(self.sampling)
        if tools:
            kwargs["tools"] = [t.to_openai() for t in tools]
            if self.tool_choice:
                kwargs["tool_choice"] = self.tool_choice
        o = self._openai
        try:
            # client.post skips the SDK's per-request TypedDict transform (7 ms for a long chat) and
            # cast_to=dict its ChatCompletion model construction (~0.7 ms): the payload is already
            # plain wire-format JSON and Message parses the reply itself. Errors still map to the
            # SDK's exception types.
            resp = await self.client.post(
                "/chat/completions", cast_to=dict,
                body={"model": self.model, "messages": [m.to_openai() for m in messages], **kwargs},
            )
        except (o.RateLimitError, o.APITimeoutError, o.APIConnectionError, o.InternalServerError) as e:
            raise TransientPolicyError(f"{type(e).__name__} from {self.base_url or 'OpenAI'}: {e}{_root_cause(e)}") from e
        except o.APIStatusError as e:
            if e.status_code >= 500 or e.status_code == 429:
                raise TransientPolicyError(f"HTTP {e.status_code} from {self.base_url or 'OpenAI'}: {e}") from e
            raise PolicyError(f"HTTP {e.status_code} from {self.base_url or 'OpenAI'}: {e.message}") from e
        choices = resp.get("choices") if isinstance(resp, dict) else None
        if not choices or not isinstance(choices[0], dict) or not isinstance(choices[0].get("message"), dict):
            raise TransientPolicyError(f"the endpoint returned no choices: {str(resp)[:200]}")
        try:
            msg = Message.from_openai({**choices[0]["message"], "role": "assistant", "name": None})
        except (KeyError, TypeError, ValueError) as e:
            raise PolicyError(f"the endpoint returned a malformed message: {str(choices[0])[:300]}") from e
        usage = resp.get("usage") or {}
        if usage:
            msg.usage = Usage(prompt_tokens=usage.get("prompt_tokens") or 0,
                              completion_tokens=usage.get("completion_tokens") or 0)
        return msg

    async def aclose(self) -> None:
        """Closes the current loop's client; the next ``act`` opens a new one."""
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            try:
                await client.close()
            except RuntimeError:  # its event loop is already closed: nothing left to release
                pass
