"""The sandboxed python tool: results, errors, limits — and tools/python end to end (bubblewrap)."""

import json

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.policies.simple import OraclePolicy

pytest.importorskip("reasoning_gym", reason="reasoning-gym is needed: pip install 'agentgym[tools]'")
pytestmark = pytest.mark.bwrap


@pytest.fixture(scope="module")
def bwrap_ok():
    import asyncio

    from agentgym.sandboxes import SandboxUnavailableError, make_sandbox

    async def probe():
        sb = make_sandbox("bwrap")
        try:
            await sb.start()
            return (await sb.exec(["python3", "-c", "print(1)"])).stdout.strip() == "1"
        finally:
            await sb.close()

    try:
        if not asyncio.run(probe()):
            pytest.skip("bwrap sandbox runs but python3 is missing inside it")
    except SandboxUnavailableError as e:
        pytest.skip(f"bubblewrap sandbox unavailable here: {e}")


@pytest.fixture
async def runner(bwrap_ok):
    from agentgym.environments.tools.python_tool import PythonRunner

    r = PythonRunner("bwrap", timeout=3, memory_mb=256, output_bytes=4096)
    yield r
    await r.close()


async def test_result_value_stdout_and_files(runner):
    out = await runner.run("x = 6 * 7\nprint('hello')\nx")
    assert out.ok and out.result == "42" and out.text == "[stdout]\nhello\n[result] 42"
    assert (await runner.run("open('f.txt', 'w').write('kept')")).ok
    assert (await runner.run("open('f.txt').read()")).result == "'kept'"
    await runner.clear()
    assert "FileNotFoundError" in (await runner.run("open('f.txt').read()")).text


@pytest.mark.parametrize("code,fragment", [
    ("print('partial')\n1/0", "[error] ZeroDivisionError: division by zero"),
    ("def f(:\n", "[error] SyntaxError"),
    ("import sys; sys.exit(3)", "exited with code 3"),
    ("raise KeyboardInterrupt", "[error] KeyboardInterrupt"),
    ("bytearray(2 * 1024**3)", "MemoryError"),
    ("import os; os.kill(os.getpid(), 9)", "was killed"),
    ("", "code is empty"),
    ("   \n", "code is empty"),
])
async def test_failures_are_text_results(runner, code, fragment):
    out = await runner.run(code)
    assert not out.ok and fragment in out.text


async def test_traceback_shows_only_user_frames(runner):
    out = await runner.run("def f():\n    return 1/0\nf()")
    assert 'File "<cell>", line 2, in f' in out.stderr and "exec(" not in out.stderr


async def test_infinite_loop_times_out(runner):
    out = await runner.run("while True:\n    pass")
    assert out.timed_out and not out.ok and "Timeout" in out.text


async def test_fork_bomb_is_contained(runner):
    out = await runner.run("import os\nwhile True:\n    os.fork()")
    assert not out.ok
    assert "BlockingIOError" in out.text or "killed" in out.text or "Timeout" in out.text
    assert (await runner.run("print('still alive')")).ok  # the sandbox survives


async def test_huge_output_is_truncated_with_a_note(runner):
    out = await runner.run("print('x' * 10_000_000)")
    assert out.truncated and "truncated" in out.text and len(out.text) < 20_000


async def test_no_network(runner):
    out = await runner.run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=2)")
    assert not out.ok and "[error]" in out.text


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


@pytest.mark.parametrize("env_id,fmt", [("tools/python", None), ("tools/mixed", "tags")])
async def test_python_envs_oracle_solves_tasks(bwrap_ok, env_id, fmt):
    env = agentgym.make(env_id, format=fmt)
    try:
        for seed in range(6):
            traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
            assert traj.success, (traj.task_id, [m.content for m in traj.messages[-4:]])
            assert traj.infos[-1]["tools_used"] == ["python"]
        if fmt == "tags":  # ARPO/ReTool transcript: <python>…</python> → <result>…</result> → <answer>…</answer>
            texts = [m.content for m in traj.messages]
            assert texts[2].startswith("<python>") and texts[3].startswith("<result>") and texts[4].startswith("<answer>")
    finally:
        await env.close()


async def test_python_tool_errors_in_env(bwrap_ok):
    env = agentgym.make("tools/python", timeout=2)
    try:
        await env.reset(seed=0)
        r = await env.step(call("python", code="while True: pass"))
        assert "Timeout" in r.messages[0].content and r.channels["tool_ok"] == 0.0 and r.channels["format"] == 0.0
        assert r.info["python_timed_out"] is True and not r.done
        r = await env.step(call("python", code="print(sum(range(10)))"))
        assert "45" in r.messages[0].content and r.channels["tool_ok"] == 1.0
    finally:
        await env.close()
    assert env._runner is None  # the sandbox was closed with the env


async def test_python_env_passes_the_conformance_check(bwrap_ok):
    from agentgym.testing import check_env

    env = agentgym.make("tools/mixed", format="tags")
    try:
        assert await check_env(env, seed=1) == []
    finally:
        await env.close()
