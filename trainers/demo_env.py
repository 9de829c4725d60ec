"""``demo/lamps`` — the tiny two-step tool task the CPU demo trains on.

A row of coloured lamps; the instruction says to switch on "the lamp the note asks for".
``read_note()`` reveals the colour; ``press(color)`` switches a lamp on and ends the episode
(reward 1 when it is the right one). Guessing without reading succeeds 1 time in 4; reading
first, then copying the colour, always does. Channels: ``format``, ``tool_ok``, ``progress``
(+1 for reading the note: a step reward that can be farmed by reading again and again,
which gated rewards ignore unless the lamp is right).

    agentgym.trainers.demo_env.register_envs()
    env = agentgym.make("demo/lamps")
"""

from __future__ import annotations

import json
import random
from typing import Literal

from agentgym.env import ToolEnv, ToolResult
from agentgym.registry import register
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall

Color = Literal["red", "green", "blue", "yellow"]
COLORS = ("red", "green", "blue", "yellow")


class LampsEnv(ToolEnv):
    """Read the note, then press the lamp it names."""

    system_prompt = "Switch on the right lamp."

    async def _reset(self, *, seed: int | None, task: Task | None) -> StepResult:
        seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self.target = random.Random(seed).choice(COLORS)
        self.reads = 0
        self._task = Task(id=f"lamps-{seed}", instruction="Press the lamp the note asks for.")
        return StepResult(messages=[Message.user("Press the lamp the note asks for.")])

    @tool
    def read_note(self) -> ToolResult:
        """Read the note."""
        self.reads += 1
        return ToolResult(content=f"The note says: {self.target}.", channels={"progress": 1.0})

    @tool
    def press(self, color: Color) -> ToolResult:
        """Switch on one lamp.

        Args:
            color: the lamp's colour.
        """
        ok = color == self.target
        return ToolResult(content=f"The {color} lamp is on." + ("" if ok else " Wrong lamp."), reward=float(ok),
                          done=True, success=ok, channels={"outcome": float(ok)})

    async def oracle(self) -> list[Message]:
        return [Message.assistant(tool_calls=[ToolCall(name="read_note")]),
                Message.assistant(tool_calls=[ToolCall(name="press", arguments=json.dumps({"color": self.target}))])]


def register_envs() -> None:
    """Registers ``demo/lamps`` (entry point of group ``agentgym.environments``)."""
    register("demo/lamps", "agentgym.trainers.demo_env:LampsEnv", description="Read a note, press the lamp it names.",
             max_turns=3, tags=["toy", "tools", "demo"])


__all__ = ["LampsEnv", "register_envs"]
