"""The rollout engine: one episode (:func:`rollout`) or many (:func:`arun` / :func:`run`).

    traj = await agentgym.rollout(agentgym.make("toy/maze"), policy, seed=0)
    summary = await agentgym.arun("toy/maze", policy, episodes=64, concurrency=16, out="runs/maze")
    summary = agentgym.run("toy/maze", policy, episodes=64, out="runs/maze", resume=True)   # scripts

An episode that fails (model endpoint down after retries, env bug) is recorded with its
error and never aborts the run; the summary names the errored episodes and the first error,
and one warning line is logged (logger ``agentgym``). Trajectories stream to
``trajectories.jsonl`` one atomic line each; ``resume=True`` skips every episode already
finished and redoes errored ones, in a directory made with the same settings (see
:mod:`agentgym.run_config`). Bad settings fail before anything is written (:mod:`agentgym.preflight`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import random
import time
import traceback
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence

from .env import Env
from .errors import ConfigError, PolicyError, TransientPolicyError
from .registry import make
from .preflight import preflight
from .run_config import RunIdentity, check_resume, read_config, resolve_seeds, write_config
from .summary import RunSummary, is_error, summarize
from .types import Message, Task, ToolSpec, Trajectory, Usage, clean_text, jsonable

EnvFactory = Callable[[], Env | Awaitable[Env]]
CANCEL_GRACE_S = 5.0  # after a timeout, how long an episode may take to unwind before it is left behind
log = logging.getLogger("agentgym")
MAX_EPISODES = 1_000_000


async def with_retries(
    fn: Callable[..., Awaitable[Any]], *args: Any, retries: int = 4, base_delay: float = 0.5,
    max_delay: float = 8.0, **kwargs: Any,
) -> Any:
    """Calls ``fn``; retries :class:`TransientPolicyError` with jittered exponential backoff."""
    for attempt in range(retries + 1):
        try:
            return await fn(*args, **kwargs)
        except TransientPolicyError as e:
            if attempt == retries:
                raise PolicyError(f"gave up after {retries + 1} attempts: {e}") from e
            delay = min(max_delay, base_delay * 2**attempt) * (0.5 + random.random() / 2)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def rollout(
    env: Env,
    policy: Any,
    *,
    seed: int | None = None,
    task: Task | dict | str | None = None,
    max_turns: int | None = None,
    timeout: float | None = None,
    retries: int = 4,
    episode: int | None = None,
) -> Trajectory:
    """Plays one episode of ``env`` with ``policy`` and returns its :class:`Trajectory`.

    Ends on ``done``, on truncation, after ``max_turns`` (default: the env's), on
    ``timeout`` seconds, or on an error — each recorded in ``termination``.
    """
    traj = Trajectory(episode=episode, env_id=env.spec.id, seed=seed, model=getattr(policy, "name", type(policy).__name__))
    t0 = time.perf_counter()
    stats = {"policy_s": 0.0, "env_s": 0.0}

    async def play() -> None:
        te = time.perf_counter()
        first = await env.reset(seed=seed, task=task)
        stats["env_s"] += time.perf_counter() - te
        traj.task_id = env.task.id if env.task else None
        traj.tools = env.tools
        _record(traj, first)
        actor = policy
        if hasattr(policy, "begin_episode"):
            actor = await policy.begin_episode(env) or policy
        limit = max_turns or env.spec.max_turns
        tools: list[ToolSpec] = env.tools
        while True:
            if traj.turns >= limit:
                traj.termination = "max_turns"
                return
            tp = time.perf_counter()
            action: Message = await with_retries(actor.act, list(traj.messages), tools, retries=retries)
            stats["policy_s"] += time.perf_counter() - tp
            if action.usage:
                traj.usage = traj.usage + action.usage
            traj.messages.append(action)
            te = time.perf_counter()
            result = await env.step(action)
            stats["env_s"] += time.perf_counter() - te
            traj.turns += 1
            _record(traj, result)
            if result.done:
                traj.termination = "done"
                return
            if result.truncated:
                traj.termination = "max_turns"
                return

    try:
        if timeout:
            await _within(play(), timeout)
        else:
            await play()
    except asyncio.TimeoutError:
        traj.termination, traj.error = "timeout", f"episode exceeded {timeout} s"
    except asyncio.CancelledError:
        raise
    except Exception as e:  # recorded, never aborts a run
        traj.termination = "error"
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        tb = tb if isinstance(e, PolicyError) else f"{tb}\n{''.join(traceback.format_tb(e.__traceback__)[-3:])}"
        traj.error = clean_text(tb)
    traj.reward = sum(traj.rewards)
    traj.timings = {"total_s": time.perf_counter() - t0, **stats}
    return traj


async def _within(coro: Awaitable[Any], timeout: float) -> Any:
    """Awaits ``coro`` for at most ``timeout`` s, then cancels it and raises ``asyncio.TimeoutError``.

    Unlike ``asyncio.wait_for`` it does not wait for a cancelled episode to finish unwinding: an
    env that swallows the cancellation or blocks in cleanup gets :data:`CANCEL_GRACE_S`, then is
    left behind, so the deadline holds whatever the env is doing (as long as the loop runs).
    """
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    if not task.done():
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieve, never "never retrieved"
    raise asyncio.TimeoutError


def _record(traj: Trajectory, result: Any) -> None:
    traj.messages.extend(result.messages)
    traj.rewards.append(result.reward)
    traj.channels.append(dict(result.channels))
    traj.infos.append(jsonable(dict(result.info)))
    if result.success is not None:
        traj.success = bool(result.success)


# ------------------------------------------------------------------------ run directory
class TrajectoryWriter:
    """Appends one JSON line per trajectory with a single ``write`` on an ``O_APPEND`` fd.

    A line is either whole or absent after a kill; :func:`load_trajectories` drops a torn tail.
    """

    def __init__(self, path: Path):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, traj: Trajectory) -> None:
        """Appends ``traj``; text pydantic cannot encode (lone surrogates) and odd objects in
        ``infos`` are escaped (:func:`agentgym.types.jsonable`), never dropped."""
        data = trajectory_line(traj)
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def trajectory_line(traj: Trajectory) -> bytes:
    """One JSONL record of ``traj`` that always encodes and reads back."""
    try:
        return (traj.model_dump_json() + "\n").encode()
    except (ValueError, TypeError):  # PydanticSerializationError is a ValueError
        data = jsonable(traj.model_dump(mode="python"))
        return (json.dumps(data, ensure_ascii=False) + "\n").encode()


def load_trajectories(path: str | Path, *, repair: bool = False, latest: bool = True) -> list[Trajectory]:
    """Reads ``trajectories.jsonl``; a torn last line (killed mid-write) is skipped (and cut when ``repair``).

    The file is append-only: a resumed run appends the episodes it redoes (the errored ones)
    after their failed attempts. With ``latest`` (default) each episode appears once, as its
    last written record, in file order of first appearance; ``latest=False`` returns every line.
    """
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    if repair and raw and not raw.endswith(b"\n"):
        with open(path, "r+b") as f:
            f.truncate(raw.rfind(b"\n") + 1)
        raw = raw[: raw.rfind(b"\n") + 1]
    out = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            out.append(Trajectory.model_validate_json(line))
        except ValueError:
            continue
    return latest_per_episode(out) if latest else out


def latest_per_episode(trajectories: list[Trajectory]) -> list[Trajectory]:
    """One record per episode number (its last), in order of first appearance; unnumbered ones kept."""
    last: dict[int, Trajectory] = {t.episode: t for t in trajectories if t.episode is not None}
    seen: set[int] = set()
    out = []
    for t in trajectories:
        if t.episode is None:
            out.append(t)
        elif t.episode not in seen:
            seen.add(t.episode)
            out.append(last[t.episode])
    return out


def _atomic_write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


async def arun(
    env: str | EnvFactory,
    policy: Any,
    *,
    episodes: int | None = None,
    seeds: Sequence[int] | None = None,
    seed: int | None = None,
    concurrency: int = 8,
    max_turns: int | None = None,
    timeout: float | None = None,
    retries: int = 4,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    env_kwargs: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    warn_errors: bool = True,
) -> RunSummary:
    """Runs many episodes with bounded concurrency; writes the run directory when ``out`` is set.

    Args:
        env: an env id (a fresh env is made per episode) or a zero-argument factory.
        policy: any :class:`~agentgym.policies.Policy`.
        episodes / seeds: how many episodes (seeds ``seed, seed+1, ...``; ``seed`` defaults to 0),
            or the exact seeds. On resume ``episodes`` is the total, and omitting it continues the
            directory's own total.
        out: run directory (``trajectories.jsonl``, ``summary.json``, ``config.json``).
        resume: continue an interrupted run in ``out`` instead of refusing to overwrite it. The
            directory must have been made with the same env, env arguments, format, policy,
            model, max_turns and seeds (extended seeds are fine); anything else is a
            :class:`ConfigError` naming the difference, and nothing is written.
        warn_errors: log one warning line (logger ``agentgym``) naming the errored episodes and
            the first error; the summary carries them too (``errors``, ``errored_episodes``, ``first_error``).

    Before anything is written the env is built once (a bad argument value fails here, once)
    and an :class:`~agentgym.policies.simple.OraclePolicy` is refused on an env without an oracle.
    """
    _check_run_values(episodes, concurrency, max_turns, timeout, retries)
    env_kwargs = dict(env_kwargs or {})
    env_name = env if isinstance(env, str) else getattr(env, "__name__", "custom")
    model_name = getattr(policy, "name", type(policy).__name__)
    out_dir = Path(out) if out else None
    path = out_dir / "trajectories.jsonl" if out_dir else None
    recorded: list[Trajectory] = []
    if path is not None and path.exists() and path.stat().st_size:
        if not resume:
            raise ConfigError(f"{path} already exists: pass resume=True (--resume) to continue it, or choose another out dir")
        recorded = load_trajectories(path)
    saved = read_config(out_dir) if out_dir and resume else None
    seeds = resolve_seeds(seeds, episodes, seed, saved)
    identity = RunIdentity.of(env_name, env_kwargs, policy, model_name, max_turns, seeds)
    if out_dir:
        check_resume(out_dir, identity, recorded)
    await preflight(env_name, env_kwargs, policy, seeds, lambda: _make_env(env, env_kwargs, max_turns), timeout)

    done: dict[int, Trajectory] = {}
    writer = None
    if out_dir and path:
        out_dir.mkdir(parents=True, exist_ok=True)
        for t in load_trajectories(path, repair=True):
            if t.episode is not None and t.episode < len(seeds) and not is_error(t):
                done[t.episode] = t
        writer = TrajectoryWriter(path)
        write_config(out_dir, identity, {"concurrency": concurrency, "timeout": timeout, "retries": retries,
                                         **(config or {})}, resumed=bool(recorded))

    todo = [i for i in range(len(seeds)) if i not in done]
    results: dict[int, Trajectory] = dict(done)
    bar = _progress(len(seeds), len(done), progress)
    t0 = time.perf_counter()
    pending = iter(todo)

    async def worker() -> None:  # `concurrency` workers, not one task per episode: a million episodes fit
        for i in pending:
            await one(i)

    async def one(i: int) -> None:
        e = None
        try:
            e = await _make_env(env, env_kwargs, max_turns)
            traj = await rollout(e, policy, seed=seeds[i], max_turns=max_turns, timeout=timeout,
                                 retries=retries, episode=i)
        except Exception as exc:  # env construction failed
            traj = Trajectory(episode=i, env_id=env_name, seed=seeds[i], model=model_name, termination="error",
                              error=f"{type(exc).__name__}: {exc}")
        finally:
            if e is not None:
                try:
                    await e.close()
                except Exception:
                    pass
        results[i] = traj
        if writer:
            writer.write(traj)
        bar.update(results, t0)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for w in workers:  # a failure (or Ctrl-C) stops the other workers before the file closes
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        bar.close()
        if writer:
            writer.close()
        if hasattr(policy, "aclose"):  # also on Ctrl-C: no "Unclosed client session"
            await policy.aclose()
    ordered = [results[i] for i in sorted(results)]
    summary = summarize(ordered, env=env_name, model=model_name, wall_time=time.perf_counter() - t0,
                        ran=len(todo))
    if out_dir:
        _atomic_write_json(out_dir / "summary.json", summary.model_dump(mode="json"))
    if warn_errors and summary.errors:
        where = f"; trajectories in {out_dir}, rerun them with resume=True" if out_dir else ""
        log.warning("agentgym: %s%s", summary.error_line(), where)
    return summary


def _check_run_values(episodes: int | None, concurrency: int, max_turns: int | None, timeout: float | None,
                      retries: int) -> None:
    """Refuses counts and limits that would run nothing or end every episode at once."""
    if episodes is not None and not 1 <= episodes <= MAX_EPISODES:
        raise ConfigError(f"episodes must be >= 1 and <= {MAX_EPISODES:,} (split larger runs), got {episodes}")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
    if max_turns is not None and max_turns < 1:
        raise ConfigError(f"max_turns must be >= 1 (or None for the env's own limit), got {max_turns}")
    if timeout is not None and not (0 < timeout < float("inf")):
        raise ConfigError(f"timeout must be > 0 seconds (or None for no limit), got {timeout}")
    if retries < 0:
        raise ConfigError(f"retries must be >= 0, got {retries}")


async def _make_env(env: str | EnvFactory, kwargs: dict[str, Any], max_turns: int | None) -> Env:
    if isinstance(env, str):
        extra = {"max_turns": max_turns} if max_turns else {}
        return await asyncio.to_thread(make, env, **kwargs, **extra)
    made = env()
    return await made if inspect.isawaitable(made) else made


class _progress:
    """tqdm bar showing done/total, success rate and episodes/s (silent when disabled)."""

    def __init__(self, total: int, initial: int, enabled: bool):
        self.bar = None
        self.initial = initial
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="ep", dynamic_ncols=True)

    def update(self, results: dict[int, Trajectory], t0: float) -> None:
        if self.bar is None:
            return
        wins = sum(t.success for t in results.values())
        errs = sum(t.termination == "error" for t in results.values())
        rate = (len(results) - self.initial) / max(time.perf_counter() - t0, 1e-9)
        self.bar.set_postfix(success=f"{wins / len(results):.2f}", errors=errs, eps=f"{rate:.2f}/s", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(env: str | EnvFactory, policy: Any, **kwargs: Any) -> RunSummary:
    """Blocking :func:`arun` for scripts (use ``await arun(...)`` inside an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(env, policy, **kwargs))
    raise RuntimeError("agentgym.run() was called inside a running event loop; use `await agentgym.arun(...)`")


__all__ = ["rollout", "arun", "run", "with_retries", "load_trajectories", "latest_per_episode", "TrajectoryWriter", "Usage"]
