"""search/kb and search/kb-multihop: oracle, no-op, Search-R1 tags, rewards, bad input."""

import json

import pytest

import agentgym
from agentgym import Message, ToolCall
from agentgym.policies.simple import NoopPolicy, OraclePolicy, RandomPolicy

pytest.importorskip("bm25s", reason="bm25s is needed: pip install 'agentgym[tools]'")


def call(name, **args):
    return Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(args))])


def test_ids_registered():
    specs = {s.id: s for s in agentgym.list_envs("search")}
    assert {"search/kb", "search/kb-multihop"} <= set(specs)
    assert all("search" in specs[i].tags for i in ("search/kb", "search/kb-multihop"))
    assert [t.name for t in agentgym.make("search/kb").tools] == ["search", "open", "answer"]


@pytest.mark.parametrize("env_id", ["search/kb", "search/kb-multihop"])
@pytest.mark.parametrize("fmt", [None, "tags"])
async def test_oracle_solves_and_noop_fails(env_id, fmt):
    env = agentgym.make(env_id, format=fmt)
    hops = set()
    for seed in range(15):
        traj = await agentgym.rollout(env, OraclePolicy(), seed=seed)
        assert traj.success and traj.reward == 1.0, (traj.task_id, traj.messages[-3:])
        assert traj.infos[-1]["support_recall"] == 1.0
        hops.add(traj.infos[0]["hops"])
    assert hops == ({1} if env_id == "search/kb" else {2, 3, 4})
    for policy in (NoopPolicy(), RandomPolicy(seed=0)):
        traj = await agentgym.rollout(env, policy, seed=3)
        assert not traj.success and traj.reward == 0.0


async def test_search_r1_transcript():
    env = agentgym.make("search/kb-multihop", format="tags")
    first = await env.reset(seed=1)
    assert "<search>" in first.messages[0].content and "<information>" in first.messages[0].content
    plan = await env.oracle()
    assert plan[0].content.startswith("<search>") and plan[-1].content.startswith("<answer>")
    r = await env.step(plan[0])
    assert r.messages[0].content.startswith("<information>Doc 1 [")
    r = await env.step("<think>let me think</think><answer>   </answer>")
    assert not r.done and "empty" in r.messages[0].content
    r = await env.step("<search>a</search><search>b</search>")  # only the first action of a turn runs
    assert r.messages[0].content.count("<information>") == 1


async def test_bad_inputs_become_clear_tool_results():
    env = agentgym.make("search/kb")
    await env.reset(seed=0)
    cases = [
        (call("search", query="   "), "query is empty"),
        (call("search", query="city", k=0), "k must be at least 1"),
        (call("search", query="city", k=-5), "k must be at least 1"),
        (call("open", doc_id="person-99999"), "no document with id"),
        (call("open", doc_id=""), "doc_id is empty"),
        (call("answer", text=" \n\t"), "answer is empty"),
        (call("search", query="city", k="many"), "must be integer"),
    ]
    for action, fragment in cases:
        r = await env.step(action)
        assert fragment in r.messages[0].content and not r.done, (action, r.messages[0].content)
    r = await env.step(call("search", query="city " * 2500))  # a long query is clipped, not an error
    assert r.messages[0].content.startswith("Doc 1")


async def test_huge_k_is_capped_and_near_miss_ids_get_a_suggestion():
    env = agentgym.make("search/kb")
    await env.reset(seed=0)
    r = await env.step(call("search", query="city river founded", k=10**9))
    text = r.messages[0].content
    assert "showing the top 20" in text and text.count("\nDoc ") == 20
    r = await env.step(call("open", doc_id="person-00042"))
    assert "Did you mean person-0042" in r.messages[0].content
    title = env.kb.doc("city-0003").title
    r = await env.step(call("open", doc_id=title.upper()))  # a title works as well as an id
    assert r.messages[0].content.startswith("[city-0003]")


async def test_em_and_f1_rewards():
    env = agentgym.make("search/kb", reward="f1")
    q = None
    for seed in range(40):
        await env.reset(seed=seed)
        if len(env.question.answers[0].split()) >= 2:
            q = env.question
            break
    assert q is not None
    first_word = q.answers[0].split()[0]
    r = await env.step(call("answer", text=first_word))
    assert r.info["em"] == 0.0 and 0 < r.info["f1"] < 1 and r.reward == r.info["f1"] and not r.success
    assert r.channels["outcome"] == 0.0
    await env.reset(seed=seed)
    r = await env.step(call("answer", text=f"The {q.answers[0].upper()}."))  # SQuAD normalization
    assert r.success and r.reward == 1.0


async def test_splits_budget_task_by_id_and_fork():
    train = agentgym.make("search/kb")
    test = agentgym.make("search/kb", split="test")
    await train.reset(seed=0)
    await test.reset(seed=0)
    assert train.question.split == "train" and test.question.split == "test"
    capped = agentgym.make("search/kb", max_tool_calls=1)
    await capped.reset(seed=0)
    await capped.step(call("search", query="x y"))
    r = await capped.step(call("search", query="x y"))
    assert "budget of 1" in r.messages[0].content
    qid = train.question.id
    env = agentgym.make("search/kb")
    first = await env.reset(task=qid)
    assert env.question.id == qid and train.question.question in first.messages[-1].content
    await env.step(call("search", query=env.question.chain[0].entity))
    twin = await env.fork()
    assert twin.tool_calls_total == 1 and twin.seen_docs == env.seen_docs
    custom = await env.reset(task={"id": "mine", "instruction": "Capital of Nowhere?", "data": {"answers": ["Zed"]}})
    assert "Capital of Nowhere?" in custom.messages[-1].content
    assert (await env.step(call("answer", text="zed"))).success


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="k must be between"):
        agentgym.make("search/kb", k=0)
    with pytest.raises(ValueError, match="reward must be"):
        agentgym.make("search/kb", reward="bleu")
    with pytest.raises(ValueError, match="split"):
        agentgym.make("search/kb", split="dev")


@pytest.mark.parametrize("env_id", ["search/kb", "search/kb-multihop"])
@pytest.mark.parametrize("fmt", [None, "tags"])
async def test_search_envs_pass_the_conformance_check(env_id, fmt):
    from agentgym.testing import check_env

    env = agentgym.make(env_id, format=fmt)
    assert await check_env(env, seed=4) == []


@pytest.mark.parametrize("kwargs, fragment", [
    ({"kb_scale": 1000}, "kb_scale must be"), ({"kb_scale": 0}, "kb_scale must be"),
    ({"max_k": 10**9}, "max_k must be"), ({"snippet_chars": -1}, "snippet_chars must be"),
    ({"hops": [9]}, "hops must be"), ({"max_tool_calls": -2}, "max_tool_calls must be"),
])
def test_out_of_range_arguments_fail_at_make(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        agentgym.make("search/kb", **kwargs)
