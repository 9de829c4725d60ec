"""Episodes spread over worker processes: ``agentgym.run(..., workers=N)`` / ``agentgym eval --workers N``.

    summary = agentgym.run("toy/maze", OpenAIPolicy("qwen", base_url=URL), episodes=512,
                           concurrency=64, workers=2, out="runs/maze")

Each worker is a fresh Python process (forked from a clean server process that has agentgym
imported) with its own event loop, env instances and a copy of the policy (unpickled there: :class:`~agentgym.policies.openai.OpenAIPolicy` pickles its
settings, never its client). The parent hands out ``(episode, seed)`` pairs, at most
``ceil(concurrency / N)`` in flight per worker, and writes every trajectory a worker sends back to
the one run directory, so resume, summaries and ``trajectories.jsonl`` are those of ``workers=1``.

While the workers start (a fresh interpreter importing agentgym, the env and the policy: about
a second), this process plays episodes itself, up to the run's whole concurrency; from the moment
a worker is ready new episodes go to the workers only, so start-up costs a run nothing and the
isolation below holds for all but its first second.

A worker that dies (killed, out of memory, a crashing native library) ends the episodes it was
playing as ``infra_error`` (cause ``worker``); they are replayed on a fresh worker while the
run's ``infra_retries`` allow, and the run goes on.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import pickle
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from .errors import ConfigError
from .offload import worker_context
from .types import Trajectory

STOP_GRACE_S = 10.0  # how long a worker may take to finish closing after the run, before it is killed


@dataclass
class WorkerJob:
    """Everything a worker needs to play episodes; pickled once per worker."""

    env: Any                    # an env id or a picklable zero-argument factory
    env_kwargs: dict[str, Any]
    policy: Any
    settings: Any               # agentgym.engine.EpisodeSettings
    registration: Any = None    # (EnvSpec, factory) of an env id the worker's registry may not know
    sys_path: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, env: Any, env_kwargs: dict[str, Any], policy: Any, settings: Any) -> WorkerJob:
        """A job for ``env`` (id or factory); :class:`ConfigError` when a part of it cannot be sent."""
        registration = None
        if isinstance(env, str):
            from .registry import factory, spec

            registration = (spec(env), factory(env))
        job = cls(env, dict(env_kwargs), policy, settings, registration, list(sys.path))
        for what, value in (("the env factory", env), ("the policy", policy), ("the env arguments", env_kwargs)):
            try:
                pickle.dumps(value)
            except Exception as e:
                raise ConfigError(
                    f"workers > 1 sends {what} to each worker process, but it does not pickle "
                    f"({type(e).__name__}: {e}); use an env id or a module-level factory/class, and a policy "
                    "defined in an importable module (or run with workers=1)") from None
        try:
            pickle.dumps(registration)
        except Exception:  # a lambda registered in this process: the worker must know the id otherwise
            job.registration = None
        return job


# ------------------------------------------------------------------------------------- worker side
def _worker_main(conn: Any, payload: bytes) -> None:
    """A worker process: unpickle the job, say ``ready``, play what the parent sends until ``stop``."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    try:
        job: WorkerJob = pickle.loads(payload)
    except Exception as e:
        conn.send(("error", f"the worker could not rebuild the job: {type(e).__name__}: {e}"))
        return
    try:
        asyncio.run(_serve(conn, job))
    except Exception:
        conn.send(("error", traceback.format_exc(limit=5)))


def _register(job: WorkerJob) -> None:
    from .errors import EnvNotFoundError
    from .registry import register, spec

    if job.registration is None:
        return
    s, build = job.registration
    try:
        spec(s.id)
    except EnvNotFoundError:
        register(s.id, build, kwargs=s.kwargs, description=s.description, max_turns=s.max_turns,
                 tags=list(s.tags), requirements=list(s.requirements))


async def _serve(conn: Any, job: WorkerJob) -> None:
    from .engine import _factory, play_seed
    from .episode import error_text
    from .policies import Closable
    from .rundir import trajectory_line

    for p in job.sys_path:
        if p not in sys.path:
            sys.path.append(p)
    _register(job)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = None
            loop.call_soon_threadsafe(inbox.put_nowait, msg)
            if msg is None or msg[0] == "stop":
                return

    threading.Thread(target=read, daemon=True, name="agentgym-worker-inbox").start()
    factory = _factory(job.env, job.env_kwargs, job.settings.max_turns)
    running: set[asyncio.Task] = set()

    async def one(i: int, seed: int) -> None:
        try:
            traj = await play_seed(factory, job.policy, i, seed, job.settings)
        except Exception as e:  # play_seed records failures itself; anything else still answers the parent
            traj = Trajectory(episode=i, env_id=job.settings.env_id, model=job.settings.model, seed=seed)
            traj.fail("infra_error", error_text(e, trace=True), "worker")
        conn.send(("done", i, trajectory_line(traj)))

    conn.send(("ready", os.getpid()))
    try:
        while True:
            msg = await inbox.get()
            if msg is None or msg[0] == "stop":
                break
            task = asyncio.ensure_future(one(msg[1], msg[2]))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)
    finally:
        for t in running:
            t.cancel()
        if isinstance(job.policy, Closable):
            await job.policy.aclose()
        try:
            conn.send(("bye", time.process_time()))  # this worker's CPU seconds, for the run's summary
        except (OSError, ValueError):
            pass


# ------------------------------------------------------------------------------------- parent side
class _Proc:
    """One worker process, its pipe, and the episodes it is playing."""

    def __init__(self, ctx: Any, payload: bytes, index: int, events: asyncio.Queue, loop: asyncio.AbstractEventLoop):
        from .offload import _main_hidden

        self.index = index
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, payload), daemon=True,
                                name=f"agentgym-worker-{index}")
        with _main_hidden():  # a script without a main guard is not re-run in the worker
            self.proc.start()
        child.close()
        self.ready = False
        self.error = ""
        self.playing: dict[int, tuple[int, int]] = {}  # episode -> (seed, attempt)
        threading.Thread(target=self._read, args=(events, loop), daemon=True,
                         name=f"agentgym-worker-{index}-reader").start()

    def _read(self, events: asyncio.Queue, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                msg = None
            try:
                loop.call_soon_threadsafe(events.put_nowait, (self, msg))
            except RuntimeError:  # the loop is gone
                return
            if msg is None:
                return

    def send(self, msg: tuple) -> bool:
        try:
            self.conn.send(msg)
            return True
        except (OSError, ValueError):  # it died; its reader reports it
            return False

    def exit_text(self) -> str:
        self.proc.join(timeout=5)
        code = self.proc.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        return (f"worker process {self.index} (pid {self.proc.pid}) {how} while playing this episode"
                + (f": {self.error}" if self.error else ""))

    def stop(self, kill: bool = False) -> None:
        if kill and self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=0 if kill else STOP_GRACE_S)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


async def run_in_workers(job: WorkerJob, items: list[tuple[int, int]], workers: int, concurrency: int,
                         finished: Callable[[Trajectory, bytes | None], None],
                         play_here: Callable[[int, int], Awaitable[Trajectory]] | None = None) -> float:
    """Plays ``items`` (episode, seed) over ``workers`` processes; calls ``finished(traj, line)`` for each.
    Returns the CPU seconds the workers used.

    ``play_here(episode, seed)`` plays one in this process: used until the first worker is ready.
    Raises :class:`ConfigError` when a worker cannot start (the job does not rebuild there).
    """
    settings = job.settings
    payload = pickle.dumps(job)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    ctx = worker_context()  # forks of a server that has agentgym imported: ~0.3 s CPU less per worker than spawn
    n = min(workers, len(items))
    per = max(1, math.ceil(concurrency / n))
    todo = collections.deque((i, seed, 0) for i, seed in items)
    left = len(items)
    respawns = n * (settings.infra_retries + 1)
    procs: list[_Proc] = []

    async def start(k: int) -> None:  # off the loop: the first start also starts the fork server (~0.3 s)
        try:
            procs.append(await asyncio.to_thread(_Proc, ctx, payload, k, events, loop))
        except Exception as e:
            events.put_nowait((None, ("unstartable", f"{type(e).__name__}: {e}")))

    starting = [asyncio.ensure_future(start(k)) for k in range(n)]
    started = n
    any_ready = False
    here: dict[int, asyncio.Task] = {}  # episodes this process plays while no worker is ready

    def in_flight() -> int:
        return len(here) + sum(len(q.playing) for q in procs)

    def feed(p: _Proc) -> None:
        while todo and len(p.playing) < per and in_flight() < concurrency:
            i, seed, attempt = todo.popleft()
            p.playing[i] = (seed, attempt)
            if not p.send(("run", i, seed)):
                return

    async def play_one(i: int, seed: int) -> None:
        try:
            traj = await play_here(i, seed)  # type: ignore[misc]
        except Exception as e:  # play_seed records failures itself: this is a bug, still an answer
            traj = Trajectory(episode=i, env_id=settings.env_id, model=settings.model, seed=seed)
            traj.fail("infra_error", f"{type(e).__name__}: {e}", "worker")
        events.put_nowait((None, ("here", i, traj)))

    def feed_here() -> None:
        while play_here is not None and not any_ready and todo and in_flight() < concurrency:
            i, seed, _ = todo.popleft()
            here[i] = asyncio.ensure_future(play_one(i, seed))

    def feed_all() -> None:
        for q in procs:
            if q.ready:
                feed(q)
        feed_here()

    def lost(i: int, seed: int, attempt: int, why: str) -> None:
        nonlocal left
        if attempt < settings.infra_retries:
            todo.appendleft((i, seed, attempt + 1))
            return
        traj = Trajectory(episode=i, env_id=settings.env_id, model=settings.model, seed=seed)
        traj.fail("infra_error", why, "worker")
        if attempt:
            traj.timings["infra_retries"] = float(attempt)
        left -= 1
        finished(traj, None)

    feed_here()
    try:
        while left:
            p, msg = await events.get()
            if p is None and msg[0] == "unstartable":
                raise ConfigError(f"a worker process could not start: {msg[1]}")
            if p is None:  # an episode this process played
                _, i, traj = msg
                del here[i]
                left -= 1
                finished(traj, None)
                feed_all()
            elif msg is None:  # the worker is gone
                if p not in procs:
                    continue
                procs.remove(p)
                why = p.exit_text()
                if not any_ready:
                    raise ConfigError(f"a worker process could not start: {why}")
                for i, (seed, attempt) in p.playing.items():
                    lost(i, seed, attempt, why)
                p.stop(kill=True)
                if todo and respawns > 0:
                    respawns -= 1
                    procs.append(_Proc(ctx, payload, started, events, loop))
                    started += 1
                elif todo and not procs:  # nothing left to play them on
                    while todo:
                        i, seed, _ = todo.popleft()
                        lost(i, seed, settings.infra_retries, f"{why}; no worker left to replay it")
                feed_all()
            elif msg[0] == "ready":
                p.ready = any_ready = True
                feed_all()
            elif msg[0] == "done":
                _, i, line = msg
                seed, attempt = p.playing.pop(i)
                traj = Trajectory.model_validate_json(line)
                if attempt:
                    traj.timings["infra_retries"] = traj.timings.get("infra_retries", 0.0) + attempt
                    line = None  # re-encoded with the retry count
                left -= 1
                finished(traj, line)
                feed_all()
            elif msg[0] == "error":  # it exits next; its episodes are lost then
                if not any_ready:
                    raise ConfigError(f"a worker process could not start: {msg[1]}")
                p.error = msg[1].strip().splitlines()[-1][:300]
    except BaseException:
        for task in here.values():
            task.cancel()
        await asyncio.gather(*here.values(), *starting, return_exceptions=True)
        for p in procs:
            p.stop(kill=True)
        raise
    await asyncio.gather(*starting)  # a short run can end before every worker started
    cpu = 0.0
    closing = set()
    for p in procs:
        if p.ready and p.send(("stop",)):
            closing.add(p)
        else:  # still starting, so it holds no episode (the run ended before it was ready): killed
            p.stop(kill=True)
    deadline = loop.time() + STOP_GRACE_S
    while closing and loop.time() < deadline:  # each says goodbye with its CPU time, or is gone
        try:
            p, msg = await asyncio.wait_for(events.get(), deadline - loop.time())
        except asyncio.TimeoutError:
            break
        if p in closing and (msg is None or msg[0] == "bye"):
            cpu += msg[1] if msg else 0.0
            closing.discard(p)
    await asyncio.gather(*(asyncio.to_thread(p.stop, p in closing) for p in procs if p.ready))
    return cpu


__all__ = ["WorkerJob", "run_in_workers"]
