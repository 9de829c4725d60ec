"""The bundled tasks' oracles: scripted solutions (CSS/text selectors) turned into tool calls.

    plan = await env.oracle()                     # tool calls with this task's element ids
    played, last = await env.play_oracle_script() # plays it on the live episode (validation)

Element ids are read from the live page just before each step. They are stable per page load,
so one replay per task and process is enough: the result is cached (``ORACLE_CACHE``).
"""

from __future__ import annotations

import json
from typing import Any

from agentgym.types import Message, StepResult, Task, ToolCall

from .browser import WebInfraError

ORACLE_CACHE: dict[tuple, list[Message]] = {}   # bundled task -> its oracle's tool calls


class WebOracle:
    """Mixed into :class:`~.env.WebEnv` (uses its ``web_task``, ``session``, ``pool``, ``step``, ``spawn``)."""

    async def oracle(self) -> list[Message] | None:
        """The task's scripted solution as tool calls, from the task's start.

        Element ids are read from the pages by playing the script once on a fresh copy of the task
        (ids are stable per page load, so the result is cached per task for this process);
        :func:`~.validate.validate_tasks` fills the same cache while it checks the tasks.
        """
        script = self.web_task.get("oracle")
        if not script:
            return None
        key = self._oracle_key()
        if key is not None and key in ORACLE_CACHE:
            return [m.model_copy(deep=True) for m in ORACLE_CACHE[key]]
        probe = self.spawn()
        try:
            await probe.reset(task=Task(id=self.web_task["task_id"]))
            out, _ = await probe.play_oracle_script()
            return out
        finally:
            await probe.close()

    async def play_oracle_script(self) -> tuple[list[Message], StepResult | None]:
        """Plays this episode's oracle script from where it is (a fresh reset), reading each element id from
        the live page just before its step; returns the played actions and the last result. Raises
        :class:`WebInfraError` when a step fails (a broken script or site, not an agent mistake)."""
        out: list[Message] = []
        res = None
        for step in self.web_task.get("oracle") or []:
            msg = Message.assistant(tool_calls=[await self._oracle_call(step)])
            out.append(msg)
            res = await self.step(msg)
            if res.done:
                break
            if res.channels.get("tool_ok", 1.0) < 1.0:
                raise WebInfraError(f"oracle step {step} of task {self.web_task.get('task_id')} failed: "
                                    f"{res.messages[-1].content[:300]}")
        key = self._oracle_key()
        if key is not None and res is not None and res.done and res.success:
            ORACLE_CACHE[key] = [m.model_copy(deep=True) for m in out]
        return out, res

    def _oracle_key(self) -> tuple | None:
        """What the oracle's element ids depend on: the task and the bundled sites' versions."""
        from .sites import get_site

        t = self.web_task
        sites = tuple(f"{s}-v{get_site(s).version}" for s in t.get("sites") or self.sites)
        return t.get("task_id"), t.get("start_url"), json.dumps(t.get("oracle"), sort_keys=True), sites

    async def _oracle_call(self, step: dict[str, Any]) -> ToolCall:
        do = step["do"]
        if do in ("answer", "goto", "press", "scroll", "go_back"):
            args = {k: (self.resolve(v) if k == "url" else v) for k, v in step.items() if k not in ("do", "sel")}
            return ToolCall(name=do, arguments=json.dumps(args))

        async def find() -> str:
            loc = self.session.page.locator(step["sel"]).first
            return await loc.get_attribute("data-agid", timeout=3000) or ""

        ref = await self.pool.call(find)
        args = {"element_id": ref, **{k: v for k, v in step.items() if k not in ("do", "sel")}}
        return ToolCall(name=do, arguments=json.dumps(args))
