"""Rollout-engine efficiency against a local OpenAI-compatible server with fixed latency.

* engine efficiency: 256 toy/maze episodes, concurrency 64, 50 ms per request
  → wall time ÷ ideal (latency × requests ÷ concurrency); target ≤ 1.3
* peer: the same workload through verifiers' ToolEnv rollout (separate venv, if installable)
* client CPU per request: the engine vs the bare SDK sending the very same request bodies (the
  engine run's conversations, replayed), target ≤ 1.1×
* per-step overhead: engine vs calling env.step directly in a loop on the same env with the same
  action (ratio, best of interleaved rounds), target ≤ 1.1×
* ``--workers N``: the episodes spread over N processes (concurrency split between them), wall ÷ ideal

    .venv/bin/python benchmarks/bench_rollout.py [--episodes 256 --concurrency 64 --latency 0.05 --workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_section  # noqa: E402

import agentgym  # noqa: E402
from agentgym import Message  # noqa: E402
from agentgym.policies.openai import OpenAIPolicy  # noqa: E402
from agentgym.testing import free_port  # noqa: E402

SERVER = """
import sys, time
from agentgym.testing import StubOpenAIServer
s = StubOpenAIServer(latency=float(sys.argv[1])); s.port = int(sys.argv[2]); s.url = f"http://127.0.0.1:{s.port}/v1"
with s:
    print("ready", flush=True)
    while True:
        time.sleep(3600)
"""

# the same stub answers (StubOpenAIServer's reply logic) behind a leaner HTTP front end: aiohttp.web
# instead of FastAPI + uvicorn, about a third of the server CPU per request, so that on a 2-core machine
# the client is measured rather than the stub's request parsing
LEAN_SERVER = """
import asyncio, json, sys
from aiohttp import web
from agentgym.testing import StubOpenAIServer
stub, latency = StubOpenAIServer(), float(sys.argv[1])

async def chat(request):
    body = json.loads(await request.read())
    await asyncio.sleep(latency)
    return web.Response(body=json.dumps(stub._reply(body)).encode(), content_type="application/json")

async def models(request):
    return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

app = web.Application()
app.add_routes([web.post("/v1/chat/completions", chat), web.get("/v1/models", models)])
print("ready", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""

VF_PEER = Path(__file__).with_name("peer_verifiers.py")


def start_server(latency: float, lean: bool = False) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", LEAN_SERVER if lean else SERVER, str(latency), str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    url = f"http://127.0.0.1:{port}/v1"
    if lean:  # "ready" is printed before the socket listens
        import httpx

        for _ in range(200):
            try:
                httpx.get(url + "/models", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
    return proc, url


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def engine_efficiency(url: str, episodes: int, concurrency: int, latency: float, turns: int,
                            server_pid: int, transport: str = "auto", seeds: list[int] | None = None) -> dict:
    policy = OpenAIPolicy("stub", base_url=url, transport=transport)
    with tempfile.TemporaryDirectory() as out:
        s0, c0, t0 = proc_cpu(server_pid), time.process_time(), time.perf_counter()
        s = await agentgym.arun("toy/maze", policy, episodes=None if seeds else episodes, seeds=seeds,
                                concurrency=concurrency, max_turns=turns, progress=False, env_kwargs={"size": 6}, out=out)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0  # the whole call (s.cpu_s leaves out the preflight)
        trajs = agentgym.engine.load_trajectories(Path(out) / "trajectories.jsonl")
    requests = round(s.mean_turns * s.episodes)
    ideal = latency * requests / concurrency
    return {"wall": wall, "ideal": ideal, "ratio": wall / ideal, "requests": requests, "errors": s.errors,
            "transport": policy.transport, "client_ms": cpu / requests * 1000,
            "server_ms": (proc_cpu(server_pid) - s0) / requests * 1000, "bodies": request_bodies(trajs)}


def request_bodies(trajs) -> list[dict]:
    """The chat requests an episode's policy sent: the conversation before each assistant turn, plus the tools."""
    out = []
    for t in trajs:
        tools = [x.to_openai() for x in t.tools]
        for i, m in enumerate(t.messages):
            if m.role == "assistant":
                out.append({"model": "stub", "messages": [x.to_openai() for x in t.messages[:i]], "tools": tools})
    return out


async def step_overhead(n_episodes: int = 100, turns: int = 20, rounds: int = 15) -> dict:
    """Engine vs a bare ``reset``/``step`` loop on the same env with the same action, in CPU time (the machine
    is shared: wall time measures the neighbours); interleaved rounds, each block started after a
    ``gc.collect()`` with the collector on in both; best of each side and the median of the paired ratios."""
    action = Message.assistant(tool_calls=[agentgym.ToolCall(name="look", arguments="{}")])

    class Scripted:
        name = "scripted"

        async def act(self, messages, tools):
            return action

    env = agentgym.make("toy/maze", max_turns=turns)
    policy = Scripted()
    raw_best = engine_best = loop_best = float("inf")
    pairs = []
    for _ in range(rounds):
        gc.collect()  # each timed block starts from the same heap (no collection of the other's garbage inside it)
        t0 = time.process_time()
        for i in range(n_episodes):
            await env.reset(seed=i)
            _tools = env.tools  # a bare loop too hands the policy the tools, once per episode  # noqa: F841
            for _ in range(turns):
                await env.step(action)
        raw = time.process_time() - t0
        gc.collect()
        t0 = time.process_time()
        for i in range(n_episodes):  # the least agent loop: ask the policy, step, keep the conversation
            messages = list((await env.reset(seed=i)).messages)
            tools = env.tools
            for _ in range(turns):
                act = await policy.act(list(messages), tools)
                messages.append(act)
                messages.extend((await env.step(act)).messages)
        loop_best = min(loop_best, time.process_time() - t0)
        gc.collect()
        t0 = time.process_time()
        for i in range(n_episodes):
            await agentgym.rollout(env, policy, seed=i, max_turns=turns)
        engine = time.process_time() - t0
        raw_best, engine_best = min(raw_best, raw), min(engine_best, engine)
        pairs.append(engine / raw)
    steps = n_episodes * turns
    return {"raw_us": raw_best / steps * 1e6, "engine_us": engine_best / steps * 1e6, "ratio": engine_best / raw_best,
            "median": statistics.median(pairs), "rounds": rounds, "loop_us": loop_best / steps * 1e6,
            "loop_ratio": loop_best / raw_best}


async def raw_aiohttp(url: str, bodies: list[dict], concurrency: int) -> tuple[float, float]:
    """The same request bodies as plain aiohttp posts (json encode, decode the reply), no SDK, no env:
    what the HTTP exchange itself costs the client; (wall s, client CPU ms/request)."""
    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": "Bearer x", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(body: dict) -> None:
            async with sem:
                async with session.post(url + "/chat/completions", data=json.dumps(body), headers=headers) as r:
                    json.loads(await r.read())

        c0, t0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu / len(bodies) * 1000


async def raw_client(url: str, bodies: list[dict], concurrency: int, aiohttp: bool = False) -> tuple[float, float]:
    """The floor: the same request bodies through the bare openai client, no env; (wall s, client CPU ms/request)."""
    import openai

    http_client = openai.DefaultAioHttpClient() if aiohttp else None
    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, http_client=http_client)
    sem = asyncio.Semaphore(concurrency)

    async def one(body: dict) -> None:
        async with sem:
            if aiohttp:  # the same call path as OpenAIPolicy
                await client.post("/chat/completions", cast_to=dict, body=body)
            else:
                await client.chat.completions.create(**body)

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    wall = time.perf_counter() - t0
    cpu = (time.process_time() - c0) / len(bodies) * 1000
    await client.close()
    return wall, cpu


async def hand_loop(url: str, episodes: int, concurrency: int, turns: int) -> tuple[float, float, int]:
    """A hand-written agent loop: the bare SDK's ``post`` and ``env.step``, no engine, no run directory;
    (wall s, client CPU ms/request, requests). The same episodes, tools and message handling as the engine."""
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0, http_client=openai.DefaultAioHttpClient())
    sem = asyncio.Semaphore(concurrency)
    sent = 0

    async def episode(seed: int) -> None:
        nonlocal sent
        async with sem:
            env = await asyncio.to_thread(agentgym.make, "toy/maze", size=6, max_turns=turns)
            messages = list((await env.reset(seed=seed)).messages)
            tools = [t.to_openai() for t in env.tools]
            for _ in range(turns):
                reply = await client.post("/chat/completions", cast_to=dict, body={
                    "model": "stub", "messages": [m.to_openai() for m in messages], "tools": tools})
                sent += 1
                action = Message.from_openai({**reply["choices"][0]["message"], "role": "assistant"})
                messages.append(action)
                result = await env.step(action)
                messages += result.messages
                if result.done or result.truncated:
                    break
            await env.close()

    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(episode(i) for i in range(episodes)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    await client.close()
    return wall, cpu / sent * 1000, sent


async def spread_over_workers(url: str, episodes: int, concurrency: int, latency: float, turns: int,
                              workers: int) -> dict:
    """The product path: ``arun(..., workers=N)`` (the episodes over N processes, concurrency split between
    them, this process writing the run directory and playing while they start). Wall time includes
    starting the workers; client CPU is the run's ``cpu_s`` (this process and its workers)."""
    policy = OpenAIPolicy("stub", base_url=url)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        s = await agentgym.arun("toy/maze", policy, episodes=episodes, concurrency=concurrency, max_turns=turns,
                                progress=False, env_kwargs={"size": 6}, out=out, workers=workers)
        wall = time.perf_counter() - t0
    requests = round(s.mean_turns * s.episodes)
    ideal = latency * requests / concurrency
    return {"wall": wall, "ideal": ideal, "ratio": wall / ideal, "requests": requests, "errors": s.errors,
            "client_ms": s.cpu_s / requests * 1000}


def peer_row(url: str, episodes: int, concurrency: int, latency: float, turns: int) -> str:
    default = Path(__file__).resolve().parents[1] / ".venv-peers/verifiers/bin/python"
    py = os.environ.get("VERIFIERS_PYTHON", str(default))
    if not Path(py).exists():
        return "| verifiers (peer) | – | – | – | – | not installed: run benchmarks/setup_peers.sh |"
    out = subprocess.run([py, str(VF_PEER), url, str(episodes), str(concurrency), str(turns)],
                         capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return f"| verifiers (peer) | – | – | – | – | failed: {out.stderr.strip().splitlines()[-1][:120] if out.stderr.strip() else out.returncode} |"
    r = json.loads(out.stdout.strip().splitlines()[-1])
    ideal = latency * r["requests"] / concurrency
    return (f"| verifiers {r['version']} Taskset+Toolset, null harness (peer) | {r['wall']:.2f} | {ideal:.2f} | "
            f"{r['wall'] / ideal:.2f} | – | {r['requests']} requests: {episodes} episodes at concurrency {concurrency} "
            f"(it starts a harness and a tool-server process per episode) |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2, help="also run the episodes spread over N processes")
    ap.add_argument("--repeat", type=int, default=3, help="engine/floor pairs for the client CPU comparison")
    ap.add_argument("--peer-episodes", type=int, default=32, help="the peer spawns processes per episode: keep it small")
    ap.add_argument("--peer-concurrency", type=int, default=16)
    a = ap.parse_args()
    run = (a.episodes, a.concurrency, a.latency, a.turns)
    proc, url = start_server(a.latency, lean=True)
    try:
        # client CPU: engine and floor alternate (a.repeat times each); best of each side
        effs, floors = [], []
        for _ in range(a.repeat):
            gc.collect()
            effs.append(asyncio.run(engine_efficiency(url, *run, proc.pid)))
            gc.collect()
            floors.append(asyncio.run(raw_client(url, effs[-1]["bodies"], a.concurrency, aiohttp=True)))
        eff = min(effs, key=lambda r: r["client_ms"])
        raw_aio, raw_aio_ms = min(floors, key=lambda r: r[1])
        cpu_pairs = [e["client_ms"] / f[1] for e, f in zip(effs, floors)]
        http, http_ms = asyncio.run(raw_aiohttp(url, eff["bodies"], a.concurrency))
        hand, hand_ms, hand_n = asyncio.run(hand_loop(url, a.episodes, a.concurrency, a.turns))
        eff_sdk = asyncio.run(engine_efficiency(url, *run, proc.pid, transport="aiohttp"))
        eff_httpx = asyncio.run(engine_efficiency(url, *run, proc.pid, transport="httpx"))
        raw, raw_ms = asyncio.run(raw_client(url, eff_httpx["bodies"], a.concurrency))
        spreads = []
        if a.workers > 1:  # the first run starts the fork server too; the median of five is the headline
            spreads = [asyncio.run(spread_over_workers(url, *run, a.workers)) for _ in range(5)]
        peer = peer_row(url, a.peer_episodes, a.peer_concurrency, a.latency, a.turns)
    finally:
        proc.terminate()
        proc.wait()
    proc, fat_url = start_server(a.latency)  # the FastAPI + uvicorn stub the tests use: 3x the server CPU
    try:
        fat = asyncio.run(engine_efficiency(fat_url, *run, proc.pid))
        fat_floor, _ = asyncio.run(raw_client(fat_url, fat["bodies"], a.concurrency, aiohttp=True))
        fat_spread = asyncio.run(spread_over_workers(fat_url, *run, a.workers)) if a.workers > 1 else None
    finally:
        proc.terminate()
        proc.wait()
    ovh = asyncio.run(step_overhead())
    ideal = eff["ideal"]
    cpu_ratio = eff["client_ms"] / raw_aio_ms
    spread_row = ""
    if spreads:
        mid = sorted(spreads, key=lambda r: r["ratio"])[len(spreads) // 2]  # the median run
        ratios = ", ".join(format(r["ratio"], ".2f") for r in spreads)
        spread_row = (f"| agentgym `arun(..., workers={a.workers})` / `eval --workers {a.workers}` (concurrency "
                      f"{a.concurrency} split over {a.workers} processes, worker start-up included; median of "
                      f"{len(spreads)} runs) | {mid['wall']:.2f} | {mid['ideal']:.2f} | **{mid['ratio']:.2f}** | "
                      f"{mid['client_ms']:.2f} | {mid['requests']} requests, {mid['errors']} errors; runs: "
                      f"{ratios} (the first also starts the fork server); "
                      f"target ≤ 1.3 (median): **{'met' if mid['ratio'] <= 1.3 else 'not met'}**; client CPU = the "
                      "run's `cpu_s`, this process and its workers |\n")
    fat_rows = (f"| same engine run against the FastAPI + uvicorn stub (`agentgym.testing.StubOpenAIServer`) | "
                f"{fat['wall']:.2f} | {fat['ideal']:.2f} | {fat['ratio']:.2f} | {fat['client_ms']:.2f} | server "
                f"{fat['server_ms']:.2f} ms CPU/request; the bare SDK floor against it: wall ÷ ideal "
                f"{fat_floor / fat['ideal']:.2f} |\n")
    if fat_spread:
        fat_rows += (f"| `workers={a.workers}` against the FastAPI + uvicorn stub | {fat_spread['wall']:.2f} | "
                     f"{fat_spread['ideal']:.2f} | {fat_spread['ratio']:.2f} | {fat_spread['client_ms']:.2f} | "
                     "one run |\n")
    body = f"""## Rollout engine (`bench_rollout.py`)

{a.episodes} `toy/maze` episodes × {a.turns} turns, concurrency {a.concurrency}, a stub OpenAI-compatible server
(separate process, real HTTP) answering after {a.latency * 1000:.0f} ms. The stub's answers are
`StubOpenAIServer`'s; its HTTP front end here is aiohttp.web (server CPU {eff['server_ms']:.2f} ms a request), so
that on this 2-core machine the client is what is measured; the last rows repeat the engine against
the FastAPI + uvicorn stub the tests use. Ideal = latency × requests ÷ concurrency.

`OpenAIPolicy` posts chat requests over aiohttp itself (`transport="direct"`, the default since this
round): the SDK's request pipeline (an httpx request, headers and URL built per call, then handed to
its transport) cost {raw_aio_ms:.2f} ms of client CPU a request, against {http_ms:.2f} ms for the HTTP exchange itself.

Client CPU (`time.process_time`, each run started after `gc.collect()`; the engine and the floor alternate
{a.repeat}×, best of each): the floor sends the very requests the engine sent (its conversations replayed)
through the bare SDK (`post` over its aiohttp client) and plays no env. Engine ÷ floor = **{cpu_ratio:.2f}×**
(paired runs: {', '.join(f'{r:.2f}' for r in cpu_pairs)}; target ≤ 1.1×: **{'met' if cpu_ratio <= 1.1 else 'not met'}**).
Through the SDK (`transport="aiohttp"`) the engine costs {eff_sdk['client_ms'] / raw_aio_ms:.2f}× that floor; the
env's own work (maze generation, tool calls) is in the engine's figures and in no floor.

| loop | wall s | ideal s | wall ÷ ideal | client CPU ms/request | notes |
|---|---|---|---|---|---|
| agentgym `arun`, `OpenAIPolicy` ({eff['transport']} transport, the default) | {eff['wall']:.2f} | {ideal:.2f} | **{eff['ratio']:.2f}** | {eff['client_ms']:.2f} | {eff['requests']} requests, {eff['errors']} errors |
{spread_row}| bare `openai` SDK `post` over aiohttp, the same request bodies, no env (floor) | {raw_aio:.2f} | {ideal:.2f} | {raw_aio / ideal:.2f} | {raw_aio_ms:.2f} | engine ÷ floor: client CPU **{cpu_ratio:.2f}** |
| plain aiohttp posts of the same bodies (json), no SDK, no env | {http:.2f} | {ideal:.2f} | {http / ideal:.2f} | {http_ms:.2f} | the HTTP exchange alone |
| hand-written loop: bare SDK `post` + `env.step`, same episodes, no engine, no run directory | {hand:.2f} | {ideal:.2f} | {hand / ideal:.2f} | {hand_ms:.2f} | {hand_n} requests; engine ÷ this loop: client CPU **{eff['client_ms'] / hand_ms:.2f}** |
| agentgym `arun`, `OpenAIPolicy(transport="aiohttp")` (through the SDK) | {eff_sdk['wall']:.2f} | {ideal:.2f} | {eff_sdk['ratio']:.2f} | {eff_sdk['client_ms']:.2f} | ÷ floor {eff_sdk['client_ms'] / raw_aio_ms:.2f} |
| agentgym `arun`, `OpenAIPolicy(transport="httpx")` | {eff_httpx['wall']:.2f} | {ideal:.2f} | {eff_httpx['ratio']:.2f} | {eff_httpx['client_ms']:.2f} | the SDK's default transport |
| bare `openai` SDK `chat.completions.create`, default transport, same bodies, no env | {raw:.2f} | {ideal:.2f} | {raw / ideal:.2f} | {raw_ms:.2f} | what a hand-written loop gets |
{fat_rows}{peer}

Per-step overhead of the engine (`rollout` with a scripted policy returning a fixed action) vs `env.step` in
a bare loop on the same env (toy/maze, 100 episodes × 20 steps, reset included on both sides), CPU time,
{ovh['rounds']} interleaved rounds: best {ovh['engine_us']:.1f} µs vs {ovh['raw_us']:.1f} µs per step → **{ovh['ratio']:.2f}×**, median of the
paired rounds **{ovh['median']:.2f}×** (target ≤ 1.1×: **{'met' if max(ovh['ratio'], ovh['median']) <= 1.1 else 'not met'}**).
The engine's bookkeeping (record the action, the env's messages, reward, channels and info, clock the env,
call the policy; per episode the trajectory, reset and summing) is {ovh['engine_us'] - ovh['raw_us']:.1f} µs a step here;
10% of this {ovh['raw_us']:.0f} µs step is {ovh['raw_us'] / 10:.1f} µs. Against a {a.latency * 1000:.0f} ms model call it is
{(ovh['engine_us'] - ovh['raw_us']) / (a.latency * 1e6):.4%}. The least agent loop a user could write instead (ask the
policy with a copy of the conversation, step, append the action and the observations; no record, no
timing, no error handling) costs {ovh['loop_us']:.1f} µs a step: **{ovh['loop_ratio']:.2f}×** `env.step`.
"""
    write_section("rollout", body)


if __name__ == "__main__":
    main()
