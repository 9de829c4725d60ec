"""One episode, step by step: the primitive under :func:`agentgym.rollout`, :func:`agentgym.arun` and
the trainers' batched generation (``agentgym.trainers.episodes``).

An :class:`Episode` owns its env and the :class:`~agentgym.types.Trajectory` being written. Every
way the env side can break — construction, ``reset``, ``step``, ``fork``, ``close`` — ends the
episode with termination ``infra_error`` and its ``cause``; nothing raises out of it except
cancellation, so one broken env never crashes a batch, and :meth:`close` always runs.

    ep = await Episode.open(lambda: agentgym.make("toy/maze"), seed=0, max_turns=10)
    while not ep.finished:
        action = await policy.act(ep.messages, ep.tools)
        await ep.step(action)
    traj = await ep.close()          # the finished Trajectory (reward summed, timings set)
"""

from __future__ import annotations

import inspect
import time
import traceback
from typing import Awaitable, Callable

from .env import Env
from .types import Message, StepResult, Task, ToolSpec, Trajectory, jsonable

EnvFactory = Callable[[], "Env | Awaitable[Env]"]
_clock = time.perf_counter


def error_text(e: BaseException, *, trace: bool = False) -> str:
    """``Type: message``, plus the last three frames of the traceback when ``trace``."""
    line = traceback.format_exception_only(type(e), e)[-1].strip()
    if trace and e.__traceback__ is not None:
        line += "\n" + "".join(traceback.format_tb(e.__traceback__)[-3:])
    return line


_PLAIN = (bool, float, type(None))
_BIG = 1 << 64


def _flat(info: dict) -> bool:
    """True for the common info dict of short ASCII text keys and bool/float/small-int/ASCII values: it needs
    no :func:`jsonable` walk (a copy is enough)."""
    for k, v in info.items():
        cls = v.__class__
        if k.__class__ is not str or not k.isascii() or not (
                cls in _PLAIN or (cls is int and -_BIG < v < _BIG) or (cls is str and v.isascii())):
            return False
    return True


def _version(spec: object) -> str | None:
    """``spec.version`` if it has one (a plain EnvSpec has none: a pydantic attribute miss costs ~2 µs)."""
    fields = getattr(type(spec), "model_fields", None)
    if fields is not None and "version" not in fields:
        return None
    return getattr(spec, "version", None)


class Episode:
    """A live episode: its env (``None`` when it could not be built) and its trajectory.

    Attributes:
        traj: the :class:`Trajectory` written as the episode runs.
        finished: no more actions are taken (``traj.termination`` says why).
        max_turns: actions after which the episode ends with ``max_turns``.
    """

    __slots__ = ("env", "traj", "finished", "max_turns", "policy_s", "_t0", "_env_s", "_closed", "_tokens")

    @property
    def env_s(self) -> float:
        """Seconds spent in the env's ``reset``/``step`` so far."""
        return self._env_s

    def __init__(self, env: Env | None, traj: Trajectory, max_turns: int):
        self.env, self.traj, self.max_turns = env, traj, max_turns
        self.finished = False
        self.policy_s = 0.0
        self._t0 = time.perf_counter()
        self._env_s = 0.0
        self._closed = False
        self._tokens = False  # an action carried a local policy's token record (folded at the end)

    # ------------------------------------------------------------------ start
    @classmethod
    async def open(cls, env: Env | EnvFactory, *, seed: int | None = None, task: Task | dict | str | None = None,
                   max_turns: int | None = None, episode: int | None = None, model: str | None = None,
                   env_id: str = "") -> Episode:
        """:meth:`make` then :meth:`reset`: a ready episode, or a finished one carrying the failure."""
        ep = await cls.make(env, max_turns=max_turns, episode=episode, model=model, env_id=env_id)
        await ep.reset(seed=seed, task=task)
        return ep

    @classmethod
    async def make(cls, env: Env | EnvFactory, *, max_turns: int | None = None, episode: int | None = None,
                   model: str | None = None, env_id: str = "") -> Episode:
        """An episode on ``env``, or on what the factory ``env`` builds (sync or async); a factory that
        raises gives a finished episode with ``infra_error`` (cause ``make``)."""
        traj = Trajectory(episode=episode, env_id=env_id, model=model)
        if isinstance(env, type) or not (hasattr(env, "reset") and hasattr(env, "step")):  # a class or factory
            try:
                made = env()  # type: ignore[operator]
                env = await made if inspect.isawaitable(made) else made
            except Exception as e:  # the env (its sandbox, server, simulator) could not be built
                ep = cls(None, traj, max_turns or 1)
                ep.end("infra_error", error_text(e, trace=True), cause="make")
                return ep
        ep = cls(env, traj, max_turns or 1)  # type: ignore[arg-type]
        try:
            spec = env.spec  # type: ignore[union-attr]
            fields = traj.__dict__  # plain writes of typed values (pydantic's __setattr__ costs ~1 µs each)
            fields["env_id"] = spec.id or env_id
            fields["env_version"] = _version(spec)
            ep.max_turns = max_turns or spec.max_turns
        except Exception as e:
            ep.end("infra_error", error_text(e, trace=True), cause="make")
        return ep

    async def reset(self, *, seed: int | None = None, task: Task | dict | str | None = None) -> None:
        """Resets the env and records the first observation; a failure is an ``infra_error`` (cause ``reset``)."""
        traj, env = self.traj, self.env
        fields = traj.__dict__  # plain writes of typed values, as in step()
        fields["seed"] = seed
        if self.finished or env is None:
            return
        t = time.perf_counter()
        try:
            first = await env.reset(seed=seed, task=task)
            if seed is None and isinstance(getattr(env, "seed", None), int):
                fields["seed"] = env.seed  # the seed the env picked: the episode replays from it
            current = getattr(env, "task", None)
            fields["task_id"] = current.id if current is not None else None
            fields["tools"] = list(env.tools)
        except Exception as e:
            self._env_s += time.perf_counter() - t
            self.end("infra_error", error_text(e, trace=True), cause="reset")
            return
        self._env_s += time.perf_counter() - t
        self.record(first)

    # ------------------------------------------------------------------ accessors
    @property
    def messages(self) -> list[Message]:
        return self.traj.messages

    @property
    def tools(self) -> list[ToolSpec]:
        return self.traj.tools

    @property
    def turns(self) -> int:
        return self.traj.turns

    # ------------------------------------------------------------------ stepping
    def add_action(self, action: Message) -> None:
        """Records the policy's action as a turn without executing it (e.g. one cut by a token budget)."""
        traj = self.traj
        traj.messages.append(action)
        fields = traj.__dict__  # hot path: plain field writes, skipping pydantic's __setattr__ (values are typed already)
        fields["turns"] += 1
        if action.usage is not None:
            fields["usage"] = traj.usage + action.usage
        if action.tokens is not None:
            self._tokens = True

    async def step(self, action: Message) -> StepResult | None:
        """Records ``action``, executes it and records the env's reply; ends the episode on ``done``,
        truncation or the turn limit. Returns the env's result (``None`` when the env broke).

        The hot path of every rollout: :meth:`add_action` and :meth:`record` are inlined.
        """
        fields = self.traj.__dict__  # plain field access/writes, skipping pydantic's __setattr__ (values are typed)
        fields["messages"].append(action)
        turns = fields["turns"] = fields["turns"] + 1
        if action.usage is not None:
            fields["usage"] = fields["usage"] + action.usage
        if action.tokens is not None:
            self._tokens = True
        t = _clock()
        try:
            result = await self.env.step(action)
        except Exception as e:  # env.step never raises on bad actions: this is an env/infra failure
            self._env_s += _clock() - t
            self.end("infra_error", error_text(e, trace=True), cause="step")
            return None
        self._env_s += _clock() - t
        fields["messages"].extend(result.messages)
        fields["rewards"].append(result.reward)
        fields["channels"].append(dict(result.channels))
        info = result.info
        fields["infos"].append(dict(info) if not info or _flat(info) else jsonable(info))
        if result.success is not None:
            fields["success"] = bool(result.success)
        if result.done:
            self.end("done")
        elif result.truncated or turns >= self.max_turns:
            self.end("max_turns")
        return result

    def record(self, result: StepResult) -> None:
        """Appends a reset/step result: messages, reward, channels, info, success."""
        traj = self.traj
        traj.messages.extend(result.messages)
        traj.rewards.append(result.reward)
        traj.channels.append(dict(result.channels))
        info = result.info
        traj.infos.append(dict(info) if not info or _flat(info) else jsonable(info))
        if result.success is not None:
            traj.__dict__["success"] = bool(result.success)

    def end(self, termination: str, error: str | None = None, cause: str | None = None) -> None:
        """Ends the episode; failures (``policy_error``/``infra_error``) keep the first one recorded."""
        if termination in ("policy_error", "infra_error"):
            self.traj.fail(termination, error or termination, cause)  # type: ignore[arg-type]
        elif not self.finished:
            self.traj.termination = termination  # type: ignore[assignment]
            if error is not None:
                self.traj.error = error
        self.finished = True

    async def fork(self) -> Episode | None:
        """A branch at the same point on ``env.fork()`` (trajectory copied); ``None`` when the fork failed,
        which ends this episode as ``infra_error`` (cause ``fork``)."""
        try:
            env = await self.env.fork()
        except Exception as e:
            self.end("infra_error", error_text(e, trace=True), cause="fork")
            return None
        twin = Episode(env, self.traj.model_copy(deep=True), self.max_turns)
        twin._t0, twin._env_s, twin.policy_s, twin._tokens = self._t0, self._env_s, self.policy_s, self._tokens
        return twin

    # ------------------------------------------------------------------ end
    async def close(self) -> Trajectory:
        """Closes the env (once) and returns the finished trajectory; a close that raises is an ``infra_error``."""
        if not self._closed:
            self._closed = True
            if self.env is not None:
                try:
                    await self.env.close()
                except Exception as e:
                    self.end("infra_error", error_text(e), cause="close")
        return self.finish()

    def finish(self) -> Trajectory:
        """Sets the summed reward and the timings; folds a local policy's token records."""
        traj = self.traj
        fields = traj.__dict__
        fields["reward"] = sum(traj.rewards)
        fields["timings"] = {"total_s": _clock() - self._t0, "policy_s": self.policy_s, "env_s": self._env_s}
        if self._tokens and not traj.tokens:
            traj.fold_message_tokens()
        return traj


__all__ = ["Episode", "EnvFactory", "error_text"]
