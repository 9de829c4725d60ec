"""Executors: where env instances live during eval and training rollouts.

``local`` (default) builds envs in this process. ``ray`` holds them in Ray actors spread over a
Ray cluster: each actor hosts many envs (one per episode) behind the same operations the env
server uses (:class:`~agentgym.server.envtable.EnvTable`), and :class:`RayEnv` is the
:class:`~agentgym.env.Env` proxy the rollout engine drives, so policies, eval and trainers are
unchanged. An actor that dies ends its episodes as ``infra_error`` (cause: the actor).

    pool = RayEnvPool("textworld/cooking", {"n_games": 2}, actors=4, address="auto")
    summary = await agentgym.arun(pool.factory(), policy, episodes=64, concurrency=32)
    pool.shutdown()

    agentgym eval textworld/cooking --policy oracle --executor ray --ray-address auto
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import Any, Callable

from .env import Env
from .errors import MissingDependencyError
from .remote import RemoteEnvError, RemoteInfraError, SessionLostError
from .types import EnvSpec, Message, StepResult, Task, ToolSpec

EXECUTORS = ("local", "ray")


class ActorLostError(RemoteInfraError):
    """The Ray actor holding the env died (node lost, out of memory, killed)."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "the Ray executor") from None
    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None, temp_dir: str | None = None) -> None:
    """Connects to the Ray cluster at ``address`` (``auto``, ``ray://host:10001``), or starts a local
    one bound to 127.0.0.1 with no dashboard (its files under ``temp_dir``, default Ray's /tmp/ray).
    A no-op when Ray is already initialised."""
    ray = _ray()
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    _loopback_only()
    ray.init(num_cpus=num_cpus, _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False,
             **({"_temp_dir": temp_dir} if temp_dir else {}))


def _loopback_only() -> None:
    """Keeps a local Ray instance on 127.0.0.1. Ray (2.60) turns ``_node_ip_address="127.0.0.1"`` into the
    host's routable address (GCS and raylet then listen on it) unless multi-node clusters are disabled,
    as they are by default on macOS and Windows; a local instance needs none."""
    import os

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # Ray's own processes read it at import
    try:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False  # this process imported Ray already
    except (ImportError, AttributeError):
        pass


class _EnvHost:
    """The Ray actor: an EnvTable served through async methods (many envs per actor)."""

    def __init__(self, env_id: str, env_args: dict[str, Any]):
        from .server.envtable import EnvTable

        self.table = EnvTable(env_id, env_args)

    async def describe(self) -> dict[str, Any]:
        return await self.table.describe()

    async def handle(self, op: str, sid: str, data: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        from .server.protocol import ServerError

        try:
            return True, await self.table.handle(op, sid, data)
        except ServerError as e:
            return False, {"code": e.code.value, "message": e.message}

    def pid(self) -> int:
        import os

        return os.getpid()


class RayEnvPool:
    """``actors`` Ray actors hosting envs of ``env_id``; :meth:`factory` makes :class:`RayEnv` proxies."""

    def __init__(self, env_id: str, env_args: dict[str, Any] | None = None, *, actors: int = 2,
                 address: str | None = None, num_cpus: int | None = None, cpus_per_actor: float = 0.5,
                 max_turns: int | None = None):
        if actors < 1:
            raise ValueError(f"actors must be >= 1, got {actors}")
        ray = _ray()
        init_ray(address, num_cpus)
        self.env_id, self.env_args, self.max_turns = env_id, dict(env_args or {}), max_turns
        if max_turns:
            self.env_args["max_turns"] = max_turns
        remote_cls = ray.remote(num_cpus=cpus_per_actor, max_concurrency=1000)(_EnvHost)
        self.actors = [remote_cls.remote(env_id, self.env_args) for _ in range(actors)]
        described = ray.get(self.actors[0].describe.remote())
        tools = [ToolSpec.model_validate(t) for t in described["tools"]]
        self.spec = EnvSpec.model_validate(described["spec"]).model_copy(update={"tools": tools})
        self._next = itertools.cycle(range(actors))

    def pick(self) -> Any:
        return self.actors[next(self._next)]

    def factory(self) -> Callable[[], RayEnv]:
        """A zero-argument env factory for :func:`agentgym.arun` and the trainers."""
        return lambda: RayEnv(self)

    def shutdown(self) -> None:
        ray = _ray()
        for a in self.actors:
            ray.kill(a)
        self.actors = []


class RayEnv(Env):
    """An env held by one actor of a :class:`RayEnvPool` (see the module docstring)."""

    def __init__(self, pool: RayEnvPool, *, actor: Any = None, session_id: str | None = None):
        self.pool, self.spec = pool, pool.spec
        self.actor = actor if actor is not None else pool.pick()
        self.session_id = session_id
        self._created = session_id is not None

    async def _call(self, op: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        ray = _ray()
        try:
            if not self._created:
                self.session_id = uuid.uuid4().hex
                await self._raw("create", {})
                self._created = True
            return await self._raw(op, data or {})
        except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError, ray.exceptions.NodeDiedError) as e:
            raise ActorLostError(f"the Ray actor holding {self.spec.id} died: {type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:300]}") from None

    async def _raw(self, op: str, data: dict[str, Any]) -> dict[str, Any]:
        ok, payload = await self.actor.handle.remote(op, self.session_id, data)
        if ok:
            return payload
        if payload["code"] in ("INFRA_ERROR", "SESSION_NOT_FOUND"):
            raise SessionLostError(payload["message"])
        raise RemoteEnvError(f"{payload['message']} ({payload['code']})")

    async def _reset(self, *, seed: int | None, task: Task | None) -> StepResult:
        from .server.protocol import decode_result

        data = {"seed": seed, "task": task.model_dump(mode="json") if task else None}
        return decode_result(await self._call("reset", data))

    async def _step(self, action: Message) -> StepResult:
        from .server.protocol import decode_result

        return decode_result(await self._call("step", action.to_openai()))

    async def oracle(self) -> list[Message] | None:
        msgs = (await self._call("oracle"))["messages"]
        return None if msgs is None else [Message.from_openai(m) for m in msgs]

    async def fork(self) -> RayEnv:
        """A copy in the same actor, at the same state."""
        self._check_open()
        new_sid = uuid.uuid4().hex
        await self._call("fork", {"session_id": new_sid})
        twin = RayEnv(self.pool, actor=self.actor, session_id=new_sid)
        for name in ("_seed", "_task_arg", "_task", "_turn", "_done", "_started"):
            if hasattr(self, name):
                setattr(twin, name, getattr(self, name))
        twin._actions = list(getattr(self, "_actions", []))
        return twin

    async def _close(self) -> None:
        if self._created:
            try:
                await asyncio.wait_for(self._raw("close", {}), 30)
            except Exception:
                pass  # the actor is gone: nothing left to release

    def __repr__(self) -> str:
        return f"<RayEnv {self.spec.id} session={self.session_id}>"


__all__ = ["EXECUTORS", "RayEnvPool", "RayEnv", "ActorLostError", "init_ray"]
