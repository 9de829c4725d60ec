"""swe/tasks on docker and bwrap: observation, the persistent bash tool, the editor, channels, rewards."""

import agentgym
import pytest

from swe_helpers import run


@pytest.fixture
async def env(backend):
    env = agentgym.make("swe/tasks", sandbox=backend)
    try:
        yield env
    finally:
        await env.close()


async def test_reset_shows_issue_and_layout(env):
    first = await env.reset(seed=0)
    text = first.messages[-1].content
    assert "rc.10" in text and "semverlite/version.py" in text and "/workspace" in text
    assert first.messages[0].role == "system"
    assert [t.name for t in env.tools] == ["bash", "str_replace_editor", "submit"]
    assert env.task.id == "semverlite-1"


async def test_bash_is_a_persistent_shell_with_timeout_and_truncation(env):
    await env.reset(seed=0)
    await run(env, "bash", command="cd semverlite && export COLOR=green")
    res, text = await run(env, "bash", command="pwd; echo $COLOR")
    assert text.split() == ["/workspace/semverlite", "green"]
    assert res.channels["tool_ok"] == 1.0 and res.channels["tested"] == 0.0 and res.channels["modified"] == 0.0
    res, text = await run(env, "bash", command="sleep 30", timeout=1)
    assert "timed out after 1 s" in text and res.channels["tool_ok"] == 0.0
    res, text = await run(env, "bash", command="pwd")  # the session survived the timeout
    assert text.strip() == "/workspace/semverlite"
    res, text = await run(env, "bash", command="python -c \"print('x' * 100000)\"")
    assert len(text) < 13000 and "characters cut" in text and "output truncated" in text
    res, text = await run(env, "bash", command="false")
    assert "[exit code 1]" in text
    res, text = await run(env, "bash", command="cd /workspace && python -m pytest -q tests 2>&1 | tail -2")
    assert res.channels["tested"] == 1.0 and "failed" in text
    res, _ = await run(env, "bash", command="echo '# note' >> README.md")
    assert res.channels["modified"] == 1.0
    res, _ = await run(env, "bash", command="cat README.md > /dev/null")
    assert res.channels["modified"] == 0.0


async def test_editor_commands(env):
    await env.reset(seed=4)
    _, text = await run(env, "str_replace_editor", command="view", path="semverlite/version.py", view_range=[1, 3])
    assert '     1\t"""The Version type' in text and "     4\t" not in text
    _, text = await run(env, "str_replace_editor", command="view", path="/workspace")
    assert "/workspace/semverlite/version.py" in text and ".git" not in text
    res, text = await run(env, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                          old_str="return Version(", new_str="return Version (")
    assert "occurs" in text and "times" in text and res.channels["tool_ok"] == 0.0
    res, text = await run(env, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                          old_str="no such text", new_str="x")
    assert "did not appear verbatim" in text
    res, text = await run(env, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                          old_str="self.minor + 1, self.patch)", new_str="self.minor + 1, 0)")
    assert "has been edited" in text and res.channels["modified"] == 1.0
    res, text = await run(env, "str_replace_editor", command="undo_edit", path="semverlite/version.py")
    assert "undone" in text and res.channels["modified"] == 1.0
    _, text = await run(env, "bash", command="git status --short")
    assert text.strip() == "(no output)"
    res, text = await run(env, "str_replace_editor", command="create", path="notes/todo.txt", file_text="a\nb\n")
    assert "created" in text
    _, text = await run(env, "str_replace_editor", command="create", path="notes/todo.txt", file_text="again")
    assert "already exists" in text
    _, text = await run(env, "str_replace_editor", command="insert", path="notes/todo.txt", insert_line=1,
                        new_str="between")
    _, text = await run(env, "bash", command="cat notes/todo.txt")
    assert text.split() == ["a", "between", "b"]
    for path, why in [(".git/config", "inside .git"), ("/etc/passwd", "outside the repository"),
                      ("../x", "outside the repository"), ("missing.py", "does not exist")]:
        _, text = await run(env, "str_replace_editor", command="view", path=path)
        assert why in text, (path, text)
    await run(env, "bash", command="printf 'a\\0b' > blob.bin")
    _, text = await run(env, "str_replace_editor", command="view", path="blob.bin")
    assert "binary file" in text


async def test_malformed_calls_are_feedback(env):
    await env.reset(seed=0)
    res = await env.step(agentgym.Message.assistant("I think the bug is in version.py"))
    assert res.channels["format"] == -1.0 and not res.done
    res, text = await run(env, "str_replace_editor", command="paint", path="x")
    assert res.channels["format"] == -1.0 and "must be one of" in text
    res, text = await run(env, "bash")
    assert "missing required argument" in text


async def test_no_op_submit_is_an_empty_patch(env):
    await env.reset(seed=1)
    res, text = await run(env, "submit")
    assert res.done and not res.success and res.info["grade"]["status"] == "empty_patch"
    assert res.reward == pytest.approx(0.05)
    assert res.channels == {"format": 0.0, "tool_ok": 1.0, "CR": 1.0, "MR": 0.0, "RR": 0.0, "outcome": 0.05}


async def test_huge_output_and_fork_bomb_end_as_feedback(env):
    await env.reset(seed=0)
    res, text = await run(env, "bash", command="head -c 50000000 /dev/zero | tr '\\0' x")
    assert not res.done and len(text) < 13000 and "output truncated" in text
    res, text = await run(env, "bash", command=":(){ :|:& };:", timeout=5)
    assert not res.done and res.channels["format"] == 0.0
    res, text = await run(env, "bash", command="echo alive")
    assert text.strip() == "alive"


async def test_bash_edge_cases_keep_exit_codes_output_and_the_modified_channel(env):
    await env.reset(seed=0)
    res, text = await run(env, "bash", command="printf abc; exit 3")          # no trailer runs after exit
    assert text == "abc\n[exit code 3]" and res.channels["modified"] == 0.0
    res, text = await run(env, "bash", command="echo x > new.txt; exit 0")
    assert text == "(no output)" and res.channels["modified"] == 1.0
    res, text = await run(env, "bash", command="cat <<EOF > doc.txt\nline\nEOF\ncat doc.txt")
    assert text.strip() == "line" and res.channels["modified"] == 1.0
    res, text = await run(env, "bash", command="echo a \\\n  b")
    assert text.strip() == "a b" and res.channels["modified"] == 0.0
    res, text = await run(env, "bash", command="echo __agentgym_tree__fake; rm doc.txt")
    assert "__agentgym_tree__fake" in text and res.channels["modified"] == 1.0
