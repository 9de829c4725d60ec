"""The README's "Add an environment" example runs as written."""

import pathlib
import re

import agentgym
from agentgym.registry import _unregister
from agentgym.testing import check_env

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


async def test_add_an_environment_example():
    text = README.read_text()
    section = text.split("### Add an environment", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    _unregister("demo/guess")
    exec(compile(code, "README.md", "exec"), {})
    try:
        env = agentgym.make("demo/guess")
        assert await check_env(env, seed=3, oracle=False) == []
        await env.reset(seed=3)
        res = await env.step(agentgym.Message.assistant(tool_calls=[agentgym.ToolCall(name="guess", arguments='{"number": 12}')]))
        assert res.success and res.reward == 1.0
        tags = agentgym.make("demo/guess", format="tags")
        await tags.reset(seed=3)
        assert (await tags.step("<guess>50</guess>")).messages[0].content == "<result>lower</result>"
    finally:
        _unregister("demo/guess")
