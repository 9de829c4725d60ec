"""The engine's episode loop and writer under hostile conditions: actions no env should choke on,
trajectories pydantic cannot encode, tools that spin and envs that ignore cancellation."""

import asyncio
import json
import threading

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.engine import TrajectoryWriter, arun, load_trajectories, rollout
from agentgym.env import ToolEnv
from agentgym.tools import tool
from agentgym.types import Trajectory


class Scripted:
    """Replays a fixed list of actions, then repeats the last one."""

    name = "scripted"

    def __init__(self, actions):
        self.actions = actions

    async def act(self, messages, tools):
        turn = sum(m.role == "assistant" for m in messages)
        return self.actions[min(turn, len(self.actions) - 1)]


def call(name, raw):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=raw)])


HOSTILE = [
    Message.assistant("go \ud83d north\x00"),
    call("move", '{"direction": "\\ud83d"}'),
    call("move", '{"direction": %s}' % ("9" * 5000)),
    call("move", '{"direction": ' + "[" * 5000 + "]" * 5000 + "}"),
    call("move", '{"direction": ["a", 1]}'),
    call("mo\ud800ve", "{}"),
    Message.assistant("x" * 1_000_000),
]


def test_writer_escapes_what_pydantic_cannot_encode(tmp_path):
    path = tmp_path / "t.jsonl"
    bad = Message.model_construct(role="assistant", content="lone \ud83d", tool_calls=None, tool_call_id=None,
                                  name=None, tokens=None, usage=None)
    traj = Trajectory(episode=0, messages=[bad], infos=[{"obj": object(), "text": "\udc00", "big": 10**5000}],
                      rewards=[float("nan")])
    traj.error = "boom \ud83d"
    writer = TrajectoryWriter(path)
    writer.write(traj)
    writer.close()
    (back,) = load_trajectories(path)
    assert back.messages[0].content == "lone \\ud83d" and back.error == "boom \\ud83d"
    assert back.infos[0]["text"] == "\\udc00" and back.infos[0]["obj"].startswith("<object object")


@pytest.mark.parametrize("fmt", [None, "tags", "react"])
async def test_hostile_actions_never_crash_a_run_and_summary_is_written(tmp_path, fmt):
    kwargs = {"format": fmt} if fmt else {}
    summary = await arun("toy/maze", Scripted(HOSTILE), episodes=2, concurrency=2, max_turns=len(HOSTILE),
                         out=tmp_path, progress=False, env_kwargs=kwargs)
    assert summary.episodes == 2 and summary.errors == 0
    assert json.loads((tmp_path / "summary.json").read_text())["episodes"] == 2
    trajs = load_trajectories(tmp_path / "trajectories.jsonl")
    assert len(trajs) == 2 and all(t.termination == "max_turns" for t in trajs)
    for t in trajs:
        assert all(c.get("format") == -1.0 for c in t.channels[1:])
        assert any("\\ud83d" in (m.content or "") for m in t.messages)  # escaped, not dropped
    oversized = [m.content for m in trajs[0].messages if m.role != "assistant" and "limit is" in (m.content or "")]
    assert oversized and "1000000 characters long; the limit is 16000" in oversized[0]


class Spinner(ToolEnv):
    """A sync tool that spins in pure Python until the test stops it."""

    stop = threading.Event()

    async def _reset(self, *, seed, task):
        return "Spin."

    @tool
    def spin(self) -> str:
        """Spin."""
        while not self.stop.is_set():
            pass
        return "done"


@pytest.mark.timeout(120)
async def test_episode_timeout_holds_while_a_sync_tool_spins_and_neighbours_finish():
    Spinner.stop.clear()
    try:
        spinning = rollout(Spinner(), Scripted([call("spin", "{}")]), seed=0, timeout=1.0)
        maze = agentgym.make("toy/maze", size=3)
        neighbour = rollout(maze, agentgym.OraclePolicy(), seed=0, timeout=60)
        a, b = await asyncio.gather(spinning, neighbour)
    finally:
        Spinner.stop.set()
    assert a.termination == "timeout" and a.error == "episode exceeded 1.0 s"
    assert b.termination == "done" and b.success


class Stubborn(ToolEnv):
    """An env whose tool swallows cancellation once and keeps waiting."""

    async def _reset(self, *, seed, task):
        return "Wait."

    @tool
    async def wait(self) -> str:
        """Wait a long time."""
        try:
            await asyncio.sleep(600)
        except asyncio.CancelledError:
            await asyncio.sleep(600)
        return "done"


@pytest.mark.timeout(120)
async def test_episode_timeout_holds_when_the_env_ignores_cancellation(monkeypatch):
    from agentgym import engine

    monkeypatch.setattr(engine, "CANCEL_GRACE_S", 0.5)
    traj = await rollout(Stubborn(), Scripted([call("wait", "{}")]), seed=0, timeout=0.5)
    assert traj.termination == "timeout"
    assert Trajectory.model_validate_json(traj.model_dump_json()).termination == "timeout"
