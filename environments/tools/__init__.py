"""Tool-use environments: sandboxed Python, a safe calculator, unit and date tools, verifiable tasks.

Env ids (registered through the ``agentgym.environments`` entry point)::

    tools/python   python + answer                      reasoning-gym families (default 21)
    tools/calc     calculator, convert, dates + answer  arithmetic and calendar families, no sandbox
    tools/mixed    every tool                           ARPO/ReTool-style runs

    env = agentgym.make("tools/python", format="tags")   # <python>…</python> → <result>…</result>, <answer>…</answer>
    env = agentgym.make("tools/calc", tasks="qa.jsonl")  # local question/answer rows

Importing this package loads nothing heavy; the sandbox starts on the first ``python`` call.
"""

from __future__ import annotations


def register_envs() -> None:
    """Registers the ``tools/*`` ids with agentgym (the entry point of group ``agentgym.environments``)."""
    from agentgym.registry import register

    register("tools/python", "agentgym.environments.tools.env:PythonToolsEnv",
             description="Reasoning-gym tasks solved with a sandboxed Python tool; answer(text) ends the episode.",
             max_turns=8, tags=["tools", "python", "sandbox"], requirements=["bwrap|docker", "reasoning-gym"])
    register("tools/calc", "agentgym.environments.tools.env:CalcToolsEnv",
             description="Arithmetic and calendar tasks with calculator, unit-conversion and date tools (no sandbox).",
             max_turns=8, tags=["tools", "calculator"], requirements=["reasoning-gym"])
    register("tools/mixed", "agentgym.environments.tools.env:MixedToolsEnv",
             description="Reasoning-gym tasks with python, calculator, convert and dates tools (ARPO/ReTool style).",
             max_turns=10, tags=["tools", "python", "sandbox"], requirements=["bwrap|docker", "reasoning-gym"])


__all__ = ["register_envs"]
