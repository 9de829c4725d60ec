"""Hostile commands never reach the TextWorld engine: they become feedback, in every env and format.

Before the command check, a NUL byte segfaulted the process (Jericho's frotz), a command starting
with a backslash (or a lone surrogate, which TextWorld escapes to ``\\ud83d``) sent dumb-frotz into
an endless meta-command loop, and commands past 198 UTF-8 bytes were cut silently.
"""

import json

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.environments.textworld.commands import command_problem, normalize_command

pytestmark = pytest.mark.textworld

ENVS = ["textworld/simple", "textworld/cooking", "textworld/coin_collector", "textworld/treasure_hunter",
        "textworld/custom"]
FORMATS = ["openai", "text", "tags", "react"]
# (command, text the feedback must contain). Messages escape a lone surrogate to the text
# ``\ud83d`` (agentgym.types.clean_text), which must not reach frotz as a meta-command either.
HOSTILE = [
    ("open door\x00", "U+0000"),
    ("\x00", "U+0000"),
    ("\ud83d", ("U+D83D", "backslash")),
    ("\\help", "backslash"),
    ("  \\q", "backslash"),
    ("look\x1b[31m", "U+001B"),
    ("look\x7f", "U+007F"),
    ("take\x85key", "one command per turn"),
    ("look\rgo north", "one command per turn"),
    ("é" * 120, "bytes"),
    ("x" * 250, "characters long"),
]


def action(command: str, fmt: str) -> Message:
    if fmt == "openai":
        return Message.assistant(tool_calls=[ToolCall(name="act", arguments=json.dumps({"command": command}))])
    if fmt == "tags":
        return Message.assistant(f"<act>{command}</act>")
    if fmt == "react":
        return Message.assistant(f"Thought: try it\nAction: act[{command}]")
    return Message.assistant(command)


def make(env_id: str, fmt: str, games):
    kw = dict(games[env_id])
    if fmt == "text":
        return agentgym.make(env_id, tools=False, **kw)
    return agentgym.make(env_id, format=None if fmt == "openai" else fmt, **kw)


def text_of(result) -> str:
    return "\n".join(m.content or "" for m in result.messages)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("env_id", ENVS)
async def test_hostile_commands_become_feedback(env_id, fmt, textworld_games):
    async with make(env_id, fmt, textworld_games) as env:
        await env.reset(seed=0)
        for command, needle in HOSTILE:
            r = await env.step(action(command, fmt))
            text = text_of(r)
            assert any(n in text for n in ([needle] if isinstance(needle, str) else needle)), (command, text)
            assert r.channels["format"] == -1.0 and not r.done, command
            text.encode("utf-8")                      # the feedback itself is always valid text
        r = await env.step(action("go \udc00 north", fmt))   # an escaped surrogate mid-command: the game answers
        assert not r.done and text_of(r)
        r = await env.step(action("look", fmt))       # the engine is alive and unharmed
        assert r.channels["format"] == 0.0 and "Error" not in text_of(r)


async def test_raw_surrogates_and_nul_never_reach_the_engine(textworld_games):
    """The env's own check, below any message cleaning: the act tool called directly."""
    async with make("textworld/coin_collector", "openai", textworld_games) as env:
        await env.reset(seed=0)
        for command, code in [("\ud83d", "U+D83D"), ("go \udc00 north", "U+DC00"), ("look\x00", "U+0000")]:
            result = await env.act(command)
            assert not result.ok and code in result.content and result.info["error"] == "bad_character"
        assert (await env.act("look")).ok


async def test_unicode_words_still_reach_the_game(textworld_games):
    async with make("textworld/coin_collector", "text", textworld_games) as env:
        await env.reset(seed=0)
        for command in ["héllo wörld ☃", "go \U0001f642 north", "\u202egood", "look \\ x"]:
            r = await env.step(command)
            assert r.channels["format"] == 0.0 and "Error" not in text_of(r), command


def test_command_check_names_the_problem():
    assert normalize_command("  > 'open   fridge' ") == "open fridge"
    assert command_problem("open fridge") is None
    assert command_problem("") == ("empty", command_problem("")[1])
    assert command_problem("a\x00")[0] == "bad_character"
    assert command_problem("a\ud800")[0] == "bad_character"
    assert command_problem("\\x")[0] == "meta_command"
    assert command_problem("a\nb")[0] == "multiline"
    assert command_problem("a" * 198) is None and command_problem("a" * 199)[0] == "too_long"
    assert command_problem("é" * 99) is None and command_problem("é" * 100)[0] == "too_long"
