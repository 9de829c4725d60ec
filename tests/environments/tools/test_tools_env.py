"""tools/* envs without a sandbox: tasks, answer scoring, channels, budgets, text formats."""

import asyncio
import json

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.policies.simple import NoopPolicy, OraclePolicy

pytest.importorskip("reasoning_gym", reason="reasoning-gym is needed: pip install 'agentgym[tools]'")


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def test_ids_are_registered_with_tags():
    ids = {s.id: s for s in agentgym.list_envs("tools")}
    for eid in ("tools/python", "tools/calc", "tools/mixed"):
        assert eid in ids and "tools" in ids[eid].tags
    assert [t.name for t in agentgym.make("tools/calc").tools] == ["calculator", "convert", "dates", "answer"]
    assert [t.name for t in agentgym.make("tools/mixed").tools] == ["python", "calculator", "convert", "dates", "answer"]
    assert [t.name for t in agentgym.make("tools/python").tools] == ["python", "answer"]


@pytest.mark.parametrize("fmt", [None, "tags"])
async def test_calc_oracle_solves_every_task_and_noop_none(fmt):
    env = agentgym.make("tools/calc", format=fmt)
    for seed in range(24):
        traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
        assert traj.success and traj.reward == 1.0, (traj.task_id, traj.messages[-2:])
    traj = await agentgym.rollout(env, NoopPolicy(), seed=0)
    assert not traj.success and traj.reward == 0.0 and traj.termination == "max_turns"
    assert all(ch.get("format") == -1.0 for ch in traj.channels[1:])


async def test_seeds_are_deterministic_and_splits_disjoint():
    env = agentgym.make("tools/calc")
    a = (await env.reset(seed=5)).messages[-1].content
    b = (await env.reset(seed=5)).messages[-1].content
    assert a == b
    train = {(await env.reset(seed=s)) and env.task.instruction for s in range(30)}
    test_env = agentgym.make("tools/calc", split="test")
    test = {(await test_env.reset(seed=s)) and test_env.task.instruction for s in range(30)}
    assert len(train) > 20 and not train & test
    assert test_env.task.split == "test" and "/test/" in test_env.task.id


async def test_answer_scoring_channels_and_info():
    env = agentgym.make("tools/calc", families=["basic_arithmetic"])
    await env.reset(seed=3)
    gold = env.task.data["answer"]
    r = await env.step(call("calculator", expression=env.task.data["metadata"]["expression"]))
    assert r.messages[0].content == gold and r.channels["tool_ok"] == 1.0 and r.info["tool_calls_total"] == 1
    r = await env.step(call("answer", text=f"\\boxed{{{gold}}}"))
    assert r.done and r.success and r.reward == 1.0
    assert r.channels == {"format": 0.0, "outcome": 1.0, "tool_ok": 1.0}
    assert r.info["tools_used"] == ["calculator"] and r.info["score"] == 1.0

    await env.reset(seed=3)
    r = await env.step(call("answer", text=str(int(gold) + 1)))
    assert r.done and not r.success and r.reward == 0.0 and r.channels["outcome"] == 0.0


async def test_whitespace_answer_and_tool_errors_are_feedback_not_crashes():
    env = agentgym.make("tools/calc")
    await env.reset(seed=1)
    r = await env.step(call("answer", text="   \n "))
    assert not r.done and "empty" in r.messages[0].content and r.channels["tool_ok"] == 0.0
    r = await env.step(call("calculator", expression="__import__('os')"))
    assert r.messages[0].content.startswith("Error:") and "unknown function" in r.messages[0].content
    r = await env.step(call("convert", query="3 parsecs to furlongs"))
    assert "unknown unit" in r.messages[0].content
    r = await env.step(call("dates", expression="today + 3 days"))
    assert "explicit dates" in r.messages[0].content
    r = await env.step(call("calculator", wrong="1"))
    assert r.channels["format"] == -1.0
    assert not r.done


async def test_tool_call_budget():
    env = agentgym.make("tools/calc", max_tool_calls=2)
    await env.reset(seed=0)
    for _ in range(2):
        r = await env.step(call("calculator", expression="1+1"))
        assert r.messages[0].content == "2"
    r = await env.step(call("calculator", expression="1+1"))
    assert "budget of 2 tool calls" in r.messages[0].content and r.info["tool_calls_total"] == 2
    r = await env.step(call("answer", text=env.task.data["answer"]))
    assert r.done and r.success


async def test_difficulty_and_family_config():
    easy = agentgym.make("tools/calc", families=["gcd"], difficulty=0)
    hard = agentgym.make("tools/calc", families={"gcd": {"min_value": 10**6, "max_value": 10**7}})
    await easy.reset(seed=1)
    await hard.reset(seed=1)
    big = max(easy.task.data["metadata"]["numbers"])
    assert min(hard.task.data["metadata"]["numbers"]) >= 10**6 > big
    with pytest.raises(ValueError, match="Did you mean gcd"):
        agentgym.make("tools/calc", families=["gdc"])


async def test_file_tasks_and_explicit_task(tmp_path):
    rows = [{"question": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(20)]
    rows.append({"question": "Name a primary colour.", "answer": ["red", "blue", "yellow"], "split": "test"})
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    env = agentgym.make("tools/calc", tasks=str(path))
    for seed in range(5):
        traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
        assert traj.success
    await env.reset(seed=0)
    r = await env.step(call("answer", text=f"{float(env.task.data['answer']):.1f}"))  # numeric tolerance
    assert r.success
    env_test = agentgym.make("tools/calc", tasks=str(path), split="test")
    await env_test.reset(seed=0)
    assert env_test.task.split == "test"
    r = await env.reset(task={"id": "mine", "instruction": "2+2?", "data": {"answer": "4"}})
    assert r.messages[-1].content == "2+2?"
    assert (await env.step(call("answer", text="four"))).reward == 0.0
    with pytest.raises(ValueError, match="lacks column"):
        agentgym.make("tools/calc", tasks=str(path)).source.__class__(path, answer_key="solution")


def test_bad_constructor_arguments_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="split"):
        agentgym.make("tools/calc", split="validation")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        agentgym.make("tools/calc", tasks=str(tmp_path / "nope.jsonl"))
    with pytest.raises(ValueError, match="allow_local"):
        from agentgym.environments.tools.python_tool import PythonRunner
        PythonRunner("local")


async def test_fork_replays_to_the_same_state():
    env = agentgym.make("tools/calc")
    await env.reset(seed=4)
    await env.step(call("calculator", expression="2*21"))
    twin = await env.fork()
    assert twin.task.instruction == env.task.instruction and twin.tool_calls_total == 1
    a = await env.step(call("answer", text="nope"))
    b = await twin.step(call("answer", text="nope"))
    assert a.reward == b.reward and a.done and b.done


@pytest.mark.parametrize("fmt", [None, "tags"])
async def test_calc_env_passes_the_conformance_check(fmt):
    from agentgym.testing import check_env

    env = agentgym.make("tools/calc", format=fmt)
    assert await check_env(env, seed=2) == []


@pytest.mark.parametrize("kwargs, fragment", [
    ({"timeout": 0}, "timeout must be"), ({"timeout": 1e9}, "timeout must be"),
    ({"memory_mb": 1}, "memory_mb must be"), ({"memory_mb": 10**9}, "memory_mb must be"),
    ({"difficulty": -1}, "difficulty"), ({"max_tool_calls": -1}, "max_tool_calls"),
])
def test_out_of_range_arguments_fail_at_make(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        agentgym.make("tools/calc", **kwargs)


@pytest.mark.timeout(120)
async def test_calculator_runs_in_a_killable_process_and_its_neighbours_keep_going(monkeypatch):
    """A calculator call that burns CPU in C (here a catastrophic regex standing in for a big
    comb) is stopped at its limit while a neighbour episode plays on, instead of freezing it."""
    import re

    from agentgym.environments.tools import env as tools_env

    monkeypatch.setattr(tools_env, "calculate", re.compile(r"(a|aa)*c").fullmatch)
    monkeypatch.setattr(tools_env.CalculatorTool, "calculator_timeout", 1.0)
    calc = agentgym.make("tools/calc")
    await calc.reset(seed=0)
    slow = asyncio.create_task(calc.step(call("calculator", expression="a" * 60)))
    maze = agentgym.make("toy/maze")
    await maze.reset(seed=0)
    moves = 0
    while not slow.done() and moves < 1000:
        await maze.step(call("look"))
        moves += 1
        await asyncio.sleep(0)
    res = await slow
    assert moves > 5
    assert "did not finish within 1 s" in res.messages[0].content
    assert not res.done  # the worker was killed: the env's state is intact, the episode goes on
    monkeypatch.undo()
    ok = await calc.step(call("calculator", expression="2*21"))
    await calc.close(), await maze.close()
    assert ok.messages[0].content == "42"
