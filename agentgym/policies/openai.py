"""``OpenAIPolicy``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, ``agentgym serve-model``).

    policy = OpenAIPolicy("gpt-4.1-mini")                                        # OPENAI_API_KEY
    policy = OpenAIPolicy("qwen", base_url="http://127.0.0.1:8000/v1", api_key_env="LOCAL_KEY")

The env's tools are sent as ``tools``; transient failures (429, 5xx, timeouts, connection
errors) surface as :class:`TransientPolicyError` and are retried by the rollout engine with
exponential backoff; anything else is a :class:`PolicyError` that fails the episode.

Context length: the server's ``max_model_len`` (``GET /v1/models``: vLLM and ``agentgym
serve-model`` report it) is read once. Without ``max_tokens`` the server gives each turn what
fits; a ``max_tokens`` larger than the context is refused up front, and one that no longer fits
a long conversation is cut to what fits. When nothing fits any more the policy raises
:class:`ContextLengthError` and the episode ends with termination ``context_length``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
from typing import Any

from ..errors import ConfigError, ContextLengthError, MissingDependencyError, PolicyError, TransientPolicyError
from ..types import Message, ToolSpec, Usage
from .wire import is_context_error

log = logging.getLogger("agentgym")

# error codes/types of an OpenAI-shaped error body that retrying cannot mend
FINAL_ERRORS = frozenset({"invalid_api_key", "insufficient_quota", "invalid_request_error", "authentication_error",
                          "permission_error", "not_found_error", "model_not_found", "billing_not_active"})
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")
_PROMPT_TOKENS = re.compile(r"(\d+) (?:tokens )?in the messages|messages take (\d+) tokens|messages resulted in (\d+) tokens")
_CONTEXT = re.compile(r"maximum context length is (\d+)")


def _chain(e: BaseException):
    """``e`` and the exceptions behind it (``__cause__`` / unsuppressed ``__context__``), outermost first."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)


def _root_cause(e: BaseException) -> str:
    """`` (cause: ConnectionRefusedError: ...)`` — the SDK's own message can hide it ("Request timed out.")."""
    *_, root = _chain(e)
    return "" if root is e else f" (cause: {type(root).__name__}: {root})"


def _count(value: Any) -> int:
    """A token count from a reply's ``usage``: a non-negative integer, else 0 (some servers send null or text)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if type(value) is int and value >= 0 else 0


def _refusal(e: BaseException) -> str | None:
    """Why nothing answered, when ``e`` comes from a refused connection or an unknown host, else None.

    The SDK's aiohttp transport reports a refused connection as ``APITimeoutError`` ("Request
    timed out."); the reason is further down the chain.
    """
    for x in _chain(e):
        refused = ("Connect call failed", "Connection refused")
        if isinstance(x, ConnectionRefusedError) or any(t in str(x) for t in refused):
            return f"connection refused ({x})"
        if isinstance(x, OSError) and ("Name or service not known" in str(x) or "nodename nor servname" in str(x)):
            return f"unknown host ({x})"
    return None


TRANSPORTS = ("auto", "direct", "aiohttp", "httpx")


def _transport(openai: Any, wanted: str) -> str:
    """``direct`` (chat requests straight over aiohttp: about half the bare SDK's client CPU a request) when
    aiohttp is installed, else ``httpx``; ``aiohttp`` / ``httpx`` send them through the SDK on that transport."""
    if wanted not in TRANSPORTS:
        raise ConfigError(f"transport must be one of {', '.join(TRANSPORTS)}, got {wanted!r}")
    if wanted == "httpx":
        return "httpx"
    has_aiohttp = importlib.util.find_spec("aiohttp") is not None
    if wanted in ("auto", "direct") and has_aiohttp:
        return "direct"
    if wanted == "aiohttp" and has_aiohttp and hasattr(openai, "DefaultAioHttpClient"):
        return "aiohttp"
    if wanted != "auto":
        raise MissingDependencyError("aiohttp", "all", f"the {wanted} transport of OpenAIPolicy")
    return "httpx"


class OpenAIPolicy:
    """Chat-completions policy. Extra ``sampling`` kwargs (temperature, max_tokens, ...) are passed through.

    ``transport``: ``auto`` (``direct`` when aiohttp is installed, as with agentgym's dependencies,
    else ``httpx``); ``direct`` posts chat requests straight over aiohttp (:mod:`agentgym.policies.wire`:
    the SDK's URL, headers and error mapping without its per-request pipeline); ``aiohttp`` and
    ``httpx`` send them through the openai SDK on that transport.
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
                    f"no API key for {base_url or 'the OpenAI API'}: set the environment variable {api_key_env}, "
                    f"or pass OpenAIPolicy(..., api_key=KEY) or api_key_env=\"OTHER_VARIABLE\" "
                    "(a local server needs none: base_url=\"http://127.0.0.1:8000/v1\")"
                )
        for name in ("max_tokens", "max_completion_tokens"):
            value = sampling.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be an integer >= 1 (or omitted: what fits), got {value!r}")
        self.transport = _transport(openai, transport)
        self._asked = transport  # "auto" may still move from direct to httpx (a proxy aiohttp cannot use)
        self._key, self._timeout = key, timeout
        self._client: Any = None
        self._wire: Any = None   # ChatWire of the direct transport, built from wire_spec()
        self._wire_spec: tuple[str, dict[str, str]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.tool_choice = tool_choice
        self.sampling = sampling
        self._openai = openai
        self.context_length: int | None = None   # the server's max_model_len, once read
        self._context_known = False
        self._models_missing = False
        self._served: list[str] = []   # model ids GET /models listed
        self._context_read: asyncio.Task | None = None
        self._tools_wire: dict[tuple[int, ...], tuple[tuple[ToolSpec, ...], list[dict[str, Any]]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Settings only (for worker processes, ``agentgym.run(..., workers=N)``): the client, its
        event loop and the openai module are rebuilt where the copy runs."""
        state = dict(self.__dict__)
        if self.transport == "direct":
            state["_wire_spec"] = self.wire_spec()  # so a worker posts without importing the SDK (~0.4 s)
        state.update(_openai=None, _client=None, _wire=None, _loop=None, _context_read=None, _tools_wire={})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._openai is None and self.transport != "direct":
            import openai

            self._openai = openai

    @property
    def _sdk(self) -> Any:
        """The openai module, imported when first needed (a worker on the direct transport never does)."""
        if self._openai is None:
            import openai

            self._openai = openai
        return self._openai

    def wire_spec(self) -> tuple[str, dict[str, str]]:
        """``(base URL, headers)`` the SDK would use (``OPENAI_BASE_URL``, key, organization, project,
        user agent), read once from a client that is never used."""
        if self._wire_spec is None:
            o = self._sdk  # its own http client never sends: trust_env=False so no proxy variable is parsed
            client = o.AsyncOpenAI(api_key=self._key, base_url=self.base_url, max_retries=0,
                                   http_client=o.DefaultAsyncHttpxClient(trust_env=False))
            headers = {**client.default_headers, **client.auth_headers}
            self._wire_spec = (str(client.base_url), {k: v for k, v in headers.items() if isinstance(v, str)})
        return self._wire_spec

    @property
    def client(self) -> Any:
        """The ``AsyncOpenAI`` client of the running event loop (one per loop: connections are bound to it).

        So one policy serves several ``agentgym.run`` calls, each with its own ``asyncio.run``.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            o = self._sdk
            try:
                http_client = o.DefaultAioHttpClient() if self.transport in ("aiohttp", "direct") else None
                self._client = o.AsyncOpenAI(api_key=self._key, base_url=self.base_url, timeout=self._timeout,
                                             max_retries=0, http_client=http_client)
            except ImportError as e:  # httpx met a SOCKS proxy in the environment without socksio
                raise ConfigError(f"the openai client could not be built: {e}") from None
            self._loop = loop
        return self._client

    async def act(self, messages: list[Message], tools: list[ToolSpec]) -> Message:
        kwargs: dict[str, Any] = dict(self.sampling)
        if tools:
            kwargs["tools"] = self._wire_tools(tools)
            if self.tool_choice:
                kwargs["tool_choice"] = self.tool_choice
        if self.base_url and not self._context_known and self._budget_key(kwargs):
            await self.read_context_length()
        body = {"model": self.model, "messages": [m.to_openai() for m in messages], **kwargs}
        try:
            resp = await self._post(body)
        except ContextLengthError as e:
            fits = self._what_fits(e, kwargs)  # a fixed max_tokens that a long conversation outgrew
            if fits is None:
                raise
            resp = await self._post({**body, self._budget_key(kwargs): fits})
        choices = resp.get("choices") if isinstance(resp, dict) else None
        if not choices or not isinstance(choices[0], dict) or not isinstance(choices[0].get("message"), dict):
            error = resp.get("error") if isinstance(resp, dict) else None
            if error:  # a gateway that answers 200 with an OpenAI-shaped error: judged by its code and type
                error = error if isinstance(error, dict) else {"message": error}
                said = str(error.get("message"))
                text = f"the endpoint answered HTTP 200 with an error instead of a reply: {said[:300]}"
                if is_context_error(400, error.get("code"), said):
                    raise ContextLengthError(text)
                if {str(error.get("code")), str(error.get("type"))} & FINAL_ERRORS:  # bad key, no credit, ...
                    raise PolicyError(text)  # retrying cannot help
                raise TransientPolicyError(text)
            raise TransientPolicyError(f"the endpoint returned no choices: {str(resp)[:200]}")
        try:
            msg = Message.from_openai({**choices[0]["message"], "role": "assistant", "name": None})
        except (KeyError, TypeError, ValueError) as e:
            raise PolicyError(f"the endpoint returned a malformed message: {str(choices[0])[:300]}") from e
        usage = resp.get("usage")
        if isinstance(usage, dict) and usage:  # bookkeeping only: a count that is not one reads as 0
            msg.usage = Usage(prompt_tokens=_count(usage.get("prompt_tokens")),
                              completion_tokens=_count(usage.get("completion_tokens")))
        return msg

    def _wire_tools(self, tools: list[ToolSpec]) -> list[dict[str, Any]]:
        """The tools' wire form, converted once per set of ToolSpec objects (an episode sends the same
        list every turn). The cache holds the specs themselves, so their ids stay theirs."""
        key = tuple(map(id, tools))
        hit = self._tools_wire.get(key)
        if hit is None:
            if len(self._tools_wire) >= 256:
                self._tools_wire.clear()
            hit = self._tools_wire[key] = (tuple(tools), [t.to_openai() for t in tools])
        return hit[1]

    def _post(self, body: dict[str, Any]) -> Any:
        """``POST /chat/completions`` on this policy's transport."""
        return self._post_direct(body) if self.transport == "direct" else self._post_sdk(body)

    def _post_direct(self, body: dict[str, Any]) -> Any:
        """Without the SDK's request pipeline (the same URL, headers and errors)."""
        wire = self._wire
        if wire is None:
            from .wire import ChatWire, UnsupportedProxy

            url, headers = self.wire_spec()
            try:
                wire = self._wire = ChatWire(url, headers, self._timeout, self.base_url or "OpenAI")
            except UnsupportedProxy as e:
                if self._asked != "auto":
                    raise ConfigError(f"{e}: transport='direct' speaks through http:// proxies only; use "
                                      "transport='httpx' (the SDK's client takes https:// and socks proxies)") from None
                log.warning("agentgym: %s; OpenAIPolicy sends through the SDK's httpx client instead", e)
                self.transport = "httpx"  # what the SDK does with it, at the SDK's cost per request
                return self._post_sdk(body)
        return wire.post(body)

    async def _post_sdk(self, body: dict[str, Any]) -> Any:
        o = self._sdk
        where = self.base_url or "OpenAI"
        try:
            # client.post skips the SDK's per-request TypedDict transform (7 ms for a long chat) and
            # cast_to=dict its ChatCompletion model construction (~0.7 ms): the payload is already
            # plain wire-format JSON and Message parses the reply itself. Errors still map to the
            # SDK's exception types.
            return await self.client.post("/chat/completions", cast_to=dict, body=body)
        except o.APIConnectionError as e:  # APITimeoutError included
            refused = _refusal(e)
            if refused:
                raise TransientPolicyError(f"cannot connect to {where}: {refused}; is the server running, "
                                           "and are host and port right?") from e
            raise TransientPolicyError(f"{type(e).__name__} from {where}: {e}{_root_cause(e)}") from e
        except (o.RateLimitError, o.InternalServerError) as e:
            raise TransientPolicyError(f"{type(e).__name__} from {where}: {e}{_root_cause(e)}") from e
        except o.APIStatusError as e:
            if e.status_code >= 500 or e.status_code == 429:
                raise TransientPolicyError(f"HTTP {e.status_code} from {where}: {e}") from e
            err = e.body.get("error", e.body) if isinstance(e.body, dict) else None  # the SDK may unwrap it
            if is_context_error(e.status_code, err.get("code") if isinstance(err, dict) else None, str(e.message)):
                raise ContextLengthError(f"HTTP {e.status_code} from {where}: {e.message}") from e
            raise PolicyError(f"HTTP {e.status_code} from {where}: {e.message}") from e

    @staticmethod
    def _budget_key(kwargs: dict[str, Any]) -> str | None:
        """The completion-budget field the user set (``max_tokens`` / ``max_completion_tokens``), if any."""
        return next((k for k in ("max_completion_tokens", "max_tokens") if kwargs.get(k) is not None), None)

    def _what_fits(self, err: ContextLengthError, kwargs: dict[str, Any]) -> int | None:
        """The completion budget that fits after ``err``, when a smaller one than asked would help."""
        key = self._budget_key(kwargs)
        if key is None:
            return None
        text = str(err)
        m = _PROMPT_TOKENS.search(text)
        context = self.context_length
        if context is None and (c := _CONTEXT.search(text)):
            context = int(c.group(1))
        if not m or context is None:
            return None
        prompt = int(next(g for g in m.groups() if g))
        room = context - prompt
        return room if 1 <= room < kwargs[key] else None

    async def preflight(self) -> None:
        """Checks, once before a run, that the endpoint answers and that ``max_tokens`` fits its context.

        Raises :class:`ConfigError` when nothing listens at the endpoint (connection refused, unknown
        host: also the OpenAI API when there is no network) or ``max_tokens`` alone exceeds the server's context; other answers (no ``/models`` route)
        leave the checks to the chat requests.
        """
        await self.read_context_length(refused_is_error=True)
        base = str(self.client.base_url).rstrip("/")
        if self._served and self.model not in self._served:
            import difflib

            close = difflib.get_close_matches(self.model, self._served, n=3, cutoff=0.3)
            listed = ", ".join(repr(m) for m in (close or self._served[:5]))
            raise ConfigError(f"{base} does not serve a model named {self.model!r}; "
                              f"{'did you mean' if close else 'it serves'} {listed}? (--model NAME). "
                              "Nothing was written.")
        if self._models_missing and not base.endswith("/v1"):
            try:  # the usual mistake: http://host:8000 for http://host:8000/v1
                await self.client.get(base + "/v1/models", cast_to=dict)
            except Exception:
                return
            raise ConfigError(f"{base} answers 404 for /models but {base}/v1/models exists: the base URL of an "
                              f"OpenAI-compatible server ends in /v1 (--base-url {base}/v1). Nothing was written.")

    async def read_context_length(self, *, refused_is_error: bool = False) -> int | None:
        """The server's context length (``max_model_len`` of this model in ``GET /v1/models``), read once.

        ``None`` when the server does not report it (the OpenAI API does not). A ``max_tokens``
        that alone exceeds it is a :class:`ConfigError`.
        """
        if not self._context_known:
            loop = asyncio.get_running_loop()
            if self._context_read is None or self._context_read.get_loop() is not loop:
                self._context_read = loop.create_task(self._fetch_context_length())
            answered, value, refused = await asyncio.shield(self._context_read)
            if refused and refused_is_error:
                self._context_read = None
                where = str(self.client.base_url).rstrip("/")  # base_url, else OPENAI_BASE_URL or the OpenAI API
                advice = ("Is the server running (e.g. `agentgym serve-model DIR --port 8000`), and are host and "
                          "port right?" if refused.startswith("connection refused") else
                          "Check the host name and that this machine has a network (or set --base-url / "
                          "OPENAI_BASE_URL to a local server).")
                raise ConfigError(f"cannot connect to {where}: {refused}. {advice} Nothing was written.")
            if answered:
                self.context_length, self._context_known = value, True
            else:
                self._context_read = None  # ask again next time (the server may be starting)
        key = self._budget_key(self.sampling)
        if key and self.context_length and self.sampling[key] >= self.context_length:
            raise ConfigError(f"{key}={self.sampling[key]} (--max-tokens) leaves no room for the messages: the model "
                              f"{self.model!r} at {self.base_url} has a context of {self.context_length} tokens "
                              f"(prompt + completion); ask for fewer, or omit it to get what fits each turn")
        return self.context_length

    async def _fetch_context_length(self) -> tuple[bool, int | None, str | None]:
        """``(answered, max_model_len, refusal)``: whether the server answered, its length, why it did not."""
        o = self._sdk
        try:
            listing = await self.client.get("/models", cast_to=dict)
        except o.APIConnectionError as e:
            return False, None, _refusal(e)  # None: a timeout, not a refusal (the server may be busy)
        except o.NotFoundError:
            self._models_missing = True  # perhaps a base URL without its /v1 (preflight checks)
            return True, None, None
        except Exception:  # a key it refuses, ...: the chat request will say why
            return True, None, None
        rows = listing.get("data") if isinstance(listing, dict) else None
        self._served = [r["id"] for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)] \
            if isinstance(rows, list) else []
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("id") == self.model:
                value = row.get("max_model_len")
                return True, (value if isinstance(value, int) and value > 0 else None), None
        return True, None, None

    async def aclose(self) -> None:
        """Closes the current loop's client; the next ``act`` opens a new one."""
        client, self._client, self._loop = self._client, None, None
        if self._wire is not None:
            await self._wire.close()
        if client is not None:
            try:
                await client.close()
            except RuntimeError:  # its event loop is already closed: nothing left to release
                pass
        self._context_read = None  # bound to the old loop


