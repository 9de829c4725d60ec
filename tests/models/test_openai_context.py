"""OpenAIPolicy against a real served tiny model: the server's context length is read and respected,
an episode that outgrows it ends as ``context_length`` (not an error), a max_tokens that cannot fit
is refused before the run, one that a long conversation outgrew is cut to what fits, and a closed
port is a clear connection error before anything is written."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.errors import ConfigError, ContextLengthError
from agentgym.models.server import ModelServer
from agentgym.policies.openai import OpenAIPolicy
from agentgym.testing import free_port

pytestmark = pytest.mark.train

CONTEXT = 400  # the first maze prompt (system + tools + observation) is ~270 tokens


@pytest.fixture(scope="module")
def server(tiny_path):
    with ModelServer(tiny_path, model_name="tiny", max_model_len=CONTEXT) as s:
        yield s


@pytest.mark.parametrize("transport", ["direct", "aiohttp"])  # one context-error rule, either transport
async def test_reads_the_context_length_and_ends_the_episode_as_context_length(server, transport):
    policy = OpenAIPolicy("tiny", base_url=server.url, temperature=1.0, seed=0, transport=transport)
    assert await policy.read_context_length() == CONTEXT
    env = agentgym.make("toy/maze", size=2, max_turns=50)
    traj = await agentgym.rollout(env, policy, seed=0)
    await policy.aclose()
    assert traj.termination == "context_length" and traj.error is None, (traj.termination, traj.error)
    assert traj.turns >= 1  # the first turn got what fits (no max_tokens sent), then the context filled up
    assert 0 < traj.usage.completion_tokens <= CONTEXT


async def test_a_run_counts_context_length_as_an_end_not_an_error(server, tmp_path):
    policy = OpenAIPolicy("tiny", base_url=server.url, temperature=1.0)
    summary = await agentgym.arun("toy/maze", policy, episodes=2, concurrency=2, out=tmp_path / "run",
                                  progress=False, env_kwargs={"size": 2}, max_turns=50)
    assert summary.errors == 0 and summary.terminations == {"context_length": 2}
    assert "context_length" in summary.table()


async def test_max_tokens_larger_than_the_context_is_refused_before_the_run(server, tmp_path):
    policy = OpenAIPolicy("tiny", base_url=server.url, max_tokens=CONTEXT)
    with pytest.raises(ConfigError, match=r"max_tokens=400 \(--max-tokens\) leaves no room.*context of 400 tokens"):
        await agentgym.arun("toy/maze", policy, episodes=1, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


async def test_a_max_tokens_the_conversation_outgrew_is_cut_to_what_fits(server):
    env = agentgym.make("toy/maze", size=2)
    first = await env.reset(seed=0)
    policy = OpenAIPolicy("tiny", base_url=server.url, max_tokens=CONTEXT - 10, temperature=1.0, seed=1)
    msg = await policy.act(first.messages, env.tools)  # ~270 prompt tokens + 390 would not fit: cut, not refused
    assert msg.role == "assistant" and msg.usage.prompt_tokens + msg.usage.completion_tokens <= CONTEXT
    long = first.messages + [agentgym.Message.user("north " * 600)]
    with pytest.raises(ContextLengthError, match="maximum context length is 400"):
        await policy.act(long, env.tools)
    await policy.aclose()


async def test_a_closed_port_is_a_clear_error_before_anything_is_written(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    policy = OpenAIPolicy("tiny", base_url=url)
    with pytest.raises(ConfigError, match=r"cannot connect to .*connection refused.*Is the server running"):
        await agentgym.arun("toy/maze", policy, episodes=2, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    env = agentgym.make("toy/maze")
    first = await env.reset(seed=0)
    with pytest.raises(agentgym.TransientPolicyError, match="connection refused"):  # the same words per request
        await policy.act(first.messages, env.tools)
    await policy.aclose()


def test_a_missing_key_tells_a_python_user_what_to_pass(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError) as e:
        OpenAIPolicy("gpt-4.1-mini")
    assert "OPENAI_API_KEY" in str(e.value) and "api_key=" in str(e.value) and "--api-key-env" not in str(e.value)


async def test_an_unknown_host_is_a_clear_error_before_anything_is_written(tmp_path):
    policy = OpenAIPolicy("gpt-4.1-mini", api_key="sk-x", base_url="http://no-such-host.invalid/v1")
    with pytest.raises(ConfigError, match=r"cannot connect to http://no-such-host.invalid/v1: unknown host.*Check "
                                          r"the host name"):
        await agentgym.arun("toy/maze", policy, episodes=1, out=tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


async def test_a_wrong_model_name_or_a_missing_v1_is_refused_before_the_run(server, tmp_path):
    with pytest.raises(ConfigError, match=r"does not serve a model named 'tinyy'; did you mean 'tiny'"):
        await agentgym.arun("toy/maze", OpenAIPolicy("tinyy", base_url=server.url), episodes=1,
                            out=tmp_path / "a", progress=False)
    root = server.url.removesuffix("/v1")
    with pytest.raises(ConfigError, match=rf"the base URL of an OpenAI-compatible server ends in /v1 \(--base-url "
                                          rf"{root}/v1\)"):
        await agentgym.arun("toy/maze", OpenAIPolicy("tiny", base_url=root), episodes=1, out=tmp_path / "b",
                            progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
