"""Every bundled task is solved by the oracle and by no one else: the oracle resolves 100%, a no-op agent 0%,
the base checkout fails its FAIL_TO_PASS tests, and a wrong patch is not resolved."""

import agentgym
import pytest
from agentgym.policies.simple import NoopPolicy, OraclePolicy

from agentgym.environments.swe.grading import Grader
from agentgym.environments.swe.repos import task_tree
from agentgym.environments.swe.rows import load_tasks
from swe_helpers import run


async def test_oracle_resolves_every_bundled_task(bwrap_backend, tmp_path):
    n = len(load_tasks(None))
    summary = await agentgym.arun("swe/tasks", OraclePolicy(), episodes=n, concurrency=3, out=tmp_path / "run",
                                  env_kwargs={"sandbox": bwrap_backend}, progress=False)
    assert summary.errors == 0, summary.first_error
    assert summary.success_rate == 1.0
    assert summary.channels["CR"] == summary.channels["MR"] == summary.channels["RR"] == 1.0
    assert summary.mean_reward == pytest.approx(1.0)


async def test_noop_agent_resolves_nothing(backend, tmp_path):
    summary = await agentgym.arun("swe/tasks", NoopPolicy(), episodes=2, concurrency=2, max_turns=2,
                                  env_kwargs={"sandbox": backend}, progress=False)
    assert summary.errors == 0 and summary.success_rate == 0.0 and summary.mean_reward == 0.0
    assert summary.channels.get("CR", 0.0) == 0.0 and summary.terminations == {"max_turns": 2}


async def test_base_checkout_fails_and_gold_resolves_in_the_harness(backend):
    tasks = load_tasks(None)
    grader = Grader(backend)
    try:
        for task in tasks[:2]:
            tree = task_tree(task, tasks)
            empty = await grader.grade(task, "", tree, run_empty=True)
            assert empty.status == "unresolved" and sorted(empty.report.f2p_failure) == sorted(task.fail_to_pass)
            assert not empty.report.p2p_failure
            gold = await grader.grade(task, task.patch, tree)
            assert gold.status == "resolved" and gold.resolved, gold.log[-1500:]
    finally:
        await grader.close()


async def test_wrong_patch_is_not_resolved(backend):
    env = agentgym.make("swe/tasks", sandbox=backend)
    try:
        await env.reset(seed=4)  # semverlite-5: bump_minor keeps the patch number
        await run(env, "str_replace_editor", command="str_replace", path="semverlite/version.py",
                  old_str="return Version(self.major + 1)", new_str="return Version(self.major + 2)")
        res, text = await run(env, "submit")
        grade = res.info["grade"]
        assert res.done and not res.success and grade["status"] == "unresolved"
        assert grade["f2p_failure"] == ["tests/test_version.py::test_bump_minor_resets_patch"]
        assert "tests/test_version.py::test_bump_major" in grade["p2p_failure"]
        assert res.reward == pytest.approx(0.1) and res.channels["MR"] == 1.0 and res.channels["RR"] == 0.0
        assert "diff --git a/semverlite/version.py" in res.info["model_patch"]
    finally:
        await env.close()
