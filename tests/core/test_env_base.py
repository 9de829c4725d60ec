"""The Env base owns seed, task and episode state: reset picks the seed once, ``self.rng`` is seeded
from it, ``set_task`` names the task, and the default ``fork`` replays exactly the episode it copies,
whether or not reset got a seed (an unseeded maze used to fork into a different grid)."""

import inspect
import json

import pytest

import agentgym
from agentgym import EnvStateError, Message, StepResult, Task, ToolCall, ToolEnv, ToolResult, tool
from agentgym.env import Env
from agentgym.envs.maze import MazeEnv
from agentgym.trainers.demo_env import LampsEnv


def move(direction):
    return Message.assistant(tool_calls=[ToolCall(name="move", arguments=json.dumps({"direction": direction}))])


class Dice(ToolEnv):
    """Every roll draws from ``self.rng``: a replay is exact only if the stream is the episode's."""

    async def _reset(self, *, seed, task):
        self.rolls = []
        self.set_task(Task(id=f"dice-{seed}", instruction="Roll."))
        return f"Target: {self.rng.randint(1, 6)}"

    @tool
    def roll(self) -> ToolResult:
        """Roll the die."""
        self.rolls.append(self.rng.randint(1, 6))
        return ToolResult(content=str(self.rolls[-1]))


ROLL = Message.assistant(tool_calls=[ToolCall(name="roll")])


async def test_unseeded_reset_picks_a_seed_once_and_fork_replays_the_same_maze():
    env = agentgym.make("toy/maze", size=6)
    first = await env.reset()                       # no seed
    assert isinstance(env.seed, int)
    assert env.task.id == f"maze-6-{env.seed}"
    await env.step(move("north"))
    twin = await env.fork()
    assert twin.grid == env.grid and twin.start == env.start and twin.goal == env.goal
    assert twin.pos == env.pos and twin.seed == env.seed and twin.turn == env.turn == 1
    for d in ("south", "east", "west"):
        a, b = await env.step(move(d)), await twin.step(move(d))
        assert [m.content for m in a.messages] == [m.content for m in b.messages]
    # the same seed rebuilds the same episode from scratch
    again = agentgym.make("toy/maze", size=6)
    assert (await again.reset(seed=env.seed)).messages[-1].content == first.messages[-1].content


async def test_unseeded_resets_draw_different_seeds():
    env = agentgym.make("toy/maze")
    seeds = set()
    for _ in range(4):
        await env.reset()
        seeds.add(env.seed)
    assert len(seeds) == 4


async def test_rng_is_seeded_by_reset_and_fork_continues_the_same_stream():
    a, b = Dice(), Dice()
    first_a, first_b = await a.reset(seed=11), await b.reset(seed=11)
    assert first_a.messages[-1].content == first_b.messages[-1].content
    for _ in range(3):
        assert (await a.step(ROLL)).messages[0].content == (await b.step(ROLL)).messages[0].content
    twin = await a.fork()
    assert twin.rolls == a.rolls and twin.task == a.task
    assert [(await twin.step(ROLL)).messages[0].content for _ in range(5)] == \
        [(await a.step(ROLL)).messages[0].content for _ in range(5)]


async def test_rng_and_task_before_reset():
    env = Dice()
    assert env.task is None and env.seed is None and env.turn == 0 and not env.done
    with pytest.raises(EnvStateError, match="reset"):
        env.rng
    with pytest.raises(TypeError, match="Task"):
        env.set_task({"id": "x"})
    with pytest.raises(TypeError, match="seed must be an int"):
        await env.reset(seed="3")


async def test_a_fork_shares_no_state_with_its_original():
    env = agentgym.make("toy/maze", size=5)
    await env.reset(seed=4)
    plan = await env.oracle()
    await env.step(plan[0])
    twin = await env.fork()
    for action in plan[1:]:                    # the twin walks to the exit ...
        res = await twin.step(action)
    assert res.success and twin.done
    reference = agentgym.make("toy/maze", size=5)  # ... and the original is where an untouched env would be
    await reference.reset(seed=4)
    await reference.step(plan[0])
    assert env.pos == reference.pos and env.turn == 1 and not env.done
    a, b = await env.step(plan[1]), await reference.step(plan[1])
    assert [m.content for m in a.messages] == [m.content for m in b.messages]


async def test_fork_keeps_the_task_given_to_reset():
    env = agentgym.make("tools/calc")
    task = Task(id="mine", instruction="What is 6*7?", data={"answer": "42"})
    await env.reset(task=task)
    twin = await env.fork()
    assert twin.task == task and twin.seed == env.seed


def test_no_new_trick_constructor_signatures_are_the_real_ones():
    assert "__new__" not in vars(Env)
    assert str(inspect.signature(LampsEnv)) == "()"
    assert list(inspect.signature(MazeEnv).parameters) == ["size"]


async def test_fork_of_an_env_built_by_hand():
    env = Dice()                                      # no constructor arguments: rebuilt by its class
    await env.reset(seed=2)
    assert (await env.fork()).seed == 2
    maze = MazeEnv(size=3)                            # arguments the base never saw: a clear error, not size 4
    await maze.reset(seed=2)
    with pytest.raises(EnvStateError, match="agentgym.make"):
        await maze.fork()


def test_optional_hooks_are_declared():
    from agentgym.policies import EpisodeAware, Closable, Policy
    from agentgym.policies.simple import NoopPolicy, OraclePolicy

    assert Env.system_prompt is None and Env.result_tag == "result"
    assert agentgym.make("search/kb").result_tag == "information"
    assert isinstance(OraclePolicy(), EpisodeAware) and isinstance(OraclePolicy(), Policy)
    assert not isinstance(NoopPolicy(), EpisodeAware)
    assert {"begin_episode"} <= set(dir(EpisodeAware)) and {"aclose"} <= set(dir(Closable))


class Plain(Env):
    """An env that is not a ToolEnv: the base's bookkeeping works for it too."""

    async def _reset(self, *, seed, task):
        self.word = self.rng.choice(["red", "green", "blue"])
        return StepResult(messages=[Message.user("Guess the colour.")])

    async def _step(self, action):
        ok = (action.content or "").strip() == self.word
        return StepResult(messages=[Message.user("yes" if ok else "no")], reward=float(ok), done=ok, success=ok)


async def test_text_env_fork_after_a_reset_without_seed():
    env = Plain()
    await env.reset()
    await env.step("purple")
    twin = await env.fork()
    assert twin.word == env.word and twin.turn == 1
    assert (await twin.step(env.word)).success
