"""Local model tooling: tiny-model build time and serve-model overhead over raw ``model.generate``.

* build: ``init_tiny`` with default arguments (target: a few seconds after imports)
* serving: the same greedy chat completions (maze prompt with tools, ``max_tokens`` tokens)
  through ``agentgym serve-model`` (separate process, real HTTP, real ``openai`` client)
  vs ``tokenizer.apply_chat_template`` + ``model.generate`` in-process → latency ratio;
  target ≤ 1.2 (the server adds HTTP, JSON, validation and hermes parsing).
* concurrency: the same ``--concurrent`` (64) requests sent all at once (continuous batching) vs
  one at a time → p50 latency and throughput (each request decodes exactly ``max_tokens`` tokens:
  end-of-sequence is banned with ``logit_bias`` so both runs do the same work).

    .venv/bin/python benchmarks/bench_models.py [--requests 20 --max-tokens 32 --concurrent 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def maze_prompt():
    from agentgym.models.corpus import maze_episode

    messages, tools = maze_episode(0, 3, "oracle", max_steps=1)
    return [m.to_openai() for m in messages[:2]], tools


class RawGenerator:
    """The baseline: chat template + ``model.generate`` + decode, in-process."""

    def __init__(self, path: Path, max_tokens: int):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(1)  # what serve-model picks for a tiny model (--threads 0 = auto)
        self.torch, self.max_tokens = torch, max_tokens
        self.tok = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path).eval()

    def __call__(self, messages, tools) -> int:
        tok = self.tok
        ids = tok.apply_chat_template(messages, tools=tools, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)
        with self.torch.inference_mode():
            out = self.model.generate(**ids, max_new_tokens=self.max_tokens, do_sample=False, top_k=None,
                                      top_p=None, temperature=None, eos_token_id=tok.eos_token_id,
                                      pad_token_id=tok.pad_token_id)
        tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        return out.shape[1] - ids["input_ids"].shape[1]


def start_server(path: Path, *extra: str):
    import httpx

    from agentgym.testing import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agentgym.cli", "serve-model", str(path), "--port", str(port),
                             "--model-name", "tiny", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.ConnectError:
            time.sleep(0.1)
        if time.time() > deadline or proc.poll() is not None:
            proc.terminate()
            raise RuntimeError("serve-model did not start")


def measure(path: Path, messages, tools, n: int, max_tokens: int):
    """Interleaves raw and served requests so machine-load drift hits both alike."""
    import concurrent.futures as cf

    import openai

    raw = RawGenerator(path, max_tokens)
    proc, url = start_server(path)
    try:
        client = openai.OpenAI(base_url=url, api_key="x")

        def served():
            r = client.chat.completions.create(model="tiny", messages=messages, tools=tools, temperature=0,
                                               max_tokens=max_tokens)
            return r.usage.completion_tokens

        raw(messages, tools), served()  # warm-up
        raw_t, served_t = [], []
        for _ in range(n):
            t = time.perf_counter()
            raw_tokens = raw(messages, tools)
            raw_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            served_tokens = served()
            served_t.append(time.perf_counter() - t)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return raw_t, raw_tokens, served_t, served_tokens


def measure_concurrency(path: Path, messages, tools, n: int, max_tokens: int) -> dict[str, dict[str, float]]:
    """``n`` identical-work requests all at once vs one at a time, against one served process."""
    import asyncio

    import openai
    from transformers import AutoTokenizer

    eos = AutoTokenizer.from_pretrained(path).eos_token_id
    proc, url = start_server(path, "--max-batch-size", str(n))

    async def run() -> dict[str, dict[str, float]]:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, timeout=1800)

        async def one(i: int) -> float:
            t = time.perf_counter()
            r = await client.chat.completions.create(
                model="tiny", messages=messages, tools=tools, temperature=0.7, seed=i, max_tokens=max_tokens,
                logit_bias={str(eos): -100})
            assert r.usage.completion_tokens == max_tokens, r.usage
            return time.perf_counter() - t

        await one(0)  # warm-up
        out = {}
        for mode in ("one at a time", "all at once"):
            t = time.perf_counter()
            if mode == "one at a time":
                lat = [await one(i) for i in range(n)]
            else:
                lat = list(await asyncio.gather(*[one(i) for i in range(n)]))
            wall = time.perf_counter() - t
            out[mode] = {"p50": statistics.median(lat), "max": max(lat), "wall": wall,
                         "rps": n / wall, "tps": n * max_tokens / wall}
        await client.close()
        return out

    try:
        return asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--concurrent", type=int, default=64)
    args = ap.parse_args()

    t = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401

    imports = time.perf_counter() - t
    from agentgym.models import init_tiny, load_build_info

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = init_tiny(Path(tmp) / "tiny")
        build = time.perf_counter() - t
        info = load_build_info(path)
        messages, tools = maze_prompt()
        raw, raw_tokens, served, served_tokens = measure(path, messages, tools, args.requests, args.max_tokens)
        conc = measure_concurrency(path, messages, tools, args.concurrent, args.max_tokens)

    raw_ms, served_ms = statistics.median(raw) * 1000, statistics.median(served) * 1000
    rows = "\n".join(f"| {mode} | {m['p50']:.2f} | {m['max']:.2f} | {m['wall']:.2f} | {m['rps']:.1f} | {m['tps']:.0f} |"
                     for mode, m in conc.items())
    seq, par = conc["one at a time"], conc["all at once"]
    speedup = par["tps"] / seq["tps"]
    prefill_note = "the same per token whether batched or not; decode steps are what batching shares"
    body = f"""## Local models (`bench_models.py`)

`init_tiny()` with defaults ({info.arch}, {info.num_parameters:,} parameters, {info.layers} layers × {info.hidden_size}):
**{build:.1f} s** (after {imports:.1f} s of torch/transformers imports). Target: a few seconds.

Greedy chat completion of a `toy/maze` prompt with tools, {args.requests} requests each, interleaved, median latency:

| path | ms/request | completion tokens | ratio |
|---|---|---|---|
| `model.generate` in-process, 1 thread (raw) | {raw_ms:.1f} | {raw_tokens} | 1.00 |
| `agentgym serve-model` (auto = 1 thread) via `openai` client (HTTP) | {served_ms:.1f} | {served_tokens} | **{served_ms / raw_ms:.2f}** |

Target ≤ 1.2.

Concurrency: {args.concurrent} requests (same maze prompt, temperature 0.7, one seed each, exactly
{args.max_tokens} completion tokens each) against one `serve-model` process (continuous batching,
`--max-batch-size {args.concurrent}`), sent one at a time vs all at once (`AsyncOpenAI`, same machine):

| requests sent | p50 latency s | max latency s | wall s | requests/s | tokens/s |
|---|---|---|---|---|---|
{rows}

All at once vs one at a time: throughput **{speedup:.1f}×** (a lone request waits for nobody, so its latency is
the floor: {seq['p50']:.2f} s; all at once, every request waits for the shared prefill of all {args.concurrent} prompts,
which is compute-bound and {prefill_note}). Before this change (previous `serve-model`: one request at a time on one
generation thread; same 64 requests all at once, measured once on this machine, 2026-12-02): p50 4.86 s,
max 11.04 s, 5.7 requests/s → now p50 {par['p50']:.2f} s, max {par['max']:.2f} s, {par['rps']:.1f} requests/s.
"""
    write_section("models", body)


if __name__ == "__main__":
    main()
