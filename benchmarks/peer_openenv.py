"""The peer for ``bench_server.py``: the same ``toy/maze`` env served by OpenEnv's own server
(``openenv.core.env_server.create_app``), so both servers are driven by the same WebSocket frames.

    python -m uvicorn peer_openenv:app --app-dir benchmarks --port 8001
"""

from __future__ import annotations

import os
from typing import Any, Optional

from openenv.core.env_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State

import agentgym
from agentgym import Message

SIZE = int(os.environ.get("PEER_MAZE_SIZE", "2"))


class MazeAction(Action):
    role: str = "assistant"
    content: Optional[str] = None
    tool_calls: Optional[list[dict[str, Any]]] = None


class MazeObservation(Observation):
    messages: list[dict[str, Any]] = []


class MazeOpenEnv(Environment):
    """agentgym's toy/maze behind OpenEnv's Environment interface (async reset/step)."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        super().__init__()
        self.env = agentgym.make("toy/maze", size=SIZE, max_turns=100_000)
        self._state = State(episode_id=None, step_count=0)

    def reset(self, seed=None, episode_id=None, **kw):  # the server calls reset_async
        raise NotImplementedError

    def step(self, action, timeout_s=None, **kw):
        raise NotImplementedError

    async def reset_async(self, seed: Optional[int] = None, episode_id: Optional[str] = None, **kw) -> MazeObservation:
        first = await self.env.reset(seed=seed)
        self._state = State(episode_id=episode_id, step_count=0)
        return MazeObservation(messages=[m.to_openai() for m in first.messages], done=False, reward=0.0)

    async def step_async(self, action: MazeAction, timeout_s=None, **kw) -> MazeObservation:
        msg = Message.from_openai({"role": "assistant", "content": action.content, "tool_calls": action.tool_calls})
        out = await self.env.step(msg)
        self._state.step_count += 1
        return MazeObservation(messages=[m.to_openai() for m in out.messages], done=out.done or out.truncated,
                               reward=out.reward)

    @property
    def state(self) -> State:
        return self._state

    def close(self) -> None:
        pass


app = create_app(MazeOpenEnv, MazeAction, MazeObservation, env_name="maze",
                 max_concurrent_envs=int(os.environ.get("PEER_MAX_SESSIONS", "2048")))
