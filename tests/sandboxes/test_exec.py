"""exec(): commands, argv, cwd, env, stdin, exit codes, timeouts, output caps, bad input."""

from __future__ import annotations

import asyncio

import pytest

from agentgym.sandboxes import TIMEOUT_EXIT_CODE, ExecResult, SandboxArgumentError, SandboxClosedError

pytestmark = pytest.mark.filterwarnings("ignore:LocalSandbox runs untrusted code")


async def test_shell_string_and_argv(sandbox):
    r = await sandbox.exec("echo out; echo err >&2; exit 3")
    assert isinstance(r, ExecResult)
    assert (r.exit_code, r.stdout, r.stderr, r.timed_out, r.truncated) == (3, "out\n", "err\n", False, False)
    assert r.duration > 0
    r = await sandbox.exec(["python3", "-c", "import sys; print(sys.argv[1:])", "a b", "$HOME"])
    assert r.ok and r.stdout == "['a b', '$HOME']\n"


async def test_cwd_env_stdin(sandbox):
    await sandbox.exec("mkdir -p sub/dir")
    r = await sandbox.exec("pwd", cwd="sub/dir")
    assert r.stdout.strip() == f"{sandbox.workdir}/sub/dir"
    r = await sandbox.exec("echo $GREETING", env={"GREETING": "hello there"})
    assert r.stdout == "hello there\n"
    r = await sandbox.exec("wc -c; cat /dev/null", stdin=b"x" * 100_000)
    assert r.stdout.strip() == "100000"
    r = await sandbox.exec(["cat"], stdin="text in")
    assert r.stdout == "text in"


async def test_default_directory_is_workspace_and_persists(sandbox):
    await sandbox.exec("echo kept > state.txt")
    r = await sandbox.exec("cat state.txt; pwd")
    assert r.stdout == f"kept\n{sandbox.workdir}\n"


async def test_timeout_is_a_result(sandbox):
    r = await sandbox.exec("echo before; sleep 30", timeout=1)
    assert r.timed_out and r.exit_code == TIMEOUT_EXIT_CODE and not r.ok
    assert 0.9 < r.duration < 5
    assert r.stdout == "before\n"
    assert (await sandbox.exec("echo alive")).stdout == "alive\n"


async def test_output_is_capped_head_and_tail(sandbox):
    r = await sandbox.exec("python3 -c \"print('A'*3000); print('B'*3000)\"")
    assert r.truncated and r.exit_code == 0
    assert r.stdout.startswith("A" * 100) and r.stdout.rstrip().endswith("B" * 100)
    assert "bytes truncated" in r.stdout and len(r.stdout) < 4096 + 100


async def test_non_utf8_output_is_replaced_not_raised(sandbox):
    r = await sandbox.exec(["python3", "-c", "import sys; sys.stdout.buffer.write(b'ok\\xff\\xfe!')"])
    assert r.ok and r.stdout == "ok\ufffd\ufffd!"


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), "5"])
async def test_bad_timeout_is_a_clear_error(sandbox, timeout):
    with pytest.raises(SandboxArgumentError, match="timeout must be"):
        await sandbox.exec("true", timeout=timeout)


@pytest.mark.parametrize("cmd", ["", "   ", [], ["echo", 3], ["echo", "a\x00b"], "echo \x00"])
async def test_bad_commands_are_clear_errors(sandbox, cmd):
    with pytest.raises(SandboxArgumentError):
        await sandbox.exec(cmd)


async def test_bad_env_is_a_clear_error(sandbox):
    with pytest.raises(SandboxArgumentError, match="env"):
        await sandbox.exec("true", env={"A=B": "1"})


async def test_concurrent_execs(sandbox):
    results = await asyncio.gather(*(sandbox.exec(f"sleep 0.2; echo {i}") for i in range(4)))
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)]


async def test_closed_sandbox_refuses(backend):
    from agentgym.sandboxes import make_sandbox

    sb = make_sandbox(backend, allow_local=True)
    await sb.start()
    await sb.close()
    await sb.close()  # idempotent
    with pytest.raises(SandboxClosedError):
        await sb.exec("true")


async def test_exec_autostarts(backend):
    from agentgym.sandboxes import make_sandbox

    sb = make_sandbox(backend, allow_local=True)
    try:
        assert (await sb.exec("echo started")).stdout == "started\n"
    finally:
        await sb.close()


async def test_shell_session_keeps_cwd_and_env(sandbox):
    shell = sandbox.shell()
    r = await shell.run("mkdir -p src && cd src && export MODE=fast && false")
    assert r.exit_code == 1
    r = await shell.run("pwd; echo $MODE")
    assert r.stdout == f"{sandbox.workdir}/src\nfast\n"
    r = await shell.run("cd .. && exit 7")
    assert r.exit_code == 7
    assert await shell.cwd() == sandbox.workdir


def test_sync_facade(backend):
    from agentgym.sandboxes import make_sandbox

    with make_sandbox(backend, allow_local=True).sync() as sb:
        sb.write_file("main.py", "print(2)")
        assert sb.exec("python3 main.py").stdout == "2\n"
        assert sb.read_file("main.py") == b"print(2)"
        child = sb.fork()
        try:
            assert child.exec("python3 main.py").stdout == "2\n"
        finally:
            child.close()
