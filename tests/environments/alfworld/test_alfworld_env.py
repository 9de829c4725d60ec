"""ALFWorld on its real engine with offline-generated problems (and the official-data path)."""

import json
import shutil

import pytest

import agentgym
from agentgym import Message, OraclePolicy, RandomPolicy, ToolCall
from agentgym.environments.alfworld.env import SHORT_NAMES
from agentgym.testing import check_env

pytestmark = pytest.mark.textworld
TASKS = ["pick_and_place", "look_at_obj_in_light", "pick_clean_then_place", "pick_heat_then_place",
         "pick_cool_then_place", "pick_two_obj_and_place"]


def generated(env_id: str, **kw):
    return agentgym.make(env_id, source="generated", **kw)


@pytest.mark.parametrize("task", TASKS)
async def test_oracle_wins_every_task_type(task, alfworld_problems):
    async with generated(f"alfworld/{task}") as env:
        traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
        assert traj.success and traj.reward == 1.0, traj.messages[-1].content
        assert env.task.data["task_type"] == SHORT_NAMES[task]


def test_generated_problems_follow_alfworld_rules(alfworld_problems):
    from alfworld.gen import constants as c

    for task, folder in alfworld_problems.items():
        game = json.loads((folder / "game.tw-pddl").read_text())
        traj = json.loads((folder / "traj_data.json").read_text())
        assert set(game) >= {"pddl_domain", "grammar", "pddl_problem", "solvable", "walkthrough"}
        assert game["solvable"] is True and game["walkthrough"] and "UNKNOWN GOAL" not in game["grammar"]
        assert traj["task_type"] == SHORT_NAMES[task]
        assert set(traj["pddl_params"]) >= {"object_target", "parent_target", "toggle_target", "mrecep_target"}
        # every (inReceptacle obj rec) respects ALFRED's object/receptacle compatibility
        for line in game["pddl_problem"].splitlines():
            if line.strip().startswith("(inReceptacle") and "?" not in line:  # init facts, not the goal
                _, obj, rec = line.strip("() \n").split()
                otype = obj.split("_bar_")[0]
                rtype = rec.split("_bar_")[-1] if rec.endswith("Basin") else rec.split("_bar_")[0]
                assert otype in ("DeskLamp", "FloorLamp") or otype in c.VAL_RECEPTACLE_OBJECTS[rtype], line


async def test_conformance_goal_not_true_at_start_and_channels(alfworld_problems):
    env = generated("alfworld/pick_heat_then_place")
    assert await check_env(env, seed=0) == []
    first = await env.reset(seed=0)
    text = first.messages[-1].content
    assert "Your task is to: " in text and "Admissible commands: go to" in text and not first.info["won"]
    step = await env.step("go to the moon")
    assert step.messages[0].content.startswith("Nothing happens.") and step.channels["admissible"] == 0.0
    step = await env.step(Message.assistant(tool_calls=[ToolCall(name="act", arguments='{"command": "look"}')]))
    assert step.channels["admissible"] == 1.0 and step.messages[0].role == "tool"
    await env.close()


async def test_determinism_and_exact_fork(alfworld_problems):
    async with generated("alfworld/pick_cool_then_place") as env:
        await env.reset(seed=0)
        plan = await env.oracle()
        outs = [(await env.step(a)).messages[0].content for a in plan[:2]]
        twin = await env.fork()
        a, b = await env.step(plan[2]), await twin.step(plan[2])
        assert a.messages[0].content == b.messages[0].content
        assert a.info["admissible_commands"] == b.info["admissible_commands"]
        await twin.close()
    async with generated("alfworld/pick_cool_then_place") as again:
        await again.reset(seed=0)
        assert [(await again.step(x)).messages[0].content for x in plan[:2]] == outs


async def test_bad_input_never_crashes(alfworld_problems):
    async with generated("alfworld/pick_and_place") as env:
        await env.reset(seed=0)
        for text in ["", "x" * 5000, "take ☃ from 冰箱", "go to\ncountertop 1"]:
            r = await env.step(text)
            assert r.messages and not r.done
        for a in await env.oracle():
            last = await env.step(a)
        assert last.success
        after = await env.step("look")
        assert after.done and "over" in after.messages[0].content


async def test_random_agent_rarely_wins(alfworld_problems):
    wins = 0
    for episode in range(3):
        async with generated("alfworld/pick_and_place", max_turns=20, tools=False) as env:
            traj = await agentgym.rollout(env, RandomPolicy(seed=episode), seed=0)
        wins += traj.success
    assert wins <= 1


async def test_all_cycles_task_types_and_test_split_uses_unseen_rooms(alfworld_problems):
    from agentgym.environments.alfworld.scenes import HELD_OUT

    env = generated("alfworld/all")
    assert env._pick(0) == ("pick_and_place_simple", 0) and env._pick(13) == ("look_at_obj_in_light", 2)
    test_env = generated("alfworld/look_at_obj_in_light", split="test")
    await test_env.reset(seed=0)
    traj = json.loads(test_env.game_file(0).with_name("traj_data.json").read_text())
    assert traj["scene"]["scene_num"] in HELD_OUT
    await test_env.close()


async def test_official_data_layout_is_served(alfworld_problems, tmp_path, monkeypatch):
    # Lay our generated games out exactly like ALFWorld's data (json_2.1.1/<split>/<task>/<trial>/).
    for task, folder in alfworld_problems.items():
        traj = json.loads((folder / "traj_data.json").read_text())
        trial = tmp_path / "json_2.1.1" / "valid_unseen" / f"{traj['task_type']}-x-1" / "trial_T0"
        trial.mkdir(parents=True)
        game = json.loads((folder / "game.tw-pddl").read_text())
        game["grammar"] = game["grammar"].replace(traj["task_desc"], "UNKNOWN GOAL")
        del game["walkthrough"]                          # official games have none: the planner fills in
        (trial / "game.tw-pddl").write_text(json.dumps(game))
        shutil.copy(folder / "traj_data.json", trial / "traj_data.json")
    monkeypatch.setenv("ALFWORLD_DATA", str(tmp_path))
    env = agentgym.make("alfworld/pick_heat_then_place", split="test")    # source=auto -> official
    assert env.source == "official" and env.split == "valid_unseen"
    traj = await agentgym.rollout(env, OraclePolicy(), seed=0)
    assert traj.success and "Your task is to: " in traj.messages[1].content
    assert "UNKNOWN GOAL" not in traj.messages[1].content
    with pytest.raises(ValueError, match="official ALFWorld splits"):
        await agentgym.make("alfworld/all", source="official", split="dev").reset(seed=0)


def test_bad_arguments_say_what_to_do(monkeypatch):
    with pytest.raises(ValueError, match="unknown ALFWorld task type"):
        agentgym.make("alfworld/all", task_type="make_coffee")
    with pytest.raises(ValueError, match="splits 'train' and 'test'"):
        generated("alfworld/all", split="valid_seen")
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    from agentgym.environments.alfworld.official import official_games

    with pytest.raises(FileNotFoundError, match="ALFWORLD_DATA"):
        official_games("train")


@pytest.mark.parametrize("tools", [True, False])
async def test_hostile_commands_become_feedback(tools, alfworld_problems):
    """The shared command check guards the PDDL engine too: bad characters never reach it."""
    hostile = [("open fridge 1\x00", "U+0000"), ("\ud83d", "U+D83D|backslash"), ("go to\x1bcountertop 1", "U+001B"),
               ("\\help", "backslash"), ("go to " + "🙂" * 60, "bytes")]
    async with generated("alfworld/pick_and_place", tools=tools) as env:
        await env.reset(seed=0)
        for command, needle in hostile:
            msg = (Message.assistant(tool_calls=[ToolCall(name="act", arguments=json.dumps({"command": command}))])
                   if tools else Message.assistant(command))
            r = await env.step(msg)
            text = r.messages[0].content
            assert any(n in text for n in needle.split("|")) and r.channels["format"] == -1.0 and not r.done, text
        for a in await env.oracle():
            last = await env.step(a)
        assert last.success
