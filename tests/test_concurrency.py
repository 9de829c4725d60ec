"""Every registered env holds at concurrency 8, through ``agentgym.arun`` as users run it.

* the oracle at concurrency 8: every episode succeeds, none errors;
* a garbage policy at concurrency 8 (random and malformed text, malformed tool calls, NUL bytes,
  lone surrogates, huge numbers, deep nesting): every episode is recorded in
  ``trajectories.jsonl``, none errors, the run completes and writes ``summary.json``;
* the registry loads its plugins once however many threads look an env up first.

The env list is ``agentgym.list_envs()``, so envs registered later are covered without editing
this file; no env is skipped (an env that needs Docker or a browser must find it here).
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

import agentgym
from agentgym import Message, OraclePolicy, ToolCall
from agentgym.errors import ConfigError
from agentgym.registry import check_kwargs
from agentgym.types import Trajectory

ENV_IDS = sorted(s.id for s in agentgym.list_envs())
EPISODES = 8
CONCURRENCY = 8
# Smaller worlds where an env has a size knob (keeps CI cheap); n_games=2 makes 8 episodes share two
# games, so concurrent episodes also load the same game at once.
SMALL_ARGS: dict[str, dict] = {
    "textworld/": {"n_games": 2},
    "textworld/custom": {"world_size": 3, "nb_objects": 5, "quest_length": 3},
    "alfworld/": {"n_games": 2},
    "search/": {"kb_scale": 0.25},
}


def small_args(env_id: str) -> dict:
    """The SMALL_ARGS entries of ``env_id``'s namespace and of the id itself, those its factory takes."""
    args = {**SMALL_ARGS.get(env_id.split("/")[0] + "/", {}), **SMALL_ARGS.get(env_id, {})}
    accepted = {}
    for key, value in args.items():
        try:
            check_kwargs(env_id, {key: value})
            accepted[key] = value
        except ConfigError:
            pass
    return accepted


# ---------------------------------------------------------------------------- garbage policy
JUNK_CHARS = ["\x00", "\ud83d", "\udc00", "\x1b[31m", "\x7f", "\x85", "\u202e", "\ufeff", "\\", "\n", "\r", "\t",
              "🙂", "冰箱", "é", '"', "'", "<", ">", "[", "]", "{", "}", "Action:", "</result>", " ", "a", "1"]


def junk_text(rng: random.Random, max_len: int = 60) -> str:
    return "".join(rng.choice(JUNK_CHARS) for _ in range(rng.randint(0, max_len)))


def junk_value(rng: random.Random, depth: int = 0):
    """A JSON value of a random (usually wrong) type."""
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 6:
        return [junk_value(rng, depth + 1) for _ in range(3)]
    if kind == 7:
        return {"k": junk_value(rng, depth + 1)}
    return [junk_text(rng), 10 ** 400, -1, 1.5, None, True, None, None, ["a", 1, None]][kind]


def junk_arguments(rng: random.Random, params: dict) -> str:
    """The ``arguments`` string of a malformed tool call."""
    props = list((params or {}).get("properties", {}))
    kind = rng.randrange(8)
    if kind == 0:
        return junk_text(rng)                                  # not JSON at all
    if kind == 1:
        return rng.choice(["null", "[]", "1e999", '"x"', "", "{", '{"a": NaN}'])
    if kind == 2:
        return "[" * 50_000 + "]" * 50_000                     # nesting past the recursion limit
    if kind == 3:
        return "{" + ", ".join(f'"{p}": {"9" * 5000}' for p in props or ["x"]) + "}"   # 5000-digit integers
    if kind == 4:
        return json.dumps({p: junk_value(rng) for p in props}, ensure_ascii=rng.random() < 0.5, default=str)
    if kind == 5:
        return json.dumps({junk_text(rng, 10): junk_text(rng) for _ in range(3)})     # unknown/missing args
    if kind == 6:
        return json.dumps({p: junk_text(rng) for p in props})  # right type, hostile text
    return "{" + ", ".join(f'"{p}": "{junk_text(rng)}"' for p in props) + "}"          # raw, unescaped


class GarbagePolicy:
    """A seeded adversary: random/malformed text and tool calls, in every text format's shape."""

    name = "garbage"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    async def begin_episode(self, env):
        return _GarbageActor(random.Random(self.rng.random()))

    async def act(self, messages, tools):
        return await _GarbageActor(self.rng).act(messages, tools)


class _GarbageActor:
    name = "garbage"

    def __init__(self, rng: random.Random):
        self.rng = rng

    async def act(self, messages: list[Message], tools) -> Message:
        rng = self.rng
        names = [t.name for t in tools] or ["act", "answer", "python", "search"]
        name = rng.choice(names)
        kind = rng.randrange(8)
        if kind == 0:
            return Message.assistant(junk_text(rng))
        if kind == 1:
            return Message.assistant(f"<{name}>{junk_text(rng)}</{name}>")
        if kind == 2:
            return Message.assistant(f"Thought: {junk_text(rng)}\nAction: {name}[{junk_text(rng)}]")
        if kind == 3:
            return Message.assistant(f"<tool_call>{junk_arguments(rng, {})}</tool_call>")
        if kind == 4:
            return Message.assistant(rng.choice(["", None, "x" * 100_000, "\x00" * 300]))
        specs = {t.name: t.parameters for t in tools}
        calls = [ToolCall(name=rng.choice([name, junk_text(rng, 8), name + "\x00"]),
                          arguments=junk_arguments(rng, specs.get(name, {})))
                 for _ in range(rng.randint(1, 3))]
        return Message.assistant(junk_text(rng, 5) if kind == 5 else None, tool_calls=calls)


# ---------------------------------------------------------------------------- helpers
def recorded(out: Path) -> list[Trajectory]:
    """Every line of the run's trajectories.jsonl, each parsed (a line that does not parse fails)."""
    lines = (out / "trajectories.jsonl").read_bytes().splitlines()
    return [Trajectory.model_validate_json(line) for line in lines if line.strip()]


def errors_of(trajs: list[Trajectory]) -> list[str]:
    return [f"episode {t.episode}: {(t.error or '')[:300]}" for t in trajs if t.is_error]


# ---------------------------------------------------------------------------- tests
def test_every_family_is_registered():
    for family in ("toy/", "demo/", "tools/", "search/", "textworld/", "alfworld/"):
        assert any(i.startswith(family) for i in ENV_IDS), f"no {family}* env registered: {ENV_IDS}"


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
async def test_oracle_at_concurrency_8(env_id, tmp_path):
    summary = await agentgym.arun(env_id, OraclePolicy(), episodes=EPISODES, concurrency=CONCURRENCY,
                                  env_kwargs=small_args(env_id), out=tmp_path, progress=False)
    trajs = recorded(tmp_path)
    assert not errors_of(trajs), errors_of(trajs)
    assert summary.errors == 0 and len(trajs) == EPISODES
    failed = [(t.episode, t.termination) for t in trajs if not t.success]
    assert not failed, f"oracle failed episodes {failed}"
    assert summary.success_rate == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
async def test_garbage_at_concurrency_8(env_id, tmp_path):
    await agentgym.arun(env_id, GarbagePolicy(seed=zlib.crc32(env_id.encode())), episodes=EPISODES,
                        concurrency=CONCURRENCY, max_turns=6, env_kwargs=small_args(env_id), out=tmp_path,
                        progress=False)
    trajs = recorded(tmp_path)
    assert sorted(t.episode for t in trajs) == list(range(EPISODES))
    assert not errors_of(trajs), errors_of(trajs)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == EPISODES and summary["errors"] == 0
    garbage = [m for t in trajs for m in t.messages if m.role == "assistant"]
    assert len(garbage) >= EPISODES, "the garbage policy never got to act"


@pytest.mark.slow
async def test_text_game_families_run_together(tmp_path):
    """TextWorld and ALFWorld share the same non-thread-safe parsers: run them at the same time."""
    ids = ["textworld/custom", "textworld/treasure_hunter", "alfworld/all"]
    summaries = await asyncio.gather(*(
        agentgym.arun(i, OraclePolicy(), episodes=EPISODES, concurrency=CONCURRENCY, env_kwargs=small_args(i),
                      out=tmp_path / i.replace("/", "_"), progress=False) for i in ids))
    for env_id, s in zip(ids, summaries):
        assert s.errors == 0 and s.success_rate == 1.0, (env_id, s.first_error)


FIRST_LOOKUPS = """
import sys, threading
import agentgym
ids = sys.argv[1:]
barrier = threading.Barrier(8)
errors = []
def first_lookup(i):
    barrier.wait()
    try:
        agentgym.make(ids[i % len(ids)])
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
threads = [threading.Thread(target=first_lookup, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print("\\n".join(errors))
"""


def test_first_lookups_from_8_threads_all_find_their_env():
    """A fresh process: the plugins load once while the other threads wait (no spurious 'doesn't exist')."""
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", FIRST_LOOKUPS, "demo/lamps", "tools/calc", "search/kb"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "", out.stdout


def test_run_in_a_fresh_process_never_loses_episodes_to_the_registry():
    code = textwrap.dedent("""
        import agentgym
        from agentgym import OraclePolicy
        s = agentgym.run("demo/lamps", OraclePolicy(), episodes=8, concurrency=8, progress=False)
        print(s.errors, s.success_rate)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["0", "1.0"], out.stdout + out.stderr[-2000:]
