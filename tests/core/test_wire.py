"""OpenAIPolicy's direct transport (agentgym.policies.wire): the request the SDK would send, typed errors."""

import asyncio
import json
import re

import pytest

import agentgym
from agentgym.errors import ConfigError, ContextLengthError, PolicyError, TransientPolicyError
from agentgym.policies.openai import OpenAIPolicy
from agentgym.policies.wire import ChatWire, encode
from agentgym.testing import StubOpenAIServer


async def _two_turns(transport: str) -> tuple[list[dict], list[dict]]:
    with StubOpenAIServer(deterministic=True) as server:
        policy = OpenAIPolicy("stub", base_url=server.url, api_key="sk-test", transport=transport, temperature=0.5)
        t = await agentgym.rollout(agentgym.make("toy/maze", max_turns=3), policy, seed=7)
        await policy.aclose()
        assert t.termination in ("max_turns", "done") and t.error is None
        return server.requests, server.headers


async def test_direct_sends_what_the_sdk_sends(monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-42")
    direct, direct_headers = await _two_turns("direct")
    sdk, sdk_headers = await _two_turns("aiohttp")
    assert direct == sdk and len(direct) == 3  # the same bodies, turn by turn
    assert direct[0]["temperature"] == 0.5 and direct[0]["tools"][1]["function"]["name"] == "move"
    for name in ("authorization", "openai-organization", "user-agent", "content-type"):
        assert direct_headers[0][name] == sdk_headers[0][name], name
    assert direct_headers[0]["authorization"] == "Bearer sk-test"


async def _raw_server(answer: bytes) -> tuple[asyncio.AbstractServer, str]:
    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"


def _http(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


@pytest.mark.parametrize("answer, error, text", [
    (_http("200 OK", b"<html>proxy</html>"), TransientPolicyError, "returned no JSON (HTTP 200): <html>proxy"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choi", TransientPolicyError, "APIConnectionError"),
    (_http("401 Unauthorized", b'{"error": {"message": "bad key"}}'), PolicyError, "HTTP 401 from"),
    (_http("429 Too Many", b'{"error": {"message": "slow down"}}'), TransientPolicyError, "RateLimitError from"),
    (_http("502 Bad Gateway", b"upstream down"), TransientPolicyError, "HTTP 502: upstream down"),
    (_http("400 Bad Request", b'{"error": {"message": "This model\'s maximum context length is 8 tokens"}}'),
     ContextLengthError, "maximum context length"),
])
async def test_every_answer_that_is_not_a_reply_is_a_typed_error(answer, error, text):
    server, url = await _raw_server(answer)
    wire = ChatWire(url, {"Authorization": "Bearer k"}, timeout=5, where=url)
    try:
        with pytest.raises(error, match=re.escape(text)) as info:
            await wire.post({"model": "m", "messages": []})
        if error is PolicyError:
            assert not isinstance(info.value, TransientPolicyError)  # a bad key is not retried
    finally:
        await wire.close()
        server.close()


async def test_a_server_that_never_answers_times_out():
    async def handle(reader, writer):
        await asyncio.sleep(5)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    wire = ChatWire(url, {}, timeout=0.3, where=url)
    with pytest.raises(TransientPolicyError, match="no answer within 0.3 s"):
        await wire.post({"model": "m", "messages": []})
    await wire.close()
    server.close()


def test_bodies_orjson_refuses_still_encode():
    assert json.loads(encode({"a": "\ud800", "b": [1, 2]})) == {"a": "\ud800", "b": [1, 2]}  # a lone surrogate
    assert json.loads(encode({"n": 10 ** 30})) == {"n": 10 ** 30}  # beyond 64 bits


async def test_direct_goes_through_the_proxy_the_environment_names(monkeypatch):
    """HTTP(S)_PROXY / NO_PROXY as the SDK honours them: a user behind a proxy is not cut off by the default transport."""
    from aiohttp import ClientSession, web

    with StubOpenAIServer(deterministic=True) as server:
        origin = server.url.rsplit("/v1", 1)[0]
        seen = []

        async def forward(request):
            seen.append(str(request.url))
            async with ClientSession() as s:
                async with s.post(origin + request.path_qs, data=await request.read(),
                                  headers={"Content-Type": "application/json",
                                           "Authorization": request.headers["Authorization"]}) as r:
                    return web.Response(status=r.status, body=await r.read(), content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        try:
            for name in ("NO_PROXY", "HTTPS_PROXY", "ALL_PROXY", "HTTP_PROXY"):
                monkeypatch.delenv(name, raising=False)
                monkeypatch.delenv(name.lower(), raising=False)
            for variable in ("HTTP_PROXY", "all_proxy"):  # the scheme's own variable, or the catch-all
                monkeypatch.setenv(variable, proxy)
                # a host that resolves nowhere: only the proxy can deliver the request
                policy = OpenAIPolicy("stub", base_url="http://api.agentgym.invalid/v1", api_key="sk-test")
                reply = await policy.act([agentgym.Message.user("hi")], [])
                await policy.aclose()
                monkeypatch.delenv(variable)
                assert reply.role == "assistant" and seen[-1] == "http://api.agentgym.invalid/v1/chat/completions"
            assert len(seen) == 2
            monkeypatch.setenv("HTTP_PROXY", proxy)
            monkeypatch.setenv("no_proxy", "api.agentgym.invalid")  # bypassed: a direct connection, which fails
            policy = OpenAIPolicy("stub", base_url="http://api.agentgym.invalid/v1", api_key="sk-test")
            with pytest.raises(TransientPolicyError, match="cannot connect"):
                await policy.act([agentgym.Message.user("hi")], [])
            await policy.aclose()
            assert len(seen) == 2
        finally:
            await runner.cleanup()


def _reply(**fields) -> bytes:
    body = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                    "finish_reason": "stop"}], **fields}
    return _http("200 OK", json.dumps(body).encode())


@pytest.mark.parametrize("transport", ["direct", "aiohttp"])
@pytest.mark.parametrize("answer, error, text", [
    (_http("200 OK", b'{"error": {"message": "upstream overloaded", "type": "server_error"}}'), TransientPolicyError,
     "answered HTTP 200 with an error instead of a reply: upstream overloaded"),
    (_http("200 OK", b'{"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}'), PolicyError,
     "answered HTTP 200 with an error instead of a reply: Incorrect API key"),
    (_http("200 OK", b'{"error": {"message": "too long", "code": "context_length_exceeded"}}'), ContextLengthError,
     "too long"),
    (_http("200 OK", b'{"id": "x", "choices": []}'), TransientPolicyError, "returned no choices"),
    (_http("200 OK", b'[1, 2]'), TransientPolicyError, "returned no choices: [1, 2]"),
    (_http("200 OK", b'{"choices": [{"message": {"role": "assistant", "tool_calls": [{"id": "c"}]}}]}'),
     PolicyError, "returned a malformed message"),
])
async def test_a_200_that_is_not_a_reply_is_a_typed_error_on_either_transport(answer, error, text, transport):
    server, url = await _raw_server(answer)
    policy = OpenAIPolicy("m", base_url=url, api_key="k", transport=transport)
    try:
        with pytest.raises(error, match=re.escape(text)) as info:
            await policy.act([agentgym.Message.user("hi")], [])
        if error is PolicyError:
            assert not isinstance(info.value, TransientPolicyError)  # a bad key is not retried
    finally:
        await policy.aclose()
        server.close()


@pytest.mark.parametrize("transport", ["direct", "aiohttp"])
@pytest.mark.parametrize("usage, counted", [
    ({"prompt_tokens": "a", "completion_tokens": None}, (0, 0)),   # what some servers send: not an error
    ({"prompt_tokens": 12.0, "completion_tokens": -3}, (12, 0)),
    ("lots", None),
])
async def test_usage_that_is_not_counts_never_ends_an_episode(usage, counted, transport):
    server, url = await _raw_server(_reply(usage=usage))
    policy = OpenAIPolicy("m", base_url=url, api_key="k", transport=transport)
    try:
        msg = await policy.act([agentgym.Message.user("hi")], [])
    finally:
        await policy.aclose()
        server.close()
    assert msg.content == "hi"
    got = (msg.usage.prompt_tokens, msg.usage.completion_tokens) if msg.usage else None
    assert got == counted


async def test_a_proxy_aiohttp_cannot_use_is_named_or_left_to_the_sdk(monkeypatch):
    for name in ("NO_PROXY", "HTTPS_PROXY", "ALL_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "socks5://user:secret@127.0.0.1:9")
    policy = OpenAIPolicy("m", base_url="http://api.agentgym.invalid/v1", api_key="k", transport="direct")
    with pytest.raises(ConfigError, match="socks5://127.0.0.1:9 .*is not http://.*transport='httpx'") as info:
        await policy.act([agentgym.Message.user("hi")], [])
    assert "secret" not in str(info.value)
    policy = OpenAIPolicy("m", base_url="http://api.agentgym.invalid/v1", api_key="k")  # auto: the SDK's way
    with pytest.raises((ConfigError, TransientPolicyError), match="socksio|cannot connect|APIConnectionError"):
        await policy.act([agentgym.Message.user("hi")], [])  # httpx wants socksio, or no socks proxy listens there
    assert policy.transport == "httpx"
    await policy.aclose()


@pytest.mark.parametrize("variables, url, through", [
    ({"HTTP_PROXY": "PROXY"}, "http://api.example/v1", True),
    ({"http_proxy": "127.0.0.1:3128"}, "http://api.example/v1", "http://127.0.0.1:3128"),  # no scheme: http://
    ({"ALL_PROXY": "PROXY"}, "https://api.example/v1", True),
    ({"HTTPS_PROXY": "PROXY", "NO_PROXY": "example"}, "https://api.example/v1", False),
    ({"HTTPS_PROXY": "PROXY", "no_proxy": "10.0.0.0/8"}, "https://10.1.2.3:8000/v1", False),
    ({"HTTPS_PROXY": "PROXY", "no_proxy": "10.0.0.0/8"}, "https://11.1.2.3:8000/v1", True),
    ({"HTTP_PROXY": "PROXY", "NO_PROXY": "vllm:8000"}, "http://vllm:8000/v1", False),
    ({"HTTP_PROXY": "PROXY", "NO_PROXY": "vllm:8000"}, "http://vllm:9000/v1", True),
    ({"HTTP_PROXY": "http://user:pw@127.0.0.1:3128"}, "http://api.example/v1", "http://127.0.0.1:3128"),
])
def test_env_proxy_reads_the_variables_as_httpx_does(monkeypatch, variables, url, through):
    from agentgym.policies.wire import env_proxy

    for name in ("NO_PROXY", "HTTPS_PROXY", "ALL_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value.replace("PROXY", "http://127.0.0.1:3128"))
    proxy, headers = env_proxy(url)
    if through is False:
        assert proxy is None
    else:
        assert proxy == (through if isinstance(through, str) else "http://127.0.0.1:3128")
    if "user:pw" in str(variables):  # sent as a header, never in the URL
        assert headers == {"Proxy-Authorization": "Basic dXNlcjpwdw=="}
