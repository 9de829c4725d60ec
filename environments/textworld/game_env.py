"""``TextGameEnv``: the shared driver of TextWorld and ALFWorld games.

A game is any ``textworld.core.Environment`` (Inform7/z-machine for TextWorld, PDDL for
ALFWorld). Actions are game commands, sent either as the whole assistant text (for small
models) or through the ``act(command)`` tool; the game's own reply is the observation.

Commands are checked before they reach the engine (:mod:`.commands`): empty, multi-line,
over-long (Jericho's 198-byte buffer), control characters such as NUL, lone surrogates and
dumb-frotz meta-commands (a leading backslash) come back as feedback. Every engine call runs on
the one engine thread (:mod:`.engine_thread`): the engines are not thread-safe.

Channels (every step): ``format`` (-1 for a command rejected by that check),
``admissible`` (1 if the command was among the admissible commands), ``score_delta`` (the
game's score change), ``outcome`` (1 once won, else 0). Rewards are ``dense`` (score deltas)
or ``sparse`` (1 on a win). Subclasses implement :meth:`_open_game`.

    env = agentgym.make("textworld/cooking", admissible_commands=True, reward="sparse")
    first = await env.reset(seed=0)
    step = await env.step("open fridge")                       # free text ...
    step = await env.step(Message.assistant(tool_calls=[ToolCall(name="act", arguments='{"command": "look"}')]))
"""

from __future__ import annotations

import abc
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym.env import FORMAT_BAD, FORMAT_OK, ToolEnv, ToolResult
from agentgym.tools import tool
from agentgym.types import Message, StepResult, Task, ToolCall, ToolSpec

from .commands import MAX_COMMAND_BYTES, command_problem, normalize_command
from .engine_thread import run_on_engine

RewardMode = Literal["dense", "sparse"]

_BANNER_LINE = re.compile(r"\$\$|^\s*[\\|_/ ]+\s*$")
_PROMPT_TAIL = re.compile(r"\n*>[^\n]*\Z")


@dataclass
class OpenedGame:
    """What :meth:`TextGameEnv._open_game` returns: a loaded engine and the task it plays."""

    engine: Any                      # a textworld.core.Environment, already loaded
    task: Task
    walkthrough: list[str] | None
    info: dict[str, Any] = field(default_factory=dict)


def clean_feedback(text: str) -> str:
    """Drops TextWorld's ASCII-art banner and the trailing ``>`` prompt/status line."""
    text = text or ""
    if "$$$$" in text:
        lines = text.split("\n")
        last_art = max(i for i, line in enumerate(lines) if _BANNER_LINE.search(line) and line.strip())
        text = "\n".join(lines[last_art + 1:])
    text = _PROMPT_TAIL.sub("", text)
    return text.strip()


class TextGameEnv(ToolEnv):
    """Base of the text-game families (see module docstring).

    Args:
        admissible_commands: list the admissible commands in every observation.
        reward: ``dense`` (score deltas) or ``sparse`` (1 on a win, else 0).
        inventory: append the inventory to every observation (TextWorld runs an extra command).
        description: append the room description to every observation (an extra ``look``).
        tools: expose the ``act`` tool; ``False`` makes a pure-text env (oracle/random send text).
    """

    max_command_bytes: int = MAX_COMMAND_BYTES
    system_prompt = (
        "You are playing a text adventure game. Each turn, reply with exactly one game command "
        "(e.g. 'go north', 'take key', 'open door'), or call the act tool with it."
    )

    # episode state (set by _reset and every command)
    _admissible: list[str] = []  # replaced, never mutated in place
    _score: float = 0.0
    _max_score: float = 0.0

    def __init__(self, *, admissible_commands: bool = True, reward: RewardMode = "dense",
                 inventory: bool = False, description: bool = False, tools: bool = True):
        if reward not in ("dense", "sparse"):
            raise ValueError(f"reward must be 'dense' or 'sparse', got {reward!r}")
        self.show_admissible = bool(admissible_commands)
        self.reward_mode: RewardMode = reward
        self.show_inventory = bool(inventory)
        self.show_description = bool(description)
        self.use_tools = bool(tools)
        self._engine: Any = None
        self._engine_key: Any = None
        self._walkthrough: list[str] | None = None

    # ------------------------------------------------------------------ subclass hook
    @abc.abstractmethod
    def _open_game(self, seed: int, task: Task | None) -> OpenedGame:
        """Blocking: pick/generate the game for ``seed``/``task``, load it, return the engine.

        Runs on the engine thread (see :mod:`.engine_thread`), like every other engine call.
        """

    def _loaded(self, key: Any, load: Any) -> Any:
        """The engine for ``key``: the current one when the same game is reset again, else ``load()``."""
        if self._engine is not None and self._engine_key == key:
            return self._engine
        engine = load()
        self._engine_key = key
        return engine

    def _request_infos(self):
        """The ``textworld.EnvInfos`` every game is loaded with."""
        import textworld

        return textworld.EnvInfos(
            admissible_commands=True, won=True, lost=True, score=True, max_score=True, moves=True,
            inventory=self.show_inventory, description=self.show_description,
        )

    # ------------------------------------------------------------------ Env API
    @property
    def tools(self) -> list[ToolSpec]:
        return super().tools if self.use_tools else []

    @property
    def admissible(self) -> list[str]:
        """The current admissible commands (empty before reset)."""
        return list(self._admissible)

    async def _reset(self, *, seed: int, task: Task | None) -> StepResult:
        opened = await run_on_engine(self._open_game, seed, task)
        if self._engine is not None and opened.engine is not self._engine:
            await run_on_engine(self._engine.close)
        self._engine, self._walkthrough = opened.engine, opened.walkthrough
        self.set_task(opened.task)
        state = await run_on_engine(self._engine.reset)
        if self._walkthrough is None and state.get("extra.walkthrough"):
            self._walkthrough = list(state["extra.walkthrough"])
        self._score = float(state.get("score") or 0)
        self._max_score = float(state.get("max_score") or 0)
        self._admissible = list(state.get("admissible_commands") or [])
        text = self._render(state, intro=True)
        info = {**opened.info, **self._state_info(state)}
        return StepResult(messages=[Message.user(text)], info=info)

    async def _step(self, action: Message) -> StepResult:
        if action.tool_calls and self.use_tools:
            return await super()._step(action)
        result = await self._command(action.content or "")
        out = StepResult(messages=[Message.user(result.content)], reward=result.reward, done=result.done,
                         success=result.success, channels=result.channels, info=result.info)
        if result.info.get("malformed"):
            out.info = {k: v for k, v in result.info.items() if k != "malformed"}
        return out

    @tool
    async def act(self, command: str) -> ToolResult:
        """Send one command to the game, e.g. 'go north', 'open fridge', 'take apple from table'.

        Args:
            command: the game command, in plain English.
        """
        result = await self._command(command)
        result.channels.pop("format", None)  # ToolEnv sets it from info["malformed"] (was counted twice: -2)
        return result

    async def oracle(self) -> list[Message] | None:
        """The game's walkthrough (TextWorld) or planner plan (ALFWorld), one command per turn."""
        if self._walkthrough is None:
            return None
        return [self._as_action(cmd) for cmd in self._walkthrough]

    def sample_action(self, rng: random.Random) -> Message:
        """A uniformly random admissible command (``look`` before the first reset)."""
        options = self.admissible or ["look"]
        return self._as_action(rng.choice(options))

    async def _close(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await run_on_engine(engine.close)

    # ------------------------------------------------------------------ internals
    def _as_action(self, command: str) -> Message:
        if self.use_tools:
            return Message.assistant(tool_calls=[ToolCall(name="act", arguments=json.dumps({"command": command}))])
        return Message.assistant(command)

    def _bad(self, text: str, error: str) -> ToolResult:
        return ToolResult(content=f"Error: {text}", ok=False,
                          channels={"format": FORMAT_BAD, "admissible": 0.0, "score_delta": 0.0, "outcome": 0.0},
                          info={"malformed": True, "error": error})

    def normalize(self, command: str) -> str:
        """Strips whitespace, a leading ``>`` prompt and surrounding quotes; collapses spaces."""
        return normalize_command(command)

    async def _command(self, raw: str) -> ToolResult:
        command = self.normalize(raw if isinstance(raw, str) else "")
        problem = command_problem(command, self.max_command_bytes)
        if problem:  # never sent to the engine: NUL segfaults it, a leading backslash hangs it
            kind, text = problem
            return self._bad(text, kind)
        was_admissible = command.lower() in {c.lower() for c in self._admissible}
        state, _, game_done = await run_on_engine(self._engine.step, command)
        score = float(state.get("score") or 0)
        delta, self._score = score - self._score, score
        self._admissible = list(state.get("admissible_commands") or [])
        won, lost = bool(state.get("won")), bool(state.get("lost"))
        done = bool(game_done or won or lost)
        reward = delta if self.reward_mode == "dense" else float(won)
        text = self._render(state)
        if done:
            text += "\n\n" + ("*** You won! ***" if won else "*** The game is over: you lost. ***" if lost
                              else "*** The game is over. ***")
        return ToolResult(
            content=text, reward=reward, done=done, success=won if done else None,
            channels={"format": FORMAT_OK, "admissible": float(was_admissible), "score_delta": delta,
                      "outcome": float(won)},
            info=self._state_info(state),
        )

    def _render(self, state: Any, intro: bool = False) -> str:
        parts = [clean_feedback(state.get("feedback") or "")]
        if self.show_description and not intro and state.get("description"):
            parts.append("Description: " + clean_feedback(state["description"]))
        if self.show_inventory and state.get("inventory"):
            parts.append("Inventory: " + clean_feedback(state["inventory"]))
        if self._max_score:
            parts.append(f"Score: {self._score:g}/{self._max_score:g}")
        if self.show_admissible and self._admissible:
            parts.append("Admissible commands: " + ", ".join(self._admissible))
        return "\n\n".join(p for p in parts if p)

    def _state_info(self, state: Any) -> dict[str, Any]:
        return {"score": self._score, "max_score": self._max_score, "won": bool(state.get("won")),
                "lost": bool(state.get("lost")), "moves": state.get("moves"),
                "admissible_commands": list(self._admissible)}
