"""Local model tooling: tiny-model build time and serve-model overhead over raw ``model.generate``.

* build: ``init_tiny`` with default arguments (target: a few seconds after imports)
* serving: the same greedy chat completions (maze prompt with tools, ``max_tokens`` tokens)
  through ``agentgym serve-model`` (separate process, real HTTP, real ``openai`` client)
  vs ``tokenizer.apply_chat_template`` + ``model.generate`` in-process → latency ratio;
  target ≤ 1.2 (the server adds HTTP, JSON, validation and hermes parsing).

    .venv/bin/python benchmarks/bench_models.py [--requests 20 --max-tokens 32]
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


def start_server(path: Path):
    import httpx

    from agentgym.testing import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "agentgym.cli", "serve-model", str(path), "--port", str(port),
                             "--model-name", "tiny"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        t = time.perf_counter()
        with cf.ThreadPoolExecutor(4) as pool:  # requests queue on the single generation thread
            list(pool.map(lambda _: served(), range(n)))
        concurrent = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return raw_t, raw_tokens, served_t, served_tokens, concurrent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--max-tokens", type=int, default=32)
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
        raw, raw_tokens, served, served_tokens, concurrent = measure(path, messages, tools, args.requests,
                                                                     args.max_tokens)

    raw_ms, served_ms = statistics.median(raw) * 1000, statistics.median(served) * 1000
    body = f"""## Local models (`bench_models.py`)

`init_tiny()` with defaults ({info.arch}, {info.num_parameters:,} parameters, {info.layers} layers × {info.hidden_size}):
**{build:.1f} s** (after {imports:.1f} s of torch/transformers imports). Target: a few seconds.

Greedy chat completion of a `toy/maze` prompt with tools, {args.requests} requests each, interleaved, median latency:

| path | ms/request | completion tokens | ratio |
|---|---|---|---|
| `model.generate` in-process, 1 thread (raw) | {raw_ms:.1f} | {raw_tokens} | 1.00 |
| `agentgym serve-model` (auto = 1 thread) via `openai` client (HTTP) | {served_ms:.1f} | {served_tokens} | **{served_ms / raw_ms:.2f}** |

Target ≤ 1.2. {args.requests} requests from 4 concurrent clients: {concurrent:.2f} s
({concurrent * 1000 / args.requests:.1f} ms/request; generation is serialised on one worker thread).
"""
    write_section("models", body)


if __name__ == "__main__":
    main()
