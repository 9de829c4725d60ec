"""serve-model under concurrency, over real HTTP with the real openai client: batching, per-request
sampling in a batch, disconnects cancelling generation, the waiting-queue bound (429 + Retry-After).

Assertions are on the counters the server exposes (``GET /stats``), never on wall time.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from agentgym.models.server import ModelServer

pytestmark = pytest.mark.train

MODEL = "tiny"
BATCH, WAITING = 8, 8


@pytest.fixture(scope="module")
def server(tiny_path):
    with ModelServer(tiny_path, model_name=MODEL, max_batch_size=BATCH, max_waiting=WAITING) as s:
        yield s


@pytest.fixture
async def client(server):
    c = openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0)
    yield c
    await c.close()


async def stats(server) -> dict:
    async with httpx.AsyncClient() as h:
        r = await h.get(server.url.removesuffix("/v1") + "/stats")
    r.raise_for_status()
    return r.json()


async def wait_for(server, predicate, what: str, limit: int = 3000) -> dict:
    """Polls /stats until ``predicate(stats)`` holds (a condition, not a timing assertion)."""
    for _ in range(limit):
        s = await stats(server)
        if predicate(s):
            return s
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server never reached: {what}; last stats {s}")


def prompts(n: int) -> list[list[dict]]:
    """Prompts of different lengths, so the batch needs left padding."""
    return [[{"role": "user", "content": "go north " * (1 + 3 * i)}] for i in range(n)]


async def test_concurrent_requests_share_generate_batches(server, client):
    """8 requests sent together are prefilled in one batch and decoded together, and give exactly
    what each gives alone (greedy, different prompt lengths, different stop strings)."""
    stops = [None, ["th"], None, ["o"], None, None, ["no"], None]
    alone = [await client.chat.completions.create(model=MODEL, messages=m, temperature=0, max_tokens=12, stop=s)
             for m, s in zip(prompts(8), stops)]
    before = await stats(server)
    server.engine.pause()
    try:
        tasks = [asyncio.ensure_future(client.chat.completions.create(model=MODEL, messages=m, temperature=0,
                                                                      max_tokens=12, stop=s))
                 for m, s in zip(prompts(8), stops)]
        await wait_for(server, lambda s: s["waiting"] == 8, "8 requests waiting")
    finally:
        server.engine.resume()
    together = await asyncio.gather(*tasks)
    after = await stats(server)
    assert after["prefill_batches"] - before["prefill_batches"] == 1  # not 8
    assert after["max_batch_size_seen"] == 8
    assert after["decode_steps"] - before["decode_steps"] < 8 * 12  # shared decode steps
    assert after["completed"] - before["completed"] == 8
    for a, b in zip(alone, together):
        assert a.choices[0].message.content == b.choices[0].message.content
        assert a.choices[0].finish_reason == b.choices[0].finish_reason
        assert a.usage == b.usage


async def test_seeded_sampling_is_reproducible_inside_a_batch(server, client):
    """A seed gives the same sample alone and batched with other sampled requests (own generator per row)."""
    ask = dict(model=MODEL, messages=prompts(1)[0], temperature=1.0, max_tokens=16, seed=1234)
    alone = await client.chat.completions.create(**ask)
    server.engine.pause()
    try:
        tasks = [asyncio.ensure_future(client.chat.completions.create(**{**ask, "seed": seed}))
                 for seed in (1, 1234, 2, 3)]
        await wait_for(server, lambda s: s["waiting"] == 4, "4 requests waiting")
    finally:
        server.engine.resume()
    batched = await asyncio.gather(*tasks)
    assert batched[1].choices[0].message.content == alone.choices[0].message.content
    assert len({r.choices[0].message.content for r in batched}) > 1  # other seeds, other samples


async def test_requests_arriving_during_decoding_join_the_batch(server, client, tiny_tokenizer):
    """Continuous batching: a request sent while another decodes is served alongside it, not after it."""
    before = await stats(server)
    long = asyncio.ensure_future(client.chat.completions.create(
        model=MODEL, messages=prompts(1)[0], temperature=0, max_tokens=3000,
        logit_bias={str(tiny_tokenizer.eos_token_id): -100}))
    await wait_for(server, lambda s: s["running"] == 1, "one request decoding")
    short = await client.chat.completions.create(model=MODEL, messages=prompts(2)[1], temperature=0, max_tokens=4)
    during = await stats(server)
    long.cancel()
    assert short.usage.completion_tokens <= 4
    assert during["running"] == 1  # the long one was still decoding when the short one was answered
    assert during["completed"] == before["completed"] + 1
    assert during["prefill_batches"] == before["prefill_batches"] + 2  # the short one joined mid-decode
    await wait_for(server, lambda s: s["running"] == 0, "the long request cancelled")


async def test_client_disconnect_cancels_generation(server, client, tiny_tokenizer):
    before = await stats(server)
    task = asyncio.ensure_future(client.chat.completions.create(
        model=MODEL, messages=prompts(1)[0], temperature=0, max_tokens=3000,
        logit_bias={str(tiny_tokenizer.eos_token_id): -100}))  # no early stop: only a cancel ends it early
    await wait_for(server, lambda s: s["running"] == 1 and s["tokens_generated"] > before["tokens_generated"] + 5,
                   "the request decoding")
    task.cancel()  # closes the connection
    after = await wait_for(server, lambda s: s["cancelled"] == before["cancelled"] + 1, "the request cancelled")
    assert after["running"] == 0
    assert after["tokens_generated"] - before["tokens_generated"] < 3000
    assert after["completed"] == before["completed"]


async def test_disconnect_while_waiting_drops_the_request(server, client):
    before = await stats(server)
    server.engine.pause()
    try:
        task = asyncio.ensure_future(client.chat.completions.create(model=MODEL, messages=prompts(1)[0],
                                                                    max_tokens=4))
        await wait_for(server, lambda s: s["waiting"] == 1, "the request waiting")
        task.cancel()
        after = await wait_for(server, lambda s: s["cancelled"] == before["cancelled"] + 1 and s["waiting"] == 0,
                               "the waiting request dropped")
    finally:
        server.engine.resume()
    assert after["prefill_batches"] == before["prefill_batches"]  # never reached the model


async def test_a_full_queue_answers_429_with_retry_after(server, client):
    server.engine.pause()
    try:
        tasks = [asyncio.ensure_future(client.chat.completions.create(model=MODEL, messages=prompts(1)[0],
                                                                      max_tokens=2)) for _ in range(WAITING)]
        await wait_for(server, lambda s: s["waiting"] == WAITING, "the queue full")
        async with httpx.AsyncClient() as h:
            r = await h.post(server.url + "/chat/completions",
                             json={"model": MODEL, "messages": prompts(1)[0], "max_tokens": 2})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "server_overloaded" and "overloaded" in r.json()["error"]["message"]
        with pytest.raises(openai.RateLimitError, match="overloaded"):
            await client.chat.completions.create(model=MODEL, messages=prompts(1)[0], max_tokens=2)
    finally:
        server.engine.resume()
    done = await asyncio.gather(*tasks)
    assert all(r.choices[0].finish_reason in ("length", "stop") for r in done)
    assert (await stats(server))["rejected"] >= 2
