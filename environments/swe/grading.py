"""Grading as the SWE-bench harness does, in a sandbox the agent never touched.

    grader = Grader("docker")
    result = await grader.grade(task, model_patch, tree_dir)
    result.status      # resolved | unresolved | empty_patch | patch_apply_failed | test_patch_failed | timeout | test_error
    result.report      # FAIL_TO_PASS / PASS_TO_PASS successes and failures

Steps (the harness's eval script): a clean checkout of ``base_commit``; apply the model patch
(``git apply -v``, then ``patch --batch --fuzz=5 -p1``); reset the files ``test_patch`` touches to
their base state and apply ``test_patch``; run ``test_cmd`` on the test files; parse the log;
``resolved`` iff every FAIL_TO_PASS test passes and no PASS_TO_PASS test fails. The grading
sandbox is restored to its clean snapshot before every grade (processes killed, /workspace and
/tmp replaced), so nothing from an earlier grade survives either.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agentgym.sandboxes import Sandbox

from .checkout import COMMIT_ENV, GIT, HELPER_DIR, WORKDIR, Checkout
from .logs import TestsReport, log_format, parse_log, resolution_report
from .rows import SWETask
from .sandbox import acquire, checkout_task, release

GradeStatus = Literal["resolved", "unresolved", "empty_patch", "patch_apply_failed", "test_patch_failed",
                      "timeout", "test_error"]
APPLY_FAILED, TEST_PATCH_FAILED = 81, 82
START, END = ">>>>> agentgym: start test output", ">>>>> agentgym: end test output"


class GradeResult(BaseModel):
    """The outcome of grading one patch."""

    instance_id: str
    status: GradeStatus
    resolved: bool = False
    report: TestsReport = Field(default_factory=TestsReport)
    statuses: dict[str, str] = Field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0


def _modified_and_new(diff: str) -> tuple[list[str], list[str]]:
    """(files the diff modifies or deletes, files it creates)."""
    modified, new = [], []
    for block in re.split(r"^diff --git ", diff, flags=re.M)[1:]:
        header = block.split("\n", 1)[0]
        match = re.match(r"a/(\S+) b/(\S+)", header)
        if not match:
            continue
        (new if "\nnew file mode" in block.split("@@", 1)[0] else modified).append(match.group(2))
    return modified, new


def eval_script(task: SWETask, base: Checkout) -> str:
    """The bash script that applies both patches and runs the tests (patches are in HELPER_DIR)."""
    modified, new = _modified_and_new(task.test_patch)
    reset = ""
    if modified:
        reset += f"{GIT} checkout -q {base.commit} -- {' '.join(shlex.quote(p) for p in modified)}\n"
    if new:
        reset += f"rm -rf -- {' '.join(shlex.quote(p) for p in new)}\n"
    targets = " ".join(shlex.quote(t) for t in task.test_targets())
    return f"""cd {WORKDIR}
if [ -s {HELPER_DIR}/model.patch ]; then
  {GIT} apply -v {HELPER_DIR}/model.patch \\
    || patch --batch --fuzz=5 -p1 -i {HELPER_DIR}/model.patch \\
    || {{ echo ">>>>> agentgym: patch apply failed"; exit {APPLY_FAILED}; }}
fi
{reset}if [ -s {HELPER_DIR}/test.patch ]; then
  {GIT} apply -v {HELPER_DIR}/test.patch || {{ echo ">>>>> agentgym: test patch apply failed"; exit {TEST_PATCH_FAILED}; }}
fi
echo "{START}"
{task.test_cmd} {targets} 2>&1
echo "{END} (exit $?)"
"""


class Grader:
    """Grades patches in one reusable sandbox, restored to a clean checkout of the task first."""

    def __init__(self, backend: str, image: str | None = None, test_timeout: float = 300.0):
        self.backend, self.image = backend, image
        self.test_timeout = test_timeout
        self._sandbox: Sandbox | None = None
        self._lock = asyncio.Lock()

    async def _prepare(self, task: SWETask, tree_dir: Path) -> tuple[Sandbox, Checkout]:
        if self._sandbox is None:
            self._sandbox = await acquire(self.backend, task.image or self.image)
        return self._sandbox, await checkout_task(self._sandbox, task, tree_dir)

    async def grade(self, task: SWETask, patch: str | None, tree_dir: Path, *, run_empty: bool = False) -> GradeResult:
        """Applies ``patch`` and ``task.test_patch`` to a clean checkout, runs the tests, reads the log.

        An empty patch is ``empty_patch`` without running anything (as the harness skips it) unless
        ``run_empty`` (used by validation: the tests must fail without a fix).
        """
        started = time.perf_counter()
        if not (patch or "").strip() and not run_empty:
            return GradeResult(instance_id=task.instance_id, status="empty_patch", seconds=0.0)
        async with self._lock:
            sandbox, base = await self._prepare(task, tree_dir)
            for name, data in (("model.patch", patch or ""), ("test.patch", task.test_patch)):
                await sandbox.exec(["bash", "-c", f'mkdir -p {HELPER_DIR} && cat > {HELPER_DIR}/{name}'],
                                   stdin=data.encode(), timeout=60)
            run = await sandbox.exec(["bash", "-c", eval_script(task, base)], timeout=self.test_timeout,
                                     env=COMMIT_ENV)
        seconds = time.perf_counter() - started
        log = run.output
        result = GradeResult(instance_id=task.instance_id, status="unresolved", log=log[-20000:], seconds=seconds)
        if run.timed_out:
            result.status = "timeout"
            return result
        if run.exit_code == APPLY_FAILED:
            result.status = "patch_apply_failed"
            return result
        if run.exit_code == TEST_PATCH_FAILED:
            result.status = "test_patch_failed"
            return result
        test_log = log.split(START, 1)[-1].split(END, 1)[0] if START in log else ""
        result.statuses = parse_log(test_log, log_format(task.test_cmd))
        if not result.statuses:
            result.status = "test_error"
            return result
        result.report = resolution_report(result.statuses, task.fail_to_pass, task.pass_to_pass)
        result.resolved = result.report.resolved
        result.status = "resolved" if result.resolved else "unresolved"
        return result

    async def close(self) -> None:
        """Hands the grading sandbox back to the warm pool (emptied first)."""
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await release(sandbox)
