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
import logging
import random
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, NamedTuple, Sequence

from .env import Env
from .episode import Episode, EnvFactory, error_text
from .errors import ConfigError, ContextLengthError, InfraError, PolicyError, TransientPolicyError
from .registry import make
from .policies import Closable, EpisodeAware
from .preflight import preflight
from .progress import EpisodeBar
from .run_config import RunIdentity, check_resume, read_config, resolve_seeds, write_config
from .rundir import TrajectoryWriter, atomic_write_json, latest_per_episode, load_trajectories, trajectory_line  # noqa: F401
from .summary import RunSummary, is_error, summarize
from .types import Task, Trajectory, Usage

CANCEL_GRACE_S = 5.0  # after a timeout, how long an episode may take to unwind before it is left behind
log = logging.getLogger("agentgym")
MAX_EPISODES = 1_000_000


async def with_retries(
    fn: Callable[..., Awaitable[Any]], *args: Any, retries: int = 4, base_delay: float = 0.5,
    max_delay: float = 8.0, failed: TransientPolicyError | None = None, **kwargs: Any,
) -> Any:
    """Calls ``fn``; retries :class:`TransientPolicyError` with jittered exponential backoff.

    ``failed``: the error of a first attempt the caller already made (it counts as attempt 1).
    """
    for attempt in range(retries + 1):
        try:
            if failed is not None:
                e, failed = failed, None
                raise e
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
    """Plays one episode of ``env`` with ``policy`` and returns its :class:`Trajectory` (``env`` stays open).

    Ends on ``done``, on truncation, after ``max_turns`` (default: the env's), on
    ``timeout`` seconds (``None``: no limit; 0 or less is refused), when the conversation no
    longer fits the model's context (``context_length``), or on a failure: ``policy_error``
    (the policy could not act) or ``infra_error`` (the env broke; ``cause`` says where). Each is
    recorded in ``termination``; nothing but cancellation raises.
    """
    if timeout is not None and not (0 < timeout < float("inf")):  # 0 is not "no limit": None is
        raise ConfigError(f"timeout must be > 0 seconds (or None for no limit), got {timeout}")
    ep = await Episode.make(env, max_turns=max_turns, episode=episode, model=_model_name(policy))
    await _timed(_reset_and_play(ep, policy, seed, task, retries), ep, timeout)
    return ep.finish()


def _model_name(policy: Any) -> str:
    return getattr(policy, "name", None) or type(policy).__name__


async def _reset_and_play(ep: Episode, policy: Any, seed: int | None, task: Any, retries: int) -> None:
    await ep.reset(seed=seed, task=task)
    await play(ep, policy, retries=retries)


async def _timed(coro: Awaitable[None], ep: Episode, timeout: float | None) -> None:
    if not timeout:
        await coro
        return
    try:
        await _within(coro, timeout)
    except asyncio.TimeoutError:
        ep.end("timeout", f"episode exceeded {timeout} s")


async def play(ep: Episode, policy: Any, *, retries: int = 4) -> None:
    """Lets ``policy`` act in ``ep`` until it ends; a policy that cannot act ends it as ``policy_error``.

    Transient policy failures (429, 5xx, timeouts) are retried with backoff first (:func:`with_retries`).
    """
    if ep.finished:
        return
    actor = policy
    try:
        if _episode_aware(policy):
            actor = await policy.begin_episode(ep.env) or policy
    except Exception as e:
        _policy_failed(ep, e)
        return
    act, messages, tools, step, traj = actor.act, ep.traj.messages, ep.traj.tools, ep.step, ep.traj
    # policy time = the loop's time minus the env's (Episode.step clocks that): two clock reads a
    # step fewer than timing each act, the bookkeeping in between being negligible
    t0, env0 = time.perf_counter(), ep.env_s
    try:
        while not ep.finished:
            if traj.turns >= ep.max_turns:
                ep.end("max_turns")
                return
            try:
                try:
                    action = await act(list(messages), tools)
                except TransientPolicyError as e:  # the first attempt failed: retry with backoff
                    action = await with_retries(act, list(messages), tools, retries=retries, failed=e)
            except ContextLengthError:  # the conversation outgrew the model's context: an end, not an error
                ep.end("context_length")
                return
            except Exception as e:  # recorded, never aborts a run
                _policy_failed(ep, e)
                return
            await step(action)
    finally:
        ep.policy_s += max(0.0, time.perf_counter() - t0 - (ep.env_s - env0))


def _policy_failed(ep: Episode, e: Exception) -> None:
    """A policy that raised ends its episode as ``policy_error``, unless what failed was the env's
    infrastructure reached through the policy (an oracle asking a lost remote session): ``infra_error``."""
    if isinstance(e, InfraError):
        ep.end("infra_error", error_text(e, trace=True), cause="policy")
    else:
        ep.end("policy_error", error_text(e, trace=not isinstance(e, PolicyError)), cause="policy")


_AWARE: dict[type, bool] = {}


def _episode_aware(policy: Any) -> bool:
    """``isinstance(policy, EpisodeAware)``, remembered per class (a Protocol check costs ~7 µs an episode)."""
    cls = type(policy)
    known = _AWARE.get(cls)
    if known is None:
        known = _AWARE[cls] = isinstance(policy, EpisodeAware)
    return known


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


class EpisodeSettings(NamedTuple):
    """How each episode of a run is played (picklable: worker processes get it too)."""

    max_turns: int | None = None
    timeout: float | None = None
    retries: int = 4
    infra_retries: int = 2
    model: str | None = None
    env_id: str = ""


async def play_seed(factory: Callable[[], Awaitable[Env]], policy: Any, i: int, seed: int,
                    settings: EpisodeSettings) -> Trajectory:
    """Episode ``i`` of a run on a fresh env with ``seed``; an ``infra_error`` is replayed on a fresh env
    (at most ``settings.infra_retries`` times) and the last attempt's trajectory is returned."""
    max_turns, timeout, retries, infra_retries, model, env_id = settings
    for attempt in range(infra_retries + 1):
        ep = await Episode.make(factory, max_turns=max_turns, episode=i, model=model, env_id=env_id)
        await _timed(_reset_and_play(ep, policy, seed, None, retries), ep, timeout)
        traj = await ep.close()
        if attempt:
            traj.timings["infra_retries"] = float(attempt)
        if traj.termination != "infra_error" or attempt == infra_retries:
            break
        log.info("agentgym: episode %d ended as infra_error (%s); retrying with seed %s", i,
                 (traj.error or "").splitlines()[0][:200], seed)
    return traj


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
    infra_retries: int = 2,
    workers: int = 1,
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
        infra_retries: an episode that ends as ``infra_error`` (env server gone, worker or sandbox
            died) is played again on a fresh env with the same seed, at most this many times; the
            trajectory kept is the last attempt's, with ``timings["infra_retries"]`` when it was retried.
        workers: spread the episodes over this many processes (:mod:`agentgym.workers`), each with its
            own event loop, env instances and a copy of ``policy`` (it must pickle; ``OpenAIPolicy``
            does) playing at most ``ceil(concurrency / workers)`` episodes at a time; this process
            writes the run directory, and plays episodes itself only while no worker is ready yet. A
            worker that dies ends its episodes as ``infra_error`` (retried like any other). ``env``
            must then be an env id or a picklable (module-level) factory.

    Before anything is written the env is built once (a bad argument value fails here, once)
    and an :class:`~agentgym.policies.simple.OraclePolicy` is refused on an env without an oracle.
    """
    _check_run_values(episodes, concurrency, max_turns, timeout, retries)
    if infra_retries < 0:
        raise ConfigError(f"infra_retries must be >= 0, got {infra_retries}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an integer >= 1 (processes), got {workers!r}")
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
    factory = _factory(env, env_kwargs, max_turns)
    await preflight(env_name, env_kwargs, policy, seeds, factory, timeout)

    done: dict[int, Trajectory] = {}
    writer = None
    if out_dir and path:
        out_dir.mkdir(parents=True, exist_ok=True)
        for t in load_trajectories(path, repair=True):
            if t.episode is not None and t.episode < len(seeds) and not is_error(t):
                done[t.episode] = t
        writer = TrajectoryWriter(path)
        write_config(out_dir, identity, {"concurrency": concurrency, "timeout": timeout, "retries": retries,
                                         "workers": workers, **(config or {})}, resumed=bool(recorded))

    todo = [i for i in range(len(seeds)) if i not in done]
    results: dict[int, Trajectory] = dict(done)
    bar = _progress(len(seeds), len(done), progress)
    t0, cpu0, worker_cpu = time.perf_counter(), time.process_time(), 0.0
    pending = iter(todo)

    async def worker() -> None:  # `concurrency` workers, not one task per episode: a million episodes fit
        for i in pending:
            await one(i)

    async def one(i: int) -> None:
        settings = EpisodeSettings(max_turns, timeout, retries, infra_retries, model_name, env_name)
        finished(await play_seed(factory, policy, i, seeds[i], settings))

    def finished(traj: Trajectory, line: bytes | None = None) -> None:
        results[traj.episode] = traj  # type: ignore[index]
        if writer:
            writer.write_line(line) if line is not None else writer.write(traj)
        bar.update(results, t0)

    tasks: list[asyncio.Future] = []
    try:
        if workers > 1 and todo:
            from .workers import WorkerJob, run_in_workers

            settings = EpisodeSettings(max_turns, timeout, retries, infra_retries, model_name, env_name)
            job = WorkerJob.of(env, env_kwargs, policy, settings)
            worker_cpu = await run_in_workers(job, [(i, seeds[i]) for i in todo], workers, concurrency, finished,
                                              play_here=lambda i, seed: play_seed(factory, policy, i, seed, settings))
        else:
            tasks = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(todo)))]
            await asyncio.gather(*tasks)
    finally:
        for w in tasks:  # a failure (or Ctrl-C) stops the other workers before the file closes
            w.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        bar.close()
        if writer:
            writer.close()
        if isinstance(policy, Closable):  # also on Ctrl-C: no "Unclosed client session"
            await policy.aclose()
    ordered = [results[i] for i in sorted(results)]
    summary = summarize(ordered, env=env_name, model=model_name, wall_time=time.perf_counter() - t0,
                        ran=len(todo))
    summary.cpu_s = time.process_time() - cpu0 + worker_cpu
    if out_dir:
        atomic_write_json(out_dir / "summary.json", summary.model_dump(mode="json"))
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


def _factory(env: str | EnvFactory, kwargs: dict[str, Any], max_turns: int | None) -> Callable[[], Awaitable[Env]]:
    """An async zero-argument factory: ``make`` runs in a thread (env construction may block)."""
    if isinstance(env, str):
        extra = {"max_turns": max_turns} if max_turns else {}
        return lambda: asyncio.to_thread(make, env, **kwargs, **extra)

    async def build() -> Env:
        made = env()
        return await made if inspect.isawaitable(made) else made

    return build


_progress = EpisodeBar  # the eval bar: success, reward, tool calls, errors, ep/s (agentgym.progress)

def run(env: str | EnvFactory, policy: Any, **kwargs: Any) -> RunSummary:
    """Blocking :func:`arun` for scripts (use ``await arun(...)`` inside an event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun(env, policy, **kwargs))
    raise RuntimeError("agentgym.run() was called inside a running event loop; use `await agentgym.arun(...)`")


__all__ = ["rollout", "arun", "run", "play", "play_seed", "EpisodeSettings", "with_retries", "load_trajectories", "latest_per_episode", "TrajectoryWriter",
           "Usage"]
