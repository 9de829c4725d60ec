"""serve-model answers every bad request with an OpenAI-shaped error and the right status:
hostile bodies (bad UTF-8, deep nesting, huge integers, out-of-range seeds), unknown routes and
methods, oversized bodies (413 before they are read), prompts that do not fit the context."""

from __future__ import annotations

import json
import socket

import httpx
import openai
import pytest

from agentgym.models.server import ModelServer

pytestmark = pytest.mark.train

MODEL = "tiny"
CONTEXT = 128
BODY_LIMIT = 64 * 1024
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server(tiny_path):
    with ModelServer(tiny_path, model_name=MODEL, max_model_len=CONTEXT, max_body_bytes=BODY_LIMIT) as s:
        yield s


@pytest.fixture
async def client(server):
    c = openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0)
    yield c
    await c.close()


def assert_openai_error(r: httpx.Response, status: int, needle: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert needle in err["message"], err["message"]
    return err


def body(**override) -> bytes:
    return json.dumps({"model": MODEL, "messages": HI, "max_tokens": 2, **override}).encode()


@pytest.mark.parametrize("raw, needle, param", [
    (b'{"model": "tiny", "messages": [{"role": "user", "content": "caf\xe9"}]}', "not valid UTF-8", None),
    (b'\xff\xfe{}', "not valid UTF-8", None),
    (body()[:-1] + b', "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply", None),
    (body()[:-1] + b', "x": ' + b"[" * 100 + b"]" * 100 + b"}", "nested too deeply", None),
    (body()[:-1] + b', "seed": 1' + b"0" * 4999 + b"}", "integer too long", None),
    (body(seed=2**70), "seed", "seed"),
    (body(seed=-(2**64)), "seed", "seed"),
    (body()[:-1] + b', "temperature": NaN}', "temperature", "temperature"),
    (body(logit_bias={"99999": 1}), "not in this model's vocabulary", "logit_bias"),
    (body(logit_bias={"5": 500}), "[-100, 100]", "logit_bias"),
    (b"[1, 2]", "must be a JSON object", None),
    (b"", "must be a JSON object", None),
    (b"{not json", "not valid JSON", None),
    (body(messages=[]), "messages", "messages"),
    (body(tool_choice="required"), "tool_choice requires `tools`", None),
])
async def test_hostile_bodies_get_400(server, raw, needle, param):
    async with httpx.AsyncClient() as h:
        r = await h.post(server.url + "/chat/completions", content=raw, headers={"content-type": "application/json"})
    err = assert_openai_error(r, 400, needle)
    assert err["type"] == "invalid_request_error" and err["param"] == param


async def test_seed_out_of_range_through_the_sdk_and_in_range_works(client):
    with pytest.raises(openai.BadRequestError, match="seed"):
        await client.chat.completions.create(model=MODEL, messages=HI, seed=2**70, max_tokens=2)
    for seed in (2**63 - 1, -(2**63), 0):
        r = await client.chat.completions.create(model=MODEL, messages=HI, seed=seed, max_tokens=2)
        assert r.usage.completion_tokens <= 2


async def test_lone_surrogates_are_accepted(server):
    raw = b'{"model": "tiny", "max_tokens": 2, "messages": [{"role": "user", "content": "hi \\ud83d there"}]}'
    async with httpx.AsyncClient() as h:
        r = await h.post(server.url + "/chat/completions", content=raw)
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] > 0


async def test_unknown_routes_and_methods(server, client):
    base = server.url.removesuffix("/v1")
    async with httpx.AsyncClient() as h:
        assert_openai_error(await h.get(base + "/v1/nope"), 404, "Invalid URL (GET /v1/nope)")
        assert_openai_error(await h.get(server.url + "/chat/completions"), 405, "POST /v1/chat/completions")
        err = assert_openai_error(await h.post(server.url + "/completions", json={"model": MODEL, "prompt": "x"}),
                                  404, "only chat completions")
        assert err["code"] == "unsupported_endpoint" and "/v1/chat/completions" in err["message"]
    with pytest.raises(openai.NotFoundError, match="/v1/chat/completions"):
        await client.completions.create(model=MODEL, prompt="hello")
    with pytest.raises(openai.NotFoundError, match="serves 'tiny'"):
        await client.chat.completions.create(model="gpt-9", messages=HI)


def post_raw(server, head: bytes, *chunks: bytes) -> tuple[bytes, dict]:
    """Sends raw bytes (no more than the server reads) and reads the response until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=60) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status, _, rest = data.partition(b"\r\n")
    return status, json.loads(rest.partition(b"\r\n\r\n")[2])["error"]


def test_oversized_body_is_refused_before_it_is_read(server):
    """Only the headers and one byte of a declared 10 MB body are sent: the 413 comes back anyway."""
    status, err = post_raw(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n{")
    assert b" 413 " in status
    assert str(BODY_LIMIT) in err["message"] and err["code"] == "request_too_large"


def test_oversized_streamed_body_is_refused(server):
    """A chunked body (no Content-Length) is counted as it arrives: refused once past the limit."""
    piece = b" " * 4096
    chunks = [b"1000\r\n" + piece + b"\r\n"] * (BODY_LIMIT // 4096 + 1)  # never terminated
    status, err = post_raw(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n", *chunks)
    assert b" 413 " in status and "over this server's limit" in err["message"]


async def test_context_length_errors_name_the_lengths(server, client):
    long = [{"role": "user", "content": "go north " * 200}]
    with pytest.raises(openai.BadRequestError) as e:
        await client.chat.completions.create(model=MODEL, messages=long)
    msg = e.value.body["message"]
    assert f"maximum context length is {CONTEXT} tokens" in msg and "the messages take" in msg
    assert e.value.body["code"] == "context_length_exceeded"
    huge = [{"role": "user", "content": "x" * 60_000}]  # refused before it is tokenized
    with pytest.raises(openai.BadRequestError, match="at least .* tokens long"):
        await client.chat.completions.create(model=MODEL, messages=huge)
    with pytest.raises(openai.BadRequestError, match=r"you requested \d+ tokens \(\d+ in the messages, 500 in"):
        await client.chat.completions.create(model=MODEL, messages=HI, max_tokens=500)


async def test_max_tokens_defaults_to_what_fits(client, tiny_tokenizer):
    """Without max_tokens the completion may fill the context: prompt + completion = the context length."""
    r = await client.chat.completions.create(model=MODEL, messages=HI, temperature=0,
                                             logit_bias={str(tiny_tokenizer.eos_token_id): -100})
    assert r.choices[0].finish_reason == "length"
    assert r.usage.prompt_tokens + r.usage.completion_tokens == CONTEXT


async def test_models_lists_the_context_length(client):
    models = await client.models.list()
    assert models.data[0].model_extra["max_model_len"] == CONTEXT
