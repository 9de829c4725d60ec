"""Grading statuses the harness distinguishes: patch that does not apply, test timeout, tests that do not run;
and nothing the agent leaves behind reaches the grading sandbox."""

import agentgym

from agentgym.environments.swe.grading import Grader
from agentgym.environments.swe.repos import task_tree
from agentgym.environments.swe.rows import load_tasks
from swe_helpers import run

BAD_PATCH = """diff --git a/semverlite/version.py b/semverlite/version.py
--- a/semverlite/version.py
+++ b/semverlite/version.py
@@ -1,3 +1,3 @@
-this line is not in the file
+neither is this
 nor this
"""


async def test_statuses_apply_failure_timeout_and_test_error(bwrap_backend):
    tasks = load_tasks(None)
    task = tasks[4]
    tree = task_tree(task, tasks)
    grader = Grader(bwrap_backend, test_timeout=8)
    try:
        assert (await grader.grade(task, BAD_PATCH, tree)).status == "patch_apply_failed"
        hang = task.patch.replace("+        return Version(self.major, self.minor + 1, 0)",
                                  "+        import time; time.sleep(60)\n+        return Version(self.major, self.minor + 1, 0)")
        hang = hang.replace("@@ -139,7 +139,7 @@", "@@ -139,7 +139,8 @@")
        result = await grader.grade(task, hang, tree)
        assert result.status == "timeout", (result.status, result.log[-800:])
        silent = task.model_copy(update={"test_cmd": "echo no tests here;"})
        assert (await grader.grade(silent, task.patch, tree)).status == "test_error"
        assert (await grader.grade(task, task.patch, tree)).status == "resolved"  # still clean after all that
    finally:
        await grader.close()


async def test_agent_leftovers_do_not_reach_grading(backend):
    env = agentgym.make("swe/tasks", sandbox=backend)
    try:
        await env.reset(seed=4)
        # the gold fix, plus a rigged pytest plugin outside the repo, a background process and an ignored file
        await run(env, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                  old_str="self.minor + 1, self.patch)", new_str="self.minor + 1, 0)")
        await run(env, "bash", command="mkdir -p /tmp/p && echo 'raise SystemExit(3)' > /tmp/p/sitecustomize.py && "
                                       "export PYTHONPATH=/tmp/p; (sleep 300 &) ; mkdir -p __pycache__ && "
                                       "echo junk > __pycache__/x.pyc")
        res, _ = await run(env, "submit")
        assert res.success, res.info["grade"]
        assert "__pycache__" not in res.info["model_patch"] and "sitecustomize" not in res.info["model_patch"]
    finally:
        await env.close()
