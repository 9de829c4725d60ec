"""The direct chat transport of :class:`~agentgym.policies.openai.OpenAIPolicy` (``transport="direct"``,
the default): ``POST {base_url}/chat/completions`` on one aiohttp session per event loop, the body
encoded once, the reply decoded once, no SDK request pipeline in between.

The openai SDK builds an httpx request, headers and URL for every call and then hands it to its
transport: about 0.7 ms of client CPU a request here, four times what the HTTP exchange itself
costs (``benchmarks/bench_rollout.py``). vLLM's and SGLang's own benchmark clients speak to the
server the same way. The SDK still supplies the base URL (``OPENAI_BASE_URL``), the headers it
would send (user agent, organization, project) and serves ``GET /models``; errors map onto the
policy's own types exactly as the SDK's do::

    wire = ChatWire(base_url="http://127.0.0.1:8000/v1", headers={"Authorization": "Bearer k"}, timeout=60)
    reply = await wire.post(body)      # the JSON reply, or TransientPolicyError / PolicyError / ContextLengthError
    await wire.close()
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ..errors import ContextLengthError, PolicyError, TransientPolicyError

try:  # several times faster than json for chat bodies; json when it is missing or refuses a value
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson comes with agentgym's dependencies
    _orjson = None

CLOSE_S = 5.0  # longest wait for the session's connections to close
RETRYABLE = frozenset({408, 409, 429})  # and every 5xx: what the SDK retries too
# the SDK's exception names, so messages read the same whichever transport sent the request
SDK_ERRORS = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError", 404: "NotFoundError",
              409: "ConflictError", 422: "UnprocessableEntityError", 429: "RateLimitError"}


def encode(body: dict[str, Any]) -> bytes:
    """``body`` as JSON bytes (orjson; the stdlib for what orjson refuses, e.g. a lone surrogate)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(body)
        except (TypeError, _orjson.JSONEncodeError):
            pass
    return json.dumps(body, separators=(",", ":")).encode()


def decode(data: bytes) -> Any:
    return _orjson.loads(data) if _orjson is not None else json.loads(data)


def error_fields(status: int, data: bytes) -> tuple[str, Any]:
    """``(error.message, error.code)`` of an OpenAI-shaped error body; else the body's first 300
    characters and no code."""
    try:
        body = decode(data)
    except ValueError:
        body = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return err["message"], err.get("code", body.get("code"))
    if isinstance(err, str):
        return err, body.get("code")  # type: ignore[union-attr]
    text = data[:300].decode("utf-8", "replace").strip()
    return text or f"HTTP {status}", None


def is_context_error(status: int, code: Any, message: str) -> bool:
    """An error answer saying the conversation does not fit the model's context (vLLM, OpenAI,
    serve-model): HTTP 400 with code ``context_length_exceeded`` or "maximum context length" in its message.
    Both transports judge by this one rule."""
    return status == 400 and (code == "context_length_exceeded" or "maximum context length" in message)


class UnsupportedProxy(ValueError):
    """The environment names a proxy aiohttp cannot speak through (``https://``, ``socks5://``)."""


def env_proxy(url: str) -> tuple[str | None, dict[str, str] | None]:
    """``(proxy URL, proxy headers)`` the environment names for ``url`` (``HTTPS_PROXY``/``HTTP_PROXY``, then
    ``ALL_PROXY``, upper or lower case; a proxy without a scheme is ``http://``), ``(None, None)`` for a direct
    connection: as httpx (the SDK's client) reads them, ``NO_PROXY`` entries included (``*``, domains and their
    subdomains, ``host:port``, IP networks like ``10.0.0.0/8``). Read once: aiohttp's own ``trust_env`` would
    re-read the environment every request. Raises :class:`UnsupportedProxy` for a proxy that is not ``http://``."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or _bypassed(parts.hostname or "", parts.port, proxies.get("no", "")):
        return None, None
    if "://" not in proxy:
        proxy = "http://" + proxy
    if not proxy.lower().startswith("http://"):
        scheme, _, rest = proxy.partition("://")
        raise UnsupportedProxy(f"the environment's proxy {scheme}://{rest.split('@')[-1]} for {url} is not http://")
    import base64

    from yarl import URL

    address = URL(proxy)
    if not address.user:
        return str(address), None
    token = base64.b64encode(f"{address.user}:{address.password or ''}".encode()).decode()
    return str(address.with_user(None)), {"Proxy-Authorization": f"Basic {token}"}


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` sends ``host`` (on ``port``) around the proxy."""
    import ipaddress

    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:  # an IP network
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, wanted_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if wanted_port and (not wanted_port.isdigit() or int(wanted_port) != port):
            continue
        name = name.lstrip(".").lstrip("*.") if name else entry
        if host == name or host.endswith("." + name):
            return True
    return False


class ChatWire:
    """One aiohttp session per event loop posting chat requests (so one policy serves several
    ``asyncio.run`` calls, as the SDK client does)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float, where: str):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.headers = {**headers, "Content-Type": "application/json", "Accept": "application/json"}
        self.timeout, self.where = timeout, where
        self.proxy, self.proxy_headers = env_proxy(self.url)  # credentials in the URL: a Proxy-Authorization header
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_here(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            # no pool limit: the engine's concurrency bounds the requests in flight
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                                  timeout=aiohttp.ClientTimeout(total=self.timeout))
            self._loop = loop
        return self._session

    async def post(self, body: dict[str, Any]) -> Any:
        """The decoded reply of a 2xx answer; a typed policy error for anything else."""
        import aiohttp

        session = self._session_here()
        try:
            async with session.post(self.url, data=encode(body), headers=self.headers, proxy=self.proxy,
                                    proxy_headers=self.proxy_headers) as resp:
                status, data = resp.status, await resp.read()
        except asyncio.TimeoutError as e:
            raise TransientPolicyError(f"APITimeoutError from {self.where}: no answer within {self.timeout} s "
                                       "(OpenAIPolicy(timeout=...))") from e
        except aiohttp.ClientConnectorError as e:
            why = e.os_error if isinstance(e.os_error, ConnectionRefusedError) else e
            reason = "connection refused" if isinstance(why, ConnectionRefusedError) else "cannot open a connection"
            raise TransientPolicyError(f"cannot connect to {self.where}: {reason} ({e}); is the server running, "
                                       "and are host and port right?") from e
        except aiohttp.ClientError as e:  # disconnected mid-answer, a broken payload, ...
            raise TransientPolicyError(f"APIConnectionError from {self.where}: {type(e).__name__}: {e}") from e
        if status < 300:
            try:
                return decode(data)
            except ValueError:
                raise TransientPolicyError(f"the endpoint returned no JSON (HTTP {status}): "
                                           f"{data[:200].decode('utf-8', 'replace')}") from None
        message, code = error_fields(status, data)
        text = f"HTTP {status} from {self.where}: {message}"
        if status >= 500 or status in RETRYABLE:
            name = "InternalServerError" if status >= 500 else SDK_ERRORS.get(status, "APIStatusError")
            raise TransientPolicyError(f"{name} from {self.where}: HTTP {status}: {message}")
        if is_context_error(status, code, message):
            raise ContextLengthError(text)
        raise PolicyError(text)

    async def close(self) -> None:
        session, self._session, self._loop = self._session, None, None
        if session is not None and not session.closed:
            try:  # bounded: a run being interrupted must not wait on a peer that never closes
                await asyncio.wait_for(session.close(), CLOSE_S)
            except (RuntimeError, asyncio.TimeoutError):  # its event loop is already closed / a stuck peer
                pass


__all__ = ["ChatWire", "encode", "decode"]
