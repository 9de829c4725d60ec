"""The envs a server (or one of its worker processes) holds, by session id, and the operations on them.

    table = EnvTable("toy/maze", {"size": 3})
    await table.handle("create", "s1", {})
    await table.handle("reset", "s1", {"seed": 0})        # -> OpenEnv observation payload
    await table.handle("step", "s1", {"role": "assistant", "tool_calls": [...]})

:class:`LocalHost` runs a table on the server's own event loop (``--workers 0``);
:mod:`agentgym.server.workers` runs one per worker process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError

from ..env import Env
from .. import errors
from ..errors import AgentGymError, EnvStateError
from ..registry import make
from ..types import Task
from ..remote import RemoteInfraError
from .protocol import ErrorCode, ResetData, ServerError, encode_result, parse_action

# infrastructure failures of a served env (a RemoteEnv behind this server, a sandbox, a browser)
INFRA_ERRORS: tuple[type[BaseException], ...] = (RemoteInfraError, *(
    [errors.InfraError] if hasattr(errors, "InfraError") else []))


class EnvTable:
    """Envs by session id. Every reply is plain JSON data; every failure a :class:`ServerError`."""

    def __init__(self, env_id: str, env_args: dict[str, Any] | None = None):
        self.env_id, self.env_args = env_id, dict(env_args or {})
        self.envs: dict[str, Env] = {}
        self.started: set[str] = set()

    async def describe(self) -> dict[str, Any]:
        """The env's spec and tools, read from one instance (bad ``env_args`` fail here, at startup)."""
        env = await asyncio.to_thread(make, self.env_id, **self.env_args)
        try:
            return {"spec": env.spec.model_dump(mode="json"), "tools": [t.model_dump() for t in env.tools]}
        finally:
            await env.close()

    async def handle(self, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._handle(op, sid, data)
        except ServerError:
            raise
        except ValidationError as e:
            raise ServerError(ErrorCode.VALIDATION_ERROR, f"invalid {op} data: {_short(e)}") from None
        except EnvStateError as e:
            raise ServerError(ErrorCode.NOT_RESET, str(e)) from None
        except INFRA_ERRORS as e:
            raise ServerError(ErrorCode.INFRA_ERROR, f"{type(e).__name__}: {e}") from None
        except (AgentGymError, ValueError, TypeError) as e:
            raise ServerError(ErrorCode.VALIDATION_ERROR, f"{type(e).__name__}: {e}") from None
        except Exception as e:  # an env bug: reported, the server and the session stay up
            raise ServerError(ErrorCode.EXECUTION_ERROR, f"the env raised {type(e).__name__}: {e}") from None

    async def _handle(self, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        if op == "create":
            try:
                self.envs[sid] = await asyncio.to_thread(make, self.env_id, **self.env_args)
            except Exception as e:
                raise ServerError(ErrorCode.FACTORY_ERROR, f"could not build {self.env_id}: {type(e).__name__}: {e}")
            return {}
        if op == "close":
            env = self.envs.pop(sid, None)
            self.started.discard(sid)
            if env is not None:
                await env.close()
            return {}
        env = self.envs.get(sid)
        if env is None:
            raise ServerError(ErrorCode.SESSION_NOT_FOUND, f"session {sid} has no env here (closed or lost)")
        if op == "reset":
            args = ResetData.model_validate(data)
            task = Task.model_validate(args.task) if isinstance(args.task, dict) else args.task
            result = await env.reset(seed=args.seed, task=task)
            self.started.add(sid)
            return encode_result(result, turn=0, tools=env.tools)
        action = parse_action(data) if op == "step" else None  # a malformed action fails first
        if sid not in self.started and op in ("step", "fork", "oracle"):
            raise ServerError(ErrorCode.NOT_RESET, f"send reset before {op}: this session has no episode yet")
        if op == "step":
            result = await env.step(action)
            return encode_result(result, turn=env.turn)
        if op == "state":
            task = env.task
            return {"episode_id": sid, "step_count": env.turn, "env_id": self.env_id, "started": sid in self.started,
                    "done": bool(getattr(env, "_done", False)), "task_id": task.id if task else None,
                    "seed": getattr(env, "_seed", None)}
        if op == "fork":
            new_sid = data["session_id"]
            self.envs[new_sid] = await env.fork()
            self.started.add(new_sid)
            return {"session_id": new_sid}
        if op == "oracle":
            actions = await env.oracle()
            return {"messages": None if actions is None else [m.to_openai() for m in actions]}
        raise ServerError(ErrorCode.UNKNOWN_TYPE, f"unknown operation {op!r}")

    async def close_all(self) -> None:
        for sid in list(self.envs):
            try:
                await self.handle("close", sid, {})
            except ServerError:
                pass


def _short(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc'])) or 'data'}: {err['msg']}" for err in e.errors()[:3])


class LocalHost:
    """Hosts every env in the server process (``--workers 0``): the cheapest, for light envs."""

    workers = 0

    def __init__(self, env_id: str, env_args: dict[str, Any] | None = None):
        self.table = EnvTable(env_id, env_args)

    async def start(self) -> dict[str, Any]:
        return await self.table.describe()

    def place(self, sid: str) -> int:
        return 0

    async def call(self, slot: int, op: str, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self.table.handle(op, sid, data)

    def alive(self) -> list[bool]:
        return []

    def adopt(self, slot: int, sid: str) -> None:
        return None

    def forget(self, sid: str) -> None:
        return None

    async def aclose(self) -> None:
        await self.table.close_all()


__all__ = ["EnvTable", "LocalHost"]
