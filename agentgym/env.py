"""The environment contract: :class:`Env` (async-first) and the sync facade (:class:`ToolEnv` is in :mod:`agentgym.tool_env`).

An environment is driven by *messages*: ``reset`` returns the first observation (the
instruction), ``step`` takes the assistant's message and returns what to append. Bad actions
never raise; they come back as feedback with a ``format`` channel penalty and still count
as a turn.

    env = agentgym.make("toy/maze")
    first = await env.reset(seed=0)
    result = await env.step(Message.assistant(tool_calls=[ToolCall(name="look")]))
    twin = await env.fork()          # same state, independent from here on
    await env.close()

Scripts without asyncio use ``env.sync()``::

    with agentgym.make("toy/maze").sync() as env:
        env.reset(seed=0)
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import json
import random
import threading
from typing import Any, Awaitable, Callable, ClassVar, TypeVar

from .errors import EnvStateError
from .types import EnvSpec, Message, StepResult, Task, ToolCall, ToolSpec

T = TypeVar("T")

FORMAT_OK = 0.0
FORMAT_BAD = -1.0


def fresh_seed() -> int:
    """A seed from the OS's randomness, for episodes reset without one."""
    return random.SystemRandom().randrange(2**31)


class Env(abc.ABC):
    """Base class of every environment.

    The base owns the episode: :meth:`reset` fixes the seed (a fresh one when none is given),
    stores it, seeds ``self.rng`` with it and passes it on to ``_reset``; it keeps the action
    log, so the default :meth:`fork` replays exactly this episode.

        class Coin(Env):
            async def _reset(self, *, seed, task):         # seed is always an int here
                self.heads = self.rng.random() < 0.5          # self.rng: seeded by reset
                self.set_task(Task(id=f"coin-{seed}", instruction="Heads or tails?"))
                return "Heads or tails?"

            async def _step(self, action):
                won = (action.content or "").strip().lower() == ("heads" if self.heads else "tails")
                return StepResult(messages=[Message.user("Right." if won else "Wrong.")],
                                  reward=float(won), done=True, success=won)

    Set in ALL subclasses:
        _reset(seed, task): start an episode; return the first observation (text or StepResult).
        _step(action): apply one assistant message.

    Set in SOME subclasses:
        system_prompt: prepended to the first observation as a system message.
        result_tag: the tag text formats wrap tool results in (``result``; search envs: ``information``).
        accepted_kwargs: for a constructor with ``**kwargs``, the names it takes (the registry
            refuses others before building the env).
        oracle(): actions that solve the current task.
        fresh_seed(): the seed of an episode reset without one (default: 31 random bits).
        spawn(): a new, unstarted env with this configuration (default: the factory that built it).
        fork(): a native snapshot (default: spawn() + replay of seed, task and action log).
        _close(): release resources.
        sample_action(rng): a random valid action (default: a random tool call).

    Set by the registry (:func:`agentgym.make`): ``spec`` (id, description, max_turns, tags,
    requirements, kwargs) and the factory ``spawn`` uses.

    Episode state (read it; the base sets it): ``seed``, ``rng``, ``task``, ``turn``, ``done``.
    """

    spec: EnvSpec = EnvSpec(id="unregistered")
    max_action_chars: int = 16_000
    system_prompt: str | None = None
    result_tag: str = "result"
    accepted_kwargs: ClassVar[tuple[str, ...] | None] = None  # the names a constructor's **kwargs takes

    # episode state, owned by the base (class defaults until the first reset)
    _rng: random.Random | None = None         # random.Random(seed), new at every reset
    _seed: int | None = None
    _task: Task | None = None                 # the episode's task (set_task), or the one reset() was given
    _task_arg: Task | None = None             # what reset() was given, for replay
    _actions: list[tuple[Message, str | None]] = ()  # type: ignore[assignment]  # (action, refusal) per turn, new list per reset
    _turn: int = 0
    _done: bool = False
    _started: bool = False
    _closed: bool = False
    _factory: Callable[[], Env] | None = None  # set by make(): builds an identical, unstarted env

    # ----------------------------------------------------------------- public API
    @property
    def tools(self) -> list[ToolSpec]:
        """OpenAI function schemas of this env's tools (empty for pure-text envs)."""
        return list(self.spec.tools)

    @property
    def seed(self) -> int | None:
        """The current episode's seed (None before the first reset)."""
        return self._seed

    @property
    def rng(self) -> random.Random:
        """The episode's random stream, seeded with :attr:`seed` at every reset: draw from it in
        ``_reset`` and ``_step`` and the episode replays exactly (the default :meth:`fork` relies on it)."""
        if self._rng is None:
            raise EnvStateError(f"{self.spec.id}: env.rng exists once reset() has picked the seed")
        return self._rng

    @property
    def turn(self) -> int:
        """Number of ``step`` calls since the last reset."""
        return self._turn

    @property
    def done(self) -> bool:
        """True once the episode ended (solved, failed or out of turns)."""
        return self._done

    @property
    def task(self) -> Task | None:
        """The current task (set by the env with :meth:`set_task`, else the one given to reset)."""
        return self._task

    def set_task(self, task: Task) -> None:
        """Names the task the current episode plays (call it from ``_reset``)."""
        if not isinstance(task, Task):
            raise TypeError(f"set_task() takes a Task, got {type(task).__name__}")
        self._task = task

    def fresh_seed(self) -> int:
        """The seed of an episode reset without one. Override to bound it (e.g. a game pool)."""
        return fresh_seed()

    async def reset(self, *, seed: int | None = None, task: Task | dict | str | None = None) -> StepResult:
        """Starts a new episode. ``seed`` picks (and randomises) the task unless ``task`` is given.

        Without a seed one is drawn once (:meth:`fresh_seed`) and kept: ``env.seed`` names it
        and :meth:`fork` replays the same episode.
        """
        self._check_open()
        if isinstance(task, dict):
            task = Task.model_validate(task)
        elif isinstance(task, str):
            task = Task(id=task)
        if seed is None:
            seed = self.fresh_seed()
        elif isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
        self._seed, self._task_arg, self._task = seed, task, task
        self._rng = random.Random(seed)
        self._actions, self._turn, self._done, self._started = [], 0, False, False
        result = await self._reset(seed=seed, task=task)
        if isinstance(result, str):
            result = StepResult(messages=[Message.user(result)])
        if self.system_prompt and not any(m.role == "system" for m in result.messages):
            result.messages.insert(0, Message.system(self.system_prompt))
        self._started = True
        return result

    async def step(self, action: Message | str) -> StepResult:
        """Applies one assistant message. Never raises on a bad action."""
        return await self._advance(action, None)

    async def reject(self, action: Message | str, reason: str) -> StepResult:
        """Counts ``action`` as a turn without acting on it: ``reason`` goes back as feedback with
        the ``format`` penalty. A text format calls it for a reply it could not parse, so the env
        never executes text the model is told was invalid."""
        return await self._advance(action, reason)

    async def _advance(self, action: Message | str, refusal: str | None) -> StepResult:
        """One turn: ``_step(action)``, or the ``refusal`` feedback; logged for replay."""
        self._check_open()
        if not self._started:
            raise EnvStateError(f"{self.spec.id}: call reset() before step()")
        if isinstance(action, str):
            action = Message.assistant(action)
        if self._done:
            return StepResult(
                messages=[Message.user("The episode is over; no further actions are accepted. Call reset().")],
                done=True, info={"error": "episode_over"}, channels={"format": FORMAT_BAD},
            )
        self._actions.append((action.model_copy(update={"tokens": None, "usage": None}), refusal))
        self._turn += 1
        size = len(action.content or "") + sum(len(c.arguments) + len(c.name) for c in action.tool_calls or [])
        if refusal is not None:
            result = self.feedback(refusal, action)
        elif size > self.max_action_chars:
            result = self.feedback(
                f"Your action is {size} characters long; the limit is {self.max_action_chars}. Send a shorter action.",
                action,
            )
        else:
            result = await self._step(action)
        if result.done:
            self._done = True
        elif self._turn >= self.spec.max_turns:
            result.truncated = True
            self._done = True
        return result

    def spawn(self) -> Env:
        """A new, unstarted env with this env's configuration.

        Envs built by :func:`agentgym.make` are rebuilt by the same factory with the same
        arguments; an env class whose constructor takes no arguments is simply instantiated.
        Override it (or :meth:`fork`) for envs built by hand with arguments.
        """
        if self._factory is not None:
            twin = self._factory()
        elif not _takes_arguments(type(self)):
            twin = type(self)()
        else:
            raise EnvStateError(
                f"{type(self).__name__} was built directly with arguments, so fork() cannot rebuild it; build it "
                f"with agentgym.make(...) or override {type(self).__name__}.spawn()")
        twin.spec, twin._factory = self.spec, self._factory
        return twin

    async def fork(self) -> Env:
        """An independent copy at the same state. Default: :meth:`spawn` and replay this episode
        (its seed, task and actions), so the copy is exact whether or not reset got a seed."""
        self._check_open()
        twin = self.spawn()
        if self._started:
            await twin.reset(seed=self._seed, task=self._task_arg)
            for action, refusal in self._actions:
                await twin._advance(action, refusal)
        return twin

    def _copy_episode(self, twin: Env) -> None:
        """Gives ``twin`` this env's episode bookkeeping (seed, rng state, task, turn, action log);
        for a native :meth:`fork` that copies the env's own state by snapshot."""
        twin.spec, twin._factory = self.spec, self._factory
        twin._seed, twin._task, twin._task_arg = self._seed, self._task, self._task_arg
        twin._turn, twin._done, twin._started = self._turn, self._done, self._started
        twin._actions = list(self._actions)
        if self._rng is not None:
            twin._rng = random.Random()
            twin._rng.setstate(self._rng.getstate())

    async def oracle(self) -> list[Message] | None:
        """Assistant messages that solve the current task from its start, or None if unknown."""
        return None

    def sample_action(self, rng: random.Random) -> Message:
        """A random, well-formed action (used by :class:`RandomPolicy`)."""
        if not self.tools:
            return Message.assistant("look")
        spec = rng.choice(self.tools)
        return Message.assistant(tool_calls=[ToolCall(name=spec.name, arguments=json.dumps(_random_args(spec, rng)))])

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._close()

    def sync(self) -> SyncEnv:
        """A blocking facade for scripts and notebooks."""
        return SyncEnv(self)

    async def __aenter__(self) -> Env:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.id}>"

    # ----------------------------------------------------------------- for subclasses
    @abc.abstractmethod
    async def _reset(self, *, seed: int | None, task: Task | None) -> StepResult | str: ...

    @abc.abstractmethod
    async def _step(self, action: Message) -> StepResult: ...

    async def _close(self) -> None:
        return None

    def feedback(self, text: str, action: Message | None = None, **info: Any) -> StepResult:
        """A malformed-action result: the text goes back to the model, ``format`` = -1.

        Tool calls in ``action`` each get a tool message so the conversation stays valid.
        """
        msgs = [Message.tool(f"Error: {text}", c.id, c.name) for c in (action.tool_calls or [])] if action else []
        if not msgs:
            msgs = [Message.user(f"Error: {text}")]
        return StepResult(messages=msgs, info={"error": text, **info}, channels={"format": FORMAT_BAD, "tool_ok": 0.0})

    def _check_open(self) -> None:
        if self._closed:
            raise EnvStateError(f"{self.spec.id}: this env is closed; make a new one")


def __getattr__(name: str) -> Any:
    """``ToolEnv``, ``ToolResult`` and ``ToolError`` live in :mod:`agentgym.tool_env`; still importable from here."""
    if name in ("ToolEnv", "ToolResult", "ToolError"):
        from . import tool_env

        return getattr(tool_env, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _takes_arguments(cls: type) -> bool:
    """True when ``cls(...)`` has parameters (so ``cls()`` might not rebuild an instance faithfully)."""
    try:
        return bool(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return True


def _random_args(spec: ToolSpec, rng: random.Random) -> dict[str, Any]:
    args: dict[str, Any] = {}
    props = spec.parameters.get("properties", {})
    for name in spec.parameters.get("required", list(props)):
        schema = props.get(name, {})
        if "enum" in schema:
            args[name] = rng.choice(schema["enum"])
        elif schema.get("type") == "integer":
            args[name] = rng.randint(0, 10)
        elif schema.get("type") == "number":
            args[name] = round(rng.uniform(0, 10), 2)
        elif schema.get("type") == "boolean":
            args[name] = rng.random() < 0.5
        elif schema.get("type") == "array":
            args[name] = []
        else:
            args[name] = rng.choice(["a", "1", "yes", "north", "x"])
    return args


class _LoopThread:
    """One background event loop shared by every SyncEnv (works inside Jupyter too)."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Awaitable[T]) -> T:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="agentgym-sync", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


class SyncEnv:
    """Blocking facade over an :class:`Env`; same methods, no ``await``."""

    def __init__(self, env: Env):
        self.env = env

    @property
    def spec(self) -> EnvSpec:
        return self.env.spec

    @property
    def tools(self) -> list[ToolSpec]:
        return self.env.tools

    def reset(self, *, seed: int | None = None, task: Task | dict | str | None = None) -> StepResult:
        return _LoopThread.run(self.env.reset(seed=seed, task=task))

    def step(self, action: Message | str) -> StepResult:
        return _LoopThread.run(self.env.step(action))

    def fork(self) -> SyncEnv:
        return SyncEnv(_LoopThread.run(self.env.fork()))

    def oracle(self) -> list[Message] | None:
        return _LoopThread.run(self.env.oracle())

    def close(self) -> None:
        _LoopThread.run(self.env.close())

    def __enter__(self) -> SyncEnv:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
