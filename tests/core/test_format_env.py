"""TextFormatEnv: a reply that does not parse is refused before the inner env sees it (a TextWorld
game used to execute text the model was just told was invalid); it still counts as a turn and
replays identically in a fork."""

import pytest

import agentgym
from agentgym import Message, ToolEnv, tool
from agentgym.registry import _unregister


class Recorder(ToolEnv):
    """Records every plain-text reply it is asked to act on (as a text game would execute it)."""

    def __init__(self):
        self.executed = []

    async def _reset(self, *, seed, task):
        self.executed = []
        return "Say something."

    async def on_text(self, text, action):
        self.executed.append(text)
        return await super().on_text(text, action)

    @tool
    def say(self, word: str) -> str:
        """Say a word.

        Args:
            word: the word.
        """
        self.executed.append(f"say:{word}")
        return f"you said {word}"

    @tool
    def pair(self, a: str, b: str) -> str:
        """Say two words.

        Args:
            a: the first.
            b: the second.
        """
        return a + b


@pytest.fixture(autouse=True)
def registered():
    agentgym.register("test/recorder", Recorder, max_turns=3, override=True)
    yield
    _unregister("test/recorder")


def make(fmt):
    return agentgym.make("test/recorder", format=fmt)


async def test_a_parse_error_never_reaches_the_inner_env():
    for fmt, bad in [("tags", "<say>unclosed"), ("tags", "<pair>x</pair>"), ("react", "Action: say please")]:
        env = make(fmt)
        await env.reset(seed=0)
        res = await env.step(Message.assistant(bad))
        assert res.channels["format"] == -1.0 and res.info["error"], (fmt, bad)
        assert res.messages[-1].content.startswith("Error: ") and res.info["error"] in res.messages[-1].content
        assert env.inner.executed == [], (fmt, bad)        # nothing was acted on
        assert env.turn == 1                                # but the turn counts
        ok = await env.step(Message.assistant("<say>hi</say>" if fmt == "tags" else "Action: say[hi]"))
        assert env.inner.executed == ["say:hi"] and ok.channels["format"] == 0.0


async def test_refused_turns_count_toward_max_turns_and_replay_in_a_fork():
    env = make("tags")
    await env.reset(seed=0)
    await env.step(Message.assistant("<say>unclosed"))
    await env.step(Message.assistant("<say>a</say>"))
    twin = await env.fork()
    assert twin.inner.executed == ["say:a"] and twin.turn == 2
    last, twin_last = await env.step(Message.assistant("<say>oops")), await twin.step(Message.assistant("<say>oops"))
    assert last.truncated and twin_last.truncated and env.inner.executed == ["say:a"]
    assert [m.content for m in last.messages] == [m.content for m in twin_last.messages]


async def test_plain_text_without_any_tag_still_goes_to_the_env():
    env = make("tags")
    await env.reset(seed=0)
    await env.step(Message.assistant("hello there"))     # no tag at all: the env's own on_text decides
    assert env.inner.executed == ["hello there"]
