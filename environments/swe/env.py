"""``swe/tasks``: fix a repository so its tests pass, with ``bash``, ``str_replace_editor`` and ``submit``.

    env = agentgym.make("swe/tasks")                                   # bundled tasks, docker sandbox
    env = agentgym.make("swe/tasks", tasks="rows.jsonl", sandbox="bwrap")
    first = await env.reset(seed=0)         # problem statement + repository layout
    ...
    result = await env.step(Message.assistant(tool_calls=[ToolCall(name="submit")]))
    result.info["grade"]["status"]          # resolved | unresolved | empty_patch | patch_apply_failed | ...

The repository is at /workspace in a sandbox (network off), checked out at ``base_commit``
with no history (see :mod:`.checkout`). ``submit`` diffs the working tree against the base,
and grades that patch plus ``test_patch`` in another sandbox (:mod:`.grading`).

Rewards are outcome levels: no submit < empty patch < patch that fails the tests < resolved
(``outcome_levels=`` changes the values). Step channels: ``format`` (the action parsed),
``tool_ok`` (share of tool calls that worked), ``modified`` (1 when the working tree changed
this step), ``tested`` (1 when a bash call ran the tests); on the last step ``CR`` (submitted),
``MR`` (non-empty patch) and ``RR`` (resolved), whose means in summary.json are the completion,
modification and resolution rates.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentgym.env import Env, ToolEnv, ToolError, ToolResult
from agentgym.sandboxes import SandboxError
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall

from .checkout import TREE_ID, WORKDIR, Checkout, model_patch, tree_id
from .editor import Editor
from .grading import GradeResult, Grader
from .repos import task_tree
from .rows import SWETask, TaskRowError, load_tasks, validate_row
from .sandbox import BACKENDS, acquire, checkout_task, release, resolve_backend

SYSTEM_PROMPT = (
    "You are a software engineer fixing an issue in a Python repository checked out at /workspace. "
    "Use bash to explore and run commands (the shell keeps its directory and exported variables), "
    "str_replace_editor to view and edit files, and run the tests to check your fix. Do not modify the "
    "existing tests. When the issue is fixed, call submit."
)
TEST_COMMAND = re.compile(r"\b(pytest|py\.test|unittest|tox|nox|runtests\.py|make\s+test)\b")
_SANDBOX_CUT = re.compile(r"\[\.\.\. (\d+) bytes truncated \.\.\.\]")
TREE_MARK = "__agentgym_tree__"
# appended to a bash command: the working tree's id in the same exec (saves one exec per call), exit code kept
TREE_PROBE = ("\n__ag_rc=$?; printf '\\n" + TREE_MARK + "%s\\n' \"$( ( " + TREE_ID.replace("\\\n", "")
              + " ) 2>/dev/null )\"; (exit $__ag_rc)")


def _remove_path(path: str) -> None:
    """Deletes a snapshot (a tarball on docker, a directory on bwrap)."""
    import os
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.unlink(path)


class OutcomeLevels(BaseModel):
    """Episode rewards by outcome; each level must be above the previous one."""

    model_config = ConfigDict(extra="forbid")
    no_submit: float = 0.0
    empty_patch: float = 0.05
    failed: float = 0.1
    resolved: float = 1.0

    def model_post_init(self, _context: Any) -> None:
        order = [self.no_submit, self.empty_patch, self.failed, self.resolved]
        if order != sorted(order) or len(set(order)) != 4:
            raise ValueError(f"outcome_levels must increase: no_submit < empty_patch < failed < resolved, got {order}")

    def of(self, grade: GradeResult) -> float:
        if grade.resolved:
            return self.resolved
        return self.empty_patch if grade.status == "empty_patch" else self.failed


def clip_output(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (head and tail kept) with a notice saying how much was cut."""
    sandbox_cut = sum(int(n) for n in _SANDBOX_CUT.findall(text))
    if len(text) <= limit and not sandbox_cut:
        return text
    if len(text) > limit:
        head, tail = text[: limit // 2], text[-(limit - limit // 2):]
        cut = len(text) - limit
        text = f"{head}\n[... {cut} characters cut here ...]\n{tail}"
    else:
        cut = 0
    total = cut + sandbox_cut
    return text + (f"\n[output truncated: {total} characters/bytes of output were not shown; redirect long output "
                   "to a file and view parts of it, e.g. with head, tail or grep]")


class SWEEnv(ToolEnv):
    """Resolve a SWE-bench-style task in a sandboxed repository.

    Args:
        tasks: a .jsonl/.json path, a list of rows, a datasets.Dataset, or None for the bundled tasks.
        sandbox: ``docker`` (default), ``bwrap`` or ``auto`` (docker when ready, else bwrap).
        image: docker image for rows without ``image`` (default agentgym/swe:latest).
        bash_timeout: default seconds per bash call (the call's ``timeout`` argument may ask up to 600).
        test_timeout: seconds for the test run when grading.
        max_output_chars: tool output shown to the model (the rest is cut with a notice).
        outcome_levels: rewards, e.g. {"no_submit": 0, "empty_patch": 0.05, "failed": 0.1, "resolved": 1}.
    """

    system_prompt = SYSTEM_PROMPT

    # episode state (set by _reset, the tools and fork)
    row: SWETask
    base: Checkout
    last_tree: str | None = None
    submitted: bool = False
    grade: Any = None
    _tested: bool = False

    def __init__(self, tasks: Any = None, *, sandbox: Literal["docker", "bwrap", "auto"] = "docker",
                 image: str | None = None, bash_timeout: float = 60.0, test_timeout: float = 300.0,
                 max_output_chars: int = 12000, outcome_levels: dict[str, float] | None = None):
        if sandbox not in BACKENDS:
            raise ValueError(f"sandbox must be one of {', '.join(BACKENDS)}, got {sandbox!r}")
        if not bash_timeout > 0 or not test_timeout > 0 or max_output_chars < 200:
            raise ValueError("bash_timeout and test_timeout must be > 0 and max_output_chars >= 200")
        self.tasks: list[SWETask] = load_tasks(tasks)
        self.sandbox_choice, self.image = sandbox, image
        self.bash_timeout, self.test_timeout, self.max_output_chars = bash_timeout, test_timeout, max_output_chars
        self.levels = OutcomeLevels(**(outcome_levels or {}))
        self._sandbox = None
        self._grader: Grader | None = None
        self._backend: str | None = None

    # ------------------------------------------------------------------ episode
    def _pick(self, seed: int, task: Task | None) -> SWETask:
        if task is None:
            return self.tasks[seed % len(self.tasks)]
        if task.data.get("instance_id"):
            return validate_row(task.data)
        for row in self.tasks:
            if row.instance_id == task.id:
                return row
        raise TaskRowError(f"no task {task.id!r} among {len(self.tasks)} loaded tasks; pass a row in task.data")

    @property
    def backend(self) -> str:
        if self._backend is None:
            self._backend = resolve_backend(self.sandbox_choice, self.image)
        return self._backend

    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        row = self._pick(seed, task)
        self.row = row
        self.tree_dir = await asyncio.to_thread(task_tree, row, self.tasks)
        if self._sandbox is None:
            self._sandbox = await acquire(self.backend, row.image or self.image)
        self.base: Checkout = await checkout_task(self._sandbox, row, self.tree_dir)
        self.shell = self._sandbox.shell()
        self.editor = Editor(self._sandbox, self.max_output_chars)
        self.last_tree: str | None = self.base.tree
        self.submitted, self.grade = False, None
        self.set_task(Task(id=row.instance_id, instruction=row.problem_statement, data={"repo": row.repo}))
        listing = await self._sandbox.exec(["bash", "-c", "/usr/bin/git ls-files | head -n 200"], timeout=60)
        text = (f"<issue>\n{row.problem_statement.strip()}\n</issue>\n\nThe repository {row.repo} is checked out at "
                f"{WORKDIR} (your shell starts there). Its files:\n{listing.stdout.rstrip()}\n\n"
                "Make the smallest change to the non-test files that resolves the issue, then call submit.")
        return StepResult(messages=[Message.user(text)], info={"instance_id": row.instance_id, "repo": row.repo})

    async def _advance(self, action: Message | str, refusal: str | None) -> StepResult:
        result = await super()._advance(action, refusal)
        if result.truncated and not self.submitted:
            result.reward += self.levels.no_submit
            result.channels["outcome"] = self.levels.no_submit
        return result

    async def _step(self, action: Message) -> StepResult:
        self._tested, self._probed = False, None
        result = await super()._step(action)
        if result.done:
            return result
        result.channels["tested"] = float(self._tested)
        names = {c.name for c in action.tool_calls or []}
        changed = 0.0
        if names & {"bash", "str_replace_editor"}:
            now = self._probed or await tree_id(self._sandbox)  # a bash call that ran last measured it already
            changed = float(now != self.last_tree)
            self.last_tree = now
        result.channels["modified"] = changed
        return result

    # ------------------------------------------------------------------ tools
    @tool
    async def bash(self, command: str, timeout: int | None = None) -> ToolResult:
        """Run a bash command in the repository. The shell persists between calls (cd and export carry over);
        no network. Long output is cut; redirect it to a file and read parts of it.

        Args:
            command: the command line, e.g. grep -rn "def parse" semverlite
            timeout: seconds before the command is killed (default 60, at most 600).
        """
        if not command.strip():
            raise ToolError("the command is empty")
        if "\x00" in command:
            raise ToolError("the command contains a NUL byte")
        seconds = self.bash_timeout if timeout is None else timeout
        if not 0 < seconds <= 600:
            raise ToolError(f"timeout must be between 1 and 600 seconds, got {timeout}")
        self._tested = self._tested or bool(TEST_COMMAND.search(command))
        self._probed = None
        probe = "<<" not in command and not command.rstrip().endswith("\\")  # here-docs, line continuations
        try:
            result = await self.shell.run(command + TREE_PROBE if probe else command, timeout=seconds)
        except SandboxError as exc:
            raise ToolError(f"the command could not run: {exc}") from None
        if probe:
            head, mark, tail = result.stdout.rpartition("\n" + TREE_MARK)
            if mark and tail.strip() and "\n" not in tail.strip():
                result = result.model_copy(update={"stdout": head})
                self._probed = tail.strip()
        text = clip_output(result.output, self.max_output_chars)
        if result.timed_out:
            return ToolResult(content=f"{text}\n[the command timed out after {seconds:g} s and was killed; run long "
                                      "jobs with a larger timeout or in smaller steps]", ok=False,
                              info={"exit_code": result.exit_code})
        if result.exit_code != 0:
            text += f"\n[exit code {result.exit_code}]"
        return ToolResult(content=text or "(no output)", info={"exit_code": result.exit_code})

    @tool
    async def str_replace_editor(self, command: Literal["view", "create", "str_replace", "insert", "undo_edit"],
                                 path: str, file_text: str | None = None, old_str: str | None = None,
                                 new_str: str | None = None, insert_line: int | None = None,
                                 view_range: list[int] | None = None) -> str:
        """View, create and edit files. view numbers lines (view_range=[start, end], end -1 = to the end) and
        lists directories; create writes a new file; str_replace replaces old_str, which must match exactly
        once; insert adds new_str after line insert_line (0 = top); undo_edit reverts the last edit of a file.

        Args:
            command: view, create, str_replace, insert or undo_edit.
            path: a file or directory, relative to /workspace or absolute inside it.
            file_text: the content of the new file (create).
            old_str: the exact text to replace, with enough context to be unique (str_replace).
            new_str: the replacement (str_replace) or the text to insert (insert).
            insert_line: the line after which new_str goes (insert).
            view_range: [start, end] lines to show (view).
        """
        self._probed = None
        return await self.editor.run(command, path, file_text=file_text, old_str=old_str, new_str=new_str,
                                     insert_line=insert_line, view_range=view_range)

    @tool
    async def submit(self) -> ToolResult:
        """Submit the repository's current changes as the fix; they are graded by the repository's tests in a clean
        checkout. This ends the episode."""
        patch = await model_patch(self._sandbox, self.base)
        if patch is None:
            patch = ""
            note = "Your changes could not be read from the repository (is .git intact?); graded as an empty patch."
        else:
            note = ""
        if self._grader is None:
            self._grader = Grader(self.backend, self.image, self.test_timeout)
        grade = await self._grader.grade(self.row, patch, self.tree_dir)
        self.submitted, self.grade = True, grade
        level = self.levels.of(grade)
        failing = grade.report.f2p_failure + grade.report.p2p_failure
        summary = {"resolved": "Resolved: every target test passes.",
                   "empty_patch": "Nothing to grade: the repository has no changes.",
                   "patch_apply_failed": "Your changes could not be applied to a clean checkout.",
                   "timeout": "The tests timed out.",
                   "test_error": "The tests did not run (see the log).",
                   "test_patch_failed": "The task's tests could not be added to your changes.",
                   }.get(grade.status, f"Not resolved: {len(failing)} target test(s) fail, e.g. {failing[:3]}.")
        info = {"grade": {"status": grade.status, "resolved": grade.resolved, "seconds": round(grade.seconds, 3),
                          "f2p_failure": grade.report.f2p_failure, "p2p_failure": grade.report.p2p_failure,
                          "f2p_success": len(grade.report.f2p_success), "p2p_success": len(grade.report.p2p_success)},
                "model_patch": patch,
                "instance_id": self.row.instance_id}
        channels = {"CR": 1.0, "MR": float(bool(patch.strip())), "RR": float(grade.resolved), "outcome": level}
        return ToolResult(content=f"Submitted. {note}{summary}", reward=level, done=True, success=grade.resolved,
                          channels=channels, info=info)

    # ------------------------------------------------------------------ oracle, fork, close
    async def oracle(self) -> list[Message]:
        """The gold patch applied through the editor (one str_replace per changed hunk, or create), then submit."""
        from .oracle import gold_edits

        calls = [ToolCall(name="str_replace_editor", arguments=json.dumps(args))
                 for args in await gold_edits(self.row, self.tree_dir)]
        calls.append(ToolCall(name="submit", arguments="{}"))
        return [Message.assistant(tool_calls=[c]) for c in calls]

    async def fork(self) -> Env:
        """An independent copy at the same state: a snapshot of this sandbox restored into a new one."""
        self._check_open()
        twin = object.__new__(type(self))  # the configuration is copied, the episode restored from a snapshot
        for key in ("tasks", "sandbox_choice", "image", "bash_timeout", "test_timeout", "max_output_chars",
                    "levels", "_backend"):
            setattr(twin, key, getattr(self, key))
        twin._sandbox, twin._grader = None, None
        self._copy_episode(twin)
        if not self._started:
            return twin
        keep = f"{WORKDIR}/.git/agentgym-shell"  # /tmp is not in a snapshot: carry the shell's cwd and exports
        await self.shell.run(f'[ -d {WORKDIR}/.git ] && mkdir -p {keep} && cp -a "$__ag_state"/. {keep}/ 2>/dev/null; true')
        twin._sandbox = await acquire(self.backend, self.row.image or self.image)
        snap = await self._sandbox.snapshot()
        try:
            await twin._sandbox.restore(snap)
        finally:
            await asyncio.to_thread(_remove_path, snap.path)
        from .checkout import helpers

        await helpers(twin._sandbox)
        twin.shell = twin._sandbox.shell()
        await twin._sandbox.exec(["bash", "-c", f"[ -d {keep} ] && mkdir -p {twin.shell.state_dir} && cp -a {keep}/. "
                                                f"{twin.shell.state_dir}/; rm -rf {keep}"], timeout=60)
        await self._sandbox.exec(["rm", "-rf", keep], timeout=60)
        twin.editor = Editor(twin._sandbox, self.max_output_chars)
        twin.editor.history = {k: list(v) for k, v in self.editor.history.items()}
        for key in ("row", "tree_dir", "base", "last_tree", "submitted", "grade"):
            setattr(twin, key, getattr(self, key))
        return twin

    async def _close(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        grader, self._grader = self._grader, None
        if grader is not None:
            await grader.close()
        if sandbox is not None:
            await release(sandbox)
