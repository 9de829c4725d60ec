"""``tools/*`` envs: verifiable tasks solved with sandboxed Python, a calculator and everyday tools.

    env = agentgym.make("tools/python")                    # python + answer (OpenAI tools)
    env = agentgym.make("tools/mixed", format="tags")      # ARPO/ReTool: <python>…</python> → <result>…</result>
    env = agentgym.make("tools/calc", families=["gcd"], difficulty=2, split="test")
    env = agentgym.make("tools/python", tasks="my_qa.jsonl", sandbox="docker")

``answer(text)`` ends the episode; reward = correctness in [0, 1] (the family's scorer,
``\\boxed{}`` stripped). Channels: ``format`` (-1 on malformed actions), ``tool_ok`` (share of
calls that worked), ``outcome`` (correctness, on the answer step). Info: ``tool_calls_total``
(tool calls so far, answer excluded), ``tools_used``, ``score``.
"""

from __future__ import annotations

import json
from typing import Any

from agentgym.env import ToolEnv, ToolError, ToolResult
from agentgym.offload import OffloadTimeout, WorkerCrashed, run_in_process
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall

from .calculator import CalculatorError, calculate, evaluate
from .everyday import convert as convert_units
from .everyday import dates as date_math
from .python_tool import PythonRunner
from .scoring import score_answer, strip_boxed
from .tasks import CALC_FAMILIES, PYTHON_FAMILIES, ReasoningGymTasks, TaskSource, make_task_source

SYSTEM_PROMPT = (
    "Solve the task. Use the tools when they help: they compute exactly, you may not. "
    "When you are sure, call answer with only the final answer (no explanation)."
)


MAX_TIMEOUT_S = 600
MIN_MEMORY_MB, MAX_MEMORY_MB = 64, 65_536


class ToolTaskEnv(ToolEnv):
    """Shared logic of the tools family: tasks, the ``answer`` tool, budgets and scoring.

    Args:
        tasks: ``"reasoning_gym"`` (default), a path to a local question/answer file, or a TaskSource.
        families: reasoning-gym families (list or name → config mapping).
        difficulty: reasoning-gym curriculum level (0 = easiest); None = family defaults.
        split: ``train`` or ``test`` (disjoint task pools).
        max_tool_calls: tool calls allowed per episode before only ``answer`` works (None = no cap).
        sandbox / timeout / memory_mb: the python tool's sandbox kind and limits.
    """

    system_prompt = SYSTEM_PROMPT
    result_tag = "result"
    default_families: list[str] = PYTHON_FAMILIES
    # what **sandbox_kwargs takes: PythonRunner's options and make_sandbox's backend options
    accepted_kwargs = ("output_bytes", "python", "image", "allow_local", "env", "network", "name", "ro_binds",
                       "persistent", "user")

    def __init__(self, tasks: str | TaskSource | None = None, *, families: Any = None, difficulty: int | None = None,
                 split: str = "train", max_tool_calls: int | None = None, sandbox: str = "bwrap",
                 timeout: float = 10.0, memory_mb: int = 512, **sandbox_kwargs: Any):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        unknown = sorted(set(sandbox_kwargs) - set(self.accepted_kwargs))
        if unknown:
            raise TypeError(f"{type(self).__name__} takes no argument(s) {unknown}; sandbox options are "
                            f"{', '.join(self.accepted_kwargs)}")
        if max_tool_calls is not None and max_tool_calls < 0:
            raise ValueError(f"max_tool_calls must be >= 0 or None, got {max_tool_calls}")
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout must be > 0 and <= {MAX_TIMEOUT_S} seconds per python call, got {timeout!r}")
        if not isinstance(memory_mb, int) or not MIN_MEMORY_MB <= memory_mb <= MAX_MEMORY_MB:
            raise ValueError(f"memory_mb must be an integer between {MIN_MEMORY_MB} and {MAX_MEMORY_MB}, "
                             f"got {memory_mb!r}")
        if difficulty is not None and (not isinstance(difficulty, int) or difficulty < 0):
            raise ValueError(f"difficulty must be an integer >= 0 or None, got {difficulty!r}")
        # the python tool's own limit plus sandbox start-up, so the hard tool limit never cuts it short
        self.tool_timeout = max(type(self).tool_timeout or 0.0, 3 * float(timeout) + 30.0)
        self.source = make_task_source(tasks, families if families is not None else self.default_families, difficulty)
        self.split, self.max_tool_calls = split, max_tool_calls
        self.sandbox_config: dict[str, Any] = {"sandbox": sandbox, "timeout": timeout, "memory_mb": memory_mb,
                                               **sandbox_kwargs}
        self._runner: PythonRunner | None = None
        self._rg_fallback: ReasoningGymTasks | None = None

    # ------------------------------------------------------------------ episode
    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        if task is None:
            task = self.source.task(seed, self.split)
        elif "answer" not in task.data and "answers" not in task.data:
            raise ValueError(f"task {task.id!r} has no data['answer']; tools tasks need a gold answer to score")
        self.set_task(task)
        self.tool_calls_total, self.tools_used = 0, []
        if self._runner is not None:
            await self._runner.clear()
        return StepResult(messages=[Message.user(task.instruction)],
                          info={"task_id": task.id, "family": task.data.get("family")})

    async def _step(self, action: Message) -> StepResult:
        result = await super()._step(action)
        result.info["tool_calls_total"] = self.tool_calls_total
        result.info["tools_used"] = sorted(set(self.tools_used))
        return result

    def _spend(self, name: str) -> None:
        """Counts a tool call; raises ToolError once the episode's budget is spent."""
        if self.max_tool_calls is not None and self.tool_calls_total >= self.max_tool_calls:
            raise ToolError(f"the budget of {self.max_tool_calls} tool calls is used up; give your final answer "
                            "with answer(...)")
        self.tool_calls_total += 1
        self.tools_used.append(name)

    def score(self, task: Task, text: str) -> float:
        """Correctness of ``text`` for ``task`` in [0, 1]."""
        if task.data.get("source") == "reasoning_gym" and "family" in task.data:
            source = self.source
            if not isinstance(source, ReasoningGymTasks):
                self._rg_fallback = self._rg_fallback or ReasoningGymTasks([task.data["family"]])
                source = self._rg_fallback
            return source.score(task, text)
        if isinstance(self.source, TaskSource) and task.data.get("source") == getattr(self.source, "name", None):
            return self.source.score(task, text)
        return score_answer(text, task.data.get("answers") or [task.data["answer"]])

    # ------------------------------------------------------------------ tools used by subclasses
    def _python_runner(self) -> PythonRunner:
        if self._runner is None:
            self._runner = PythonRunner(**self.sandbox_config)
        return self._runner

    async def _close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.close()

    # ------------------------------------------------------------------ oracle
    async def oracle(self) -> list[Message] | None:
        """One call of the env's main tool (when it can help), then the gold answer."""
        task = self.task
        gold = task.data.get("answer") if task.data.get("answer") is not None else (task.data.get("answers") or [""])[0]
        plan = [m for m in [self._oracle_tool_call(task, str(gold))] if m is not None]
        plan.append(_call("answer", text=str(gold)))
        return plan

    def _oracle_tool_call(self, task: Task, gold: str) -> Message | None:
        return None


def _call(name: str, **arguments: Any) -> Message:
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(arguments))])


class AnswerTool:
    """Mixin: the ``answer`` tool (listed last among the tools, hence a mixin)."""

    @tool
    def answer(self, text: str) -> ToolResult:
        """Give the final answer; this ends the episode.

        Args:
            text: only the final answer, e.g. 42 (\\boxed{42} is accepted too).
        """
        final = strip_boxed(text or "")
        if not final.strip():
            raise ToolError("the answer is empty; call answer with the final answer, e.g. answer(\"42\")")
        score = self.score(self.task, final.strip())
        return ToolResult(content=f"Answer recorded: {final.strip()[:200]}", reward=score, done=True,
                          success=score >= 0.999, channels={"outcome": score}, info={"score": score})


class PythonTool:
    """Mixin: the sandboxed ``python`` tool."""

    @tool
    async def python(self, code: str) -> ToolResult:
        """Run Python code in a sandbox (a fresh interpreter per call, no network). Print what you need; the value
        of a final bare expression is shown too.

        Args:
            code: Python source code.
        """
        self._spend("python")
        outcome = await self._python_runner().run(code)
        return ToolResult(content=outcome.text, ok=outcome.ok,
                          info={"python_exit_code": outcome.exit_code, "python_timed_out": outcome.timed_out})

    def _oracle_tool_call(self, task: Task, gold: str) -> Message | None:
        expression = task.data.get("metadata", {}).get("expression")
        code = expression if isinstance(expression, str) and expression.strip() else f"print({gold!r})"
        return _call("python", code=code)


class CalculatorTool:
    """Mixin: the ``calculator`` tool. Expressions are bounded before computing and evaluated in a
    worker process killed after ``calculator_timeout`` s, so no expression can freeze other episodes."""

    calculator_timeout: float = 5.0

    @tool
    async def calculator(self, expression: str) -> str:
        """Evaluate an arithmetic expression exactly: + - * / // % ** (or ^), parentheses, sqrt, log, sin, gcd,
        factorial, pi, e, ...

        Args:
            expression: e.g. (17 * 3) ^ 2 / 4
        """
        self._spend("calculator")
        try:
            return await run_in_process(calculate, expression, timeout=self.calculator_timeout)
        except CalculatorError as e:
            raise ToolError(str(e)) from None
        except OffloadTimeout:
            raise ToolError(f"the calculation did not finish within {self.calculator_timeout:g} s and was stopped; "
                            "use smaller numbers") from None
        except (WorkerCrashed, MemoryError):
            raise ToolError("the calculation ran out of memory and was stopped; use smaller numbers") from None

    def _oracle_tool_call(self, task: Task, gold: str) -> Message | None:
        expression = task.data.get("metadata", {}).get("expression")
        if isinstance(expression, str):
            try:
                evaluate(expression)
                return _call("calculator", expression=expression)
            except CalculatorError:
                return None
        return None


class EverydayTools:
    """Mixin: ``convert`` (units) and ``dates`` (calendar arithmetic)."""

    @tool
    def convert(self, query: str) -> str:
        """Convert units: length, mass, time, volume, area, speed, energy, pressure, data, temperature.

        Args:
            query: '<number> <unit> to <unit>', e.g. 12 km to mi
        """
        self._spend("convert")
        try:
            return convert_units(query)
        except ValueError as e:
            raise ToolError(str(e)) from None

    @tool
    def dates(self, expression: str) -> str:
        """Date arithmetic: weekday of a date, DATE + 3 weeks - 2 days, days between two dates, durations
        between times of day.

        Args:
            expression: e.g. 2024-03-01 + 45 days, 2023-12-25 to 2024-03-01, 18:34:08 to 21:56:11
        """
        self._spend("dates")
        try:
            return date_math(expression)
        except ValueError as e:
            raise ToolError(str(e)) from None


class PythonToolsEnv(AnswerTool, PythonTool, ToolTaskEnv):
    """``tools/python``: reasoning tasks with a sandboxed Python interpreter."""


class CalcToolsEnv(AnswerTool, EverydayTools, CalculatorTool, ToolTaskEnv):
    """``tools/calc``: arithmetic and calendar tasks with a calculator, unit and date tools (no sandbox)."""

    default_families = CALC_FAMILIES


class MixedToolsEnv(AnswerTool, EverydayTools, CalculatorTool, PythonTool, ToolTaskEnv):
    """``tools/mixed``: every tool (python, calculator, convert, dates)."""

    _oracle_tool_call = PythonTool._oracle_tool_call


__all__ = ["ToolTaskEnv", "PythonToolsEnv", "CalcToolsEnv", "MixedToolsEnv"]
