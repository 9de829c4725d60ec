"""``demo/lamps`` — the tiny two-step tool task the CPU demo trains on.

A row of four coloured lamps, drawn per seed from eight colours (the instruction lists them); the
instruction says to switch on "the lamp the note asks for". ``read_note()`` reveals the colour;
``press(color)`` switches a lamp on and ends the episode (reward 1 when it is the right one).
Guessing one of the row without reading succeeds 1 time in 4; reading first, then copying the
colour, always does. A task is a (row, target) pair: 8·7·6·5 rows × 4 targets = 6,720 distinct
tasks, enough to hold a share of them out of training (``trainers/tasks.py``). Channels:
``format``, ``tool_ok``, ``progress`` (+1 for reading the note: a step reward that can be farmed by
reading again and again, which gated rewards ignore unless the lamp is right), ``outcome``.

    agentgym.environments.demo.register_envs()  # (or nothing: the entry point registers it)
    env = agentgym.make("demo/lamps")
"""

from __future__ import annotations

import json
from typing import Literal

from agentgym.env import ToolEnv, ToolResult
from agentgym.registry import register
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall

Color = Literal["red", "green", "blue", "yellow", "white", "black", "pink", "brown"]
COLORS = ("red", "green", "blue", "yellow", "white", "black", "pink", "brown")
ROW = 4  # lamps per task


class LampsEnv(ToolEnv):
    """Read the note, then press the lamp it names."""

    system_prompt = "Switch on the right lamp."

    # episode state (set by _reset)
    row: list[str]
    target: str
    reads: int = 0

    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        rng = self.rng  # random.Random(seed), seeded by reset()
        self.row = rng.sample(COLORS, ROW)
        self.target = rng.choice(self.row)
        self.reads = 0
        text = f"Lamps: {', '.join(self.row)}. Press the lamp the note asks for."
        self.set_task(Task(id=f"lamps-{'-'.join(self.row)}-{self.target}", instruction=text,
                           data={"row": self.row, "target": self.target}))
        return StepResult(messages=[Message.user(text)])

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
        if color not in self.row:
            text = f"There is no {color} lamp; nothing happens. Wrong lamp."
        else:
            text = f"The {color} lamp is on." + ("" if ok else " Wrong lamp.")
        return ToolResult(content=text, reward=float(ok), done=True, success=ok, channels={"outcome": float(ok)})

    async def oracle(self) -> list[Message]:
        return [Message.assistant(tool_calls=[ToolCall(name="read_note")]),
                Message.assistant(tool_calls=[ToolCall(name="press", arguments=json.dumps({"color": self.target}))])]


def register_envs() -> None:
    """Registers ``demo/lamps`` (entry point of group ``agentgym.environments``)."""
    register("demo/lamps", "agentgym.environments.demo.lamps:LampsEnv", description="Read a note, press the lamp it names.",
             max_turns=3, tags=["toy", "tools", "demo"])


__all__ = ["LampsEnv", "register_envs"]
