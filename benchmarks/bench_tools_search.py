"""Tools and search families: search latency, python-tool latency, oracle throughput, KB build time.

* search latency p50/p95 on the bundled KB: the `search` tool through `env.step` vs the raw
  BM25 scoring call it wraps (ratio); target p50 ≤ 5 ms
* python tool call p50 in bwrap vs the same runner in a plain subprocess (ratio); target ≤ 50 ms
* oracle episodes/s of tools/calc, tools/python, search/kb, search/kb-multihop (one env, sequential)
* KB generation + BM25 index build from scratch

    .venv/bin/python benchmarks/bench_tools_search.py [--queries 500 --python-calls 30 --episodes 40]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

import agentgym  # noqa: E402
from agentgym import Message, ToolCall  # noqa: E402
from agentgym.environments.search.kb import load_kb  # noqa: E402
from agentgym.environments.tools.python_tool import RUNNER, PythonRunner  # noqa: E402
from agentgym.policies.simple import OraclePolicy  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def search_latency(n: int) -> dict:
    kb = load_kb(0)
    qs = [q.question for q in kb.questions[:n]]
    raw, tool = [], []
    for q in qs:  # the raw call the tool wraps: BM25 scores over the corpus + top-k
        t = time.perf_counter()
        kb.index.search(q, 5)
        raw.append(time.perf_counter() - t)
    env = agentgym.make("search/kb", max_turns=10**6)
    await env.reset(seed=0)
    for q in qs:
        action = Message.assistant(tool_calls=[ToolCall(name="search", arguments=json.dumps({"query": q, "k": 5}))])
        t = time.perf_counter()
        await env.step(action)
        tool.append(time.perf_counter() - t)
    await env.close()
    return {"raw_p50": statistics.median(raw), "raw_p95": pct(raw, 0.95), "tool_p50": statistics.median(tool),
            "tool_p95": pct(tool, 0.95), "n": len(qs), "docs": len(kb.docs)}


async def python_latency(n: int) -> dict:
    """Sandboxed cell, plain-subprocess cell and the sandbox's `true` floor, alternated so noise hits all alike."""
    from agentgym.sandboxes import Limits, make_sandbox

    code = "sum(i * i for i in range(1000))"
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")
    encoded = base64.b64encode(code.encode()).decode()
    runner = PythonRunner("bwrap", timeout=10)
    await runner.run("1")  # start the sandbox outside the measurement
    sandboxed, floor, plain = [], [], []
    async with make_sandbox("bwrap", limits=Limits(timeout=10)) as sb:
        for _ in range(n):
            t = time.perf_counter()
            out = await runner.run(code)
            sandboxed.append(time.perf_counter() - t)
            assert out.ok, out.text
            t = time.perf_counter()
            subprocess.run([python, "-I", "-c", RUNNER, encoded], capture_output=True, timeout=10, check=True)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            await sb.exec(["true"])
            floor.append(time.perf_counter() - t)
    await runner.close()
    return {"bwrap_p50": statistics.median(sandboxed), "plain_p50": statistics.median(plain), "n": n, "python": python,
            "floor_p50": statistics.median(floor)}


async def oracle_throughput(env_id: str, episodes: int) -> dict:
    env = agentgym.make(env_id)
    await agentgym.rollout(env, OraclePolicy(), seed=10**6)  # warm: KB load, sandbox start, dataset build
    t = time.perf_counter()
    wins = 0
    turns = 0
    for seed in range(episodes):
        traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
        wins += traj.success
        turns += traj.turns
    wall = time.perf_counter() - t
    await env.close()
    return {"eps": episodes / wall, "success": wins / episodes, "turns": turns / episodes}


def kb_build_time() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="agentgym-bench-kb-"))
    try:
        t = time.perf_counter()
        kb = load_kb(12345, cache_dir=tmp)
        build = time.perf_counter() - t
        import agentgym.environments.search.kb as kb_module

        kb_module._MEMO.clear()
        t = time.perf_counter()
        load_kb(12345, cache_dir=tmp)
        load = time.perf_counter() - t
        return {"build": build, "load": load, "docs": len(kb.docs), "questions": len(kb.questions)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--python-calls", type=int, default=30)
    ap.add_argument("--episodes", type=int, default=40)
    args = ap.parse_args()

    build = kb_build_time()
    s = await search_latency(args.queries)
    try:
        p = await python_latency(args.python_calls)
    except Exception as e:  # no bubblewrap here: report, keep the other figures
        p = {"error": f"{type(e).__name__}: {e}"}
    rows = []
    for env_id in ("tools/calc", "tools/python", "search/kb", "search/kb-multihop"):
        try:
            r = await oracle_throughput(env_id, args.episodes)
            rows.append(f"| `{env_id}` | {r['eps']:.1f} | {r['turns']:.1f} | {r['success']:.0%} |")
        except Exception as e:
            rows.append(f"| `{env_id}` | – | – | failed: {type(e).__name__}: {str(e)[:80]} |")

    if "error" in p:
        py_line = f"python tool: not measured ({p['error']})"
    else:
        py_line = (f"| python tool call (`{p['n']}` calls, a small expression) | bwrap p50 **{p['bwrap_p50'] * 1e3:.1f} ms** "
                   f"| plain subprocess p50 {p['plain_p50'] * 1e3:.1f} ms | **{p['bwrap_p50'] / p['plain_p50']:.2f}×** |\n"
                   f"| sandbox floor: `true` via `sandbox.exec` (bwrap) | p50 {p['floor_p50'] * 1e3:.1f} ms | – | – |")
    body = f"""## Tools and search (`bench_tools_search.py`)

Bundled KB (seed 0): {s['docs']:,} documents. Search = BM25 top-5 for {s['n']} generated questions; the tool
figure is a full `env.step` with a `search` call (validation, BM25, snippet formatting). Target: p50 ≤ 5 ms.
Python = one `python` tool cell in a warm bubblewrap sandbox vs the same runner script in a plain
subprocess (`{p.get('python', 'python3')}`), alternated call by call in the same run. Target: p50 ≤ 50 ms.

| measure | agentgym | baseline | ratio |
|---|---|---|---|
| search latency (`search` tool via `env.step`) | p50 **{s['tool_p50'] * 1e3:.2f} ms**, p95 {s['tool_p95'] * 1e3:.2f} ms | raw BM25 p50 {s['raw_p50'] * 1e3:.2f} ms, p95 {s['raw_p95'] * 1e3:.2f} ms | **{s['tool_p50'] / s['raw_p50']:.2f}×** |
{py_line}

Oracle throughput (one env, sequential episodes, {args.episodes} each; `tools/python` pays one sandboxed cell per episode):

| env | episodes/s | turns/episode | oracle success |
|---|---|---|---|
{chr(10).join(rows)}

KB generation from a seed (world → {build['docs']:,} documents + {build['questions']:,} questions → BM25 index → cache):
**{build['build']:.2f} s**; loading the cached KB: {build['load']:.2f} s.
"""
    write_section("tools_search", body)


if __name__ == "__main__":
    asyncio.run(main())
