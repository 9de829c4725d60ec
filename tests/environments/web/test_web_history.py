"""``history="diff"``: after the first look, tree lines the model saw in the previous observation
fold into ``[... N unchanged lines]``; nothing earlier is rewritten (token-in/token-out safe)."""

import json

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.environments.web.observation import compact

pytestmark = pytest.mark.slow


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def test_compact_folds_lines_seen_in_the_previous_observation():
    first = "URL: u\nTitle: A\n\n[1] link 'Home'\n[2] textbox 'Search'\n[3] heading 'A'\nStaticText 'x'"
    text, seen = compact(first, None)
    assert text == first
    second = "URL: u2\nTitle: B\n\n[1] link 'Home'\n[2] textbox 'Search'\n[3] heading 'B'\nStaticText 'x'"
    text, seen = compact(second, seen)
    assert text == "URL: u2\nTitle: B\n\n[... 2 unchanged lines]\n[3] heading 'B'\nStaticText 'x'"
    text, _ = compact(second, seen)
    assert text == "URL: u2\nTitle: B\n\n[... 3 unchanged lines]\nStaticText 'x'"
    with pytest.raises(ValueError, match="history must be 'full' or 'diff'"):
        agentgym.make("web/shop", history="placeholder")


async def test_diff_history_is_shorter_and_ids_stay_usable():
    full, diff = agentgym.make("web/shop"), agentgym.make("web/shop", history="diff")
    sizes = {}
    for env in (full, diff):
        first = (await env.reset(task="shop-price-0")).messages[-1].content
        assert "[... " not in first                                # the first look is whole
        res = await env.step(call("goto", url="/search?q=kettle"))
        sizes[env.history] = len(first) + len(res.messages[-1].content)
    obs = res.messages[-1].content
    assert "unchanged lines]" in obs and "Summit Black Kettle" in obs and "q=kettle" in obs.splitlines()[0]
    assert "textbox 'Search products'" in obs                       # its value changed: shown
    assert sizes["diff"] < sizes["full"]
    twin = await diff.fork()                                        # the twin folds against the same look
    a = (await diff.step(call("scroll", direction="down"))).messages[-1].content
    b = (await twin.step(call("scroll", direction="down"))).messages[-1].content
    assert a == b and "unchanged lines]" in a and "Summit Black Kettle" not in a
    res = await diff.step(call("click", element_id="12"))           # an id from a folded part still works
    assert "Last action error" not in res.messages[-1].content
    for env in (full, diff, twin):
        await env.close()
