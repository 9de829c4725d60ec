"""TextWorld envs on real generated games: oracle, determinism, fork, bad input, rewards."""

import json

import pytest

import agentgym
from agentgym import Message, OraclePolicy, RandomPolicy, ToolCall
from agentgym.testing import check_env

pytestmark = pytest.mark.textworld


def act(command: str) -> Message:
    return Message.assistant(tool_calls=[ToolCall(name="act", arguments=json.dumps({"command": command}))])


def make(env_id, games, **kw):
    return agentgym.make(env_id, **{**games[env_id], **kw})


@pytest.mark.parametrize("env_id", ["textworld/simple", "textworld/cooking", "textworld/coin_collector",
                                    "textworld/treasure_hunter", "textworld/custom"])
async def test_oracle_wins_every_challenge(env_id, textworld_games):
    async with make(env_id, textworld_games) as env:
        traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
    assert traj.success and traj.termination == "done", traj.messages[-1].content
    assert traj.channels[-1]["outcome"] == 1.0
    assert sum(traj.rewards) == pytest.approx(traj.infos[-1]["max_score"])   # dense: deltas add up


async def test_conformance_tools_and_text(textworld_games):
    for tools in (True, False):
        env = make("textworld/coin_collector", textworld_games, tools=tools)
        assert await check_env(env, seed=0) == []
        assert bool(env.tools) is tools
        await env.close()


async def test_observation_has_score_and_admissible_commands(textworld_games):
    async with make("textworld/cooking", textworld_games) as env:
        first = await env.reset(seed=0)
        text = first.messages[-1].content
        assert "$$$$" not in text and "Admissible commands:" in text and "Score: 0/" in text
        assert first.info["max_score"] > 0 and "look" in first.info["admissible_commands"]
    async with make("textworld/cooking", textworld_games, admissible_commands=False, inventory=True,
                    description=True) as env:
        await env.reset(seed=0)
        step = await env.step("look")
        text = step.messages[-1].content
        assert "Admissible commands:" not in text
        assert "Inventory: You are carrying" in text and "Description: -= Kitchen =-" in text


async def test_same_seed_and_actions_give_same_observations(textworld_games):
    commands = ["look", "go west", "inventory", "open fridge", "xyzzy", "go east"]
    transcripts = []
    for _ in range(2):
        async with make("textworld/cooking", textworld_games) as env:
            obs = [(await env.reset(seed=0)).messages[-1].content]
            for c in commands:
                obs.append((await env.step(c)).messages[-1].content)
            transcripts.append(obs)
    assert transcripts[0] == transcripts[1]


async def test_fork_is_exact_and_independent(textworld_games):
    async with make("textworld/simple", textworld_games) as env:
        await env.reset(seed=0)
        plan = await env.oracle()
        for a in plan[:3]:
            await env.step(a)
        twin = await env.fork()
        a, b = await env.step(plan[3]), await twin.step(plan[3])
        assert a.messages[0].content == b.messages[0].content and a.reward == b.reward
        await twin.step("go west")                       # diverge the twin only
        rest = [await env.step(x) for x in plan[4:]]
        assert rest[-1].success is True
        await twin.close()


async def test_bad_input_becomes_feedback(textworld_games):
    async with make("textworld/coin_collector", textworld_games) as env:
        await env.reset(seed=0)
        for text, needle in [("", "empty"), ("   \n ", "empty"), ("x" * 2000, "characters long"),
                             ("go north\ngo south", "one command per turn")]:
            r = await env.step(text)
            assert r.channels["format"] == -1.0 and needle in r.messages[0].content and not r.done
        r = await env.step("héllo wörld ☃")              # the game's own parser answers
        assert r.channels["format"] == 0.0 and r.channels["admissible"] == 0.0 and r.messages[0].content
        r = await env.step("> look")
        assert r.channels["admissible"] == 1.0
        bad_tool = await env.step(Message.assistant(tool_calls=[ToolCall(name="act", arguments='{"cmd": 1}')]))
        assert bad_tool.channels["format"] == -1.0 and bad_tool.messages[0].role == "tool"
        for a in await env.oracle():
            last = await env.step(a)
        assert last.done and last.success
        after = await env.step(act("look"))
        assert after.done and after.channels["format"] == -1.0 and "over" in after.messages[0].content


async def test_sparse_reward_pays_only_the_win(textworld_games):
    async with make("textworld/simple", textworld_games, reward="sparse") as env:
        traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
    assert traj.rewards[-1] == 1.0 and sum(traj.rewards[:-1]) == 0.0
    assert sum(c.get("score_delta", 0) for c in traj.channels) > 1   # the dense signal is still a channel


async def test_random_agent_rarely_wins(textworld_games):
    wins = 0
    for episode in range(4):
        async with make("textworld/simple", textworld_games, max_turns=25) as env:
            traj = await agentgym.rollout(env, RandomPolicy(seed=episode), seed=0)
        assert all(c["format"] == 0.0 for c in traj.channels[1:])     # random commands are admissible
        wins += traj.success
    assert wins <= 1


async def test_splits_never_share_games(textworld_games):
    from agentgym.environments.textworld.games import generator_seed

    train = {generator_seed(i, "train") for i in range(500)}
    test = {generator_seed(i, "test") for i in range(500)}
    assert not train & test
    async with make("textworld/coin_collector", textworld_games, split="test", level=1) as env:
        first = await env.reset(seed=0)
        assert env.task.split == "test" and env.task.data["seed"] == 1
        assert first.messages[-1].content


async def test_n_games_bounds_the_pool_and_task_game_file(textworld_games):
    async with make("textworld/coin_collector", textworld_games, n_games=1) as env:
        a = await env.reset(seed=0)
        b = await env.reset(seed=7)                       # 7 % 1 == 0: the same game
        assert a.messages[-1].content == b.messages[-1].content
        path = env.task.data["game_file"]
    async with agentgym.make("textworld/simple") as env:  # any game file can be played as a task
        await env.reset(task={"id": "mine", "data": {"game_file": path}})
        traj_plan = await env.oracle()
        assert traj_plan and json.loads(traj_plan[0].tool_calls[0].arguments)["command"]


def test_bad_settings_say_what_is_wrong():
    with pytest.raises(ValueError, match="take .* must be <= recipe"):
        agentgym.make("textworld/cooking", recipe=1, take=2)
    with pytest.raises(ValueError, match="treasure_hunter levels are 1-30"):
        agentgym.make("textworld/treasure_hunter", level=40)
    with pytest.raises(ValueError, match="split must be"):
        agentgym.make("textworld/simple", split="valid")
    with pytest.raises(ValueError, match="reward must be"):
        agentgym.make("textworld/simple", reward="shaped")
