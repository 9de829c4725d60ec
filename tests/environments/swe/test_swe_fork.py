"""fork() mid-episode through sandbox snapshots: parent and fork continue independently and both grade correctly;
and the env passes the agentgym conformance check."""

import agentgym
from agentgym.testing import check_env

from swe_helpers import run


async def test_fork_continues_independently_and_both_grade(backend):
    env = agentgym.make("swe/tasks", sandbox=backend)
    twin = None
    try:
        await env.reset(seed=4)
        await run(env, "bash", command="cd semverlite && export MARK=parent")
        await run(env, "str_replace_editor", command="create", path="notes.txt", file_text="shared\n")
        twin = await env.fork()
        assert twin.turn == env.turn == 2
        _, text = await run(twin, "bash", command="pwd; echo $MARK; cat ../notes.txt")
        assert text.split() == ["/workspace/semverlite", "parent", "shared"]  # cwd, exports and files carried over
        await run(twin, "str_replace_editor", command="undo_edit", path="notes.txt")  # undo history carried over
        await run(twin, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                  old_str="self.minor + 1, self.patch)", new_str="self.minor + 1, 0)")
        _, text = await run(env, "bash", command="git status --short")
        assert text.split() == ["??", "../notes.txt"]  # the parent saw none of the fork's edits
        parent, _ = await run(env, "submit")
        child, _ = await run(twin, "submit")
        assert child.success and child.info["grade"]["status"] == "resolved"
        assert "notes.txt" not in child.info["model_patch"]
        assert not parent.success and parent.info["grade"]["status"] == "unresolved"
    finally:
        await env.close()
        if twin is not None:
            await twin.close()


async def test_conformance(backend):
    env = agentgym.make("swe/tasks", sandbox=backend)
    try:
        assert await check_env(env, seed=2) == []
    finally:
        await env.close()
