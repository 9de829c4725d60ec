"""ARPO/ReTool/Search-R1 tag format edge cases, through the real envs (no sandbox needed)."""

import json

import pytest

import agentgym
from agentgym.parsers import parse_tags

pytest.importorskip("reasoning_gym", reason="reasoning-gym is needed: pip install 'agentgym[tools]'")


@pytest.fixture
def mixed_tools():
    return agentgym.make("tools/mixed").tools


def args(result):
    return [(c.name, json.loads(c.arguments)) for c in result.tool_calls]


def test_single_argument_tools_take_the_body_verbatim(mixed_tools):
    code = "for i in range(3):\n    print('<b>', i)"
    assert args(parse_tags(f"<python>{code}</python>", mixed_tools)) == [("python", {"code": code.strip()})]
    assert args(parse_tags(r"<answer>\boxed{42}</answer>", mixed_tools)) == [("answer", {"text": r"\boxed{42}"})]


def test_nested_tags_the_outer_action_wins(mixed_tools):
    r = parse_tags("<python>print('<answer>3</answer>')</python>", mixed_tools)
    assert args(r) == [("python", {"code": "print('<answer>3</answer>')"})]
    r = parse_tags("<answer>see <python>x</python></answer>", mixed_tools)
    assert args(r)[0][0] == "answer"


def test_multiple_actions_in_one_turn_only_the_first_runs(mixed_tools):
    r = parse_tags("<calculator>1+1</calculator> then <answer>2</answer>", mixed_tools)
    assert args(r) == [("calculator", {"expression": "1+1"})]


def test_unclosed_tag_is_reported(mixed_tools):
    r = parse_tags("<python>print(1)", mixed_tools)
    assert not r.tool_calls and "not closed" in r.error


def test_think_blocks_are_ignored(mixed_tools):
    r = parse_tags("<think>maybe <answer>1</answer></think><answer>2</answer>", mixed_tools)
    assert args(r) == [("answer", {"text": "2"})]


async def test_tag_episode_edge_cases_end_to_end():
    env = agentgym.make("tools/calc", format="tags", families=["basic_arithmetic"])
    first = await env.reset(seed=2)
    assert "<calculator>" in first.messages[0].content and "<result>" in first.messages[0].content
    gold = env.task.data["answer"]
    # unclosed tag: feedback with a format penalty, the episode goes on
    r = await env.step("<calculator>1+")
    assert "not closed" in r.messages[0].content and r.channels["format"] == -1.0 and not r.done
    # plain text without a tag
    r = await env.step(f"The answer is {gold}.")
    assert r.channels["format"] == -1.0 and "No tool call" in r.messages[0].content
    # whitespace-only answer: a clear result, not the end
    r = await env.step("<answer>   </answer>")
    assert "empty" in r.messages[0].content and not r.done
    # a tool result comes back inside <result>
    r = await env.step("<calculator>6*7</calculator>")
    assert r.messages[0].content == "<result>42</result>"
    # ARPO answers: <answer>\boxed{...}</answer>
    r = await env.step(f"<think>done</think><answer>\\boxed{{{gold}}}</answer>")
    assert r.done and r.success and r.reward == 1.0
