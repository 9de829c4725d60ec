"""Batched multi-turn episodes: masks, no re-tokenization drift, truncation, env errors, GRPO groups."""

import asyncio

import agentgym
from agentgym.env import ToolEnv
from agentgym.tools import tool
from agentgym.trainers.episodes import EpisodeStart, Generator, play_episodes
from agentgym.trainers.grpo import AgentRollout, task_prompt


def _maze(max_turns=3):
    return lambda: agentgym.make("toy/maze", size=2, max_turns=max_turns)


def test_masks_and_decode_match_the_conversation(tiny):
    model, tok = tiny
    gen = Generator(model, tok, temperature=1.0, max_new_tokens=16)
    records = asyncio.run(play_episodes(gen, [EpisodeStart(_maze(), seed=s) for s in (1, 2, 3)], max_turns=3))
    for r in records:
        assert r.turns == 3 and r.termination == "max_turns" and r.error is None
        assert len(r.completion_ids) == len(r.env_mask) == len(r.logprobs) == len(r.nodes)
        # split the completion into runs of model (1) and env (0) tokens: runs alternate model, env, model, ...
        runs, cur = [], None
        for tid, m in zip(r.completion_ids, r.env_mask):
            if m != cur:
                runs.append((m, []))
                cur = m
            runs[-1][1].append(tid)
        assert [m for m, _ in runs] == [1, 0, 1, 0, 1]
        assert all(lp == 0.0 for lp, m in zip(r.logprobs, r.env_mask) if m == 0)
        # env runs are exactly the template suffixes of the env's messages (tool/user blocks + generation prompt)
        for m, ids in runs:
            text = tok.decode(ids, skip_special_tokens=False)
            if m == 0:
                assert "<|im_start|>user\n" in text and text.endswith("<|im_start|>assistant\n")
        # the prompt decodes to the rendered first observation
        first = [msg.to_openai() for msg in r.messages[:2]]
        tools = [t.to_openai() for t in agentgym.make("toy/maze").tools]
        assert tok.decode(r.prompt_ids, skip_special_tokens=False) == tok.apply_chat_template(
            first, tools=tools, tokenize=False, add_generation_prompt=True)


def _rendered_through_last_turn(tok, record, tools):
    """The template text of the episode's messages up to its last generated turn, as far as the model wrote it."""
    msgs = [m.to_openai() for m in record.messages]
    last = max(i for i, m in enumerate(msgs) if m["role"] == "assistant")
    assert all(m["role"] != "assistant" for m in msgs[last + 1:])  # only the env's final reply follows
    text = tok.apply_chat_template(msgs[:last + 1], tools=tools, tokenize=False)
    assert text.endswith(tok.eos_token + "\n")
    ended = record.completion_ids[-1] == tok.eos_token_id  # a turn cut by max_new_tokens has no <|im_end|> yet
    return text[: -len("\n")] if ended else text[: -len(tok.eos_token + "\n")]


class ScriptedGenerator:
    """Emits fixed turn texts as token ids: a cut turn (no eos), a look call, then the oracle's moves."""

    def __init__(self, tokenizer, turns):
        self.tokenizer, self.turns, self.max_new_tokens = tokenizer, list(turns), 64

    def generate(self, prompts, max_new_tokens=None, entropies=False):
        from agentgym.policies.hf import Generation

        [_] = prompts
        text, eos = self.turns.pop(0)
        ids = self.tokenizer.encode(text, add_special_tokens=False) + ([self.tokenizer.eos_token_id] if eos else [])
        return [Generation(ids=ids, logprobs=[-1.0] * len(ids), text=self.tokenizer.decode(ids))]


def _call_text(tok, tools, name, arguments):
    """An assistant tool call exactly as the template renders it (what a trained model writes)."""
    msg = {"role": "assistant", "content": None,
           "tool_calls": [{"id": "c", "type": "function", "function": {"name": name, "arguments": arguments}}]}
    head = tok.apply_chat_template([{"role": "user", "content": "x"}], tools=tools, tokenize=False,
                                   add_generation_prompt=True)
    full = tok.apply_chat_template([{"role": "user", "content": "x"}, msg], tools=tools, tokenize=False)
    return full[len(head): -len(tok.eos_token + "\n")]


def test_whole_episode_decodes_to_the_rendered_conversation(tiny):
    import torch

    model, tok = tiny
    tools = [t.to_openai() for t in agentgym.make("toy/maze").tools]
    torch.manual_seed(0)
    gen = Generator(model, tok, temperature=1.0, max_new_tokens=12)  # short: some turns are cut, some end in eos
    records = asyncio.run(play_episodes(gen, [EpisodeStart(_maze(4), seed=s) for s in (1, 2, 3, 4)], max_turns=4))
    for r in records:
        assert r.error is None and r.turns == 4
        decoded = tok.decode(r.prompt_ids + r.completion_ids, skip_special_tokens=False)
        assert decoded == _rendered_through_last_turn(tok, r, tools)

    # tool calls, tool results, a cut turn mid-episode and a solved episode (its last reply is not in the tokens)
    env = agentgym.make("toy/maze", size=2).sync()
    env.reset(seed=7)
    plan = [(_call_text(tok, tools, a.tool_calls[0].name, a.tool_calls[0].arguments), True) for a in env.oracle()]
    env.close()
    turns = [("I am thinking", False), (_call_text(tok, tools, "look", "{}"), True), *plan]
    [r] = asyncio.run(play_episodes(ScriptedGenerator(tok, turns), [EpisodeStart(_maze(10), seed=7)], max_turns=10))
    assert r.success and r.termination == "done" and r.turns == len(turns) and r.tool_calls == len(turns) - 1
    assert r.messages[-1].role != "assistant"
    decoded = tok.decode(r.prompt_ids + r.completion_ids, skip_special_tokens=False)
    assert decoded == _rendered_through_last_turn(tok, r, tools)
    assert decoded.count("<tool_response>") == len(turns) - 2  # every tool result but the final one
    model_text = tok.decode([t for t, m in zip(r.completion_ids, r.env_mask) if m], skip_special_tokens=False)
    assert model_text == "".join(t + (tok.eos_token if eos else "") for t, eos in turns)


def test_group_starts_from_identical_state(tiny):
    model, tok = tiny
    rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=2, max_new_tokens=8)
    prompts = [task_prompt(5)] * 4 + [task_prompt(9)] * 4
    records = rollout.collect(Generator(model, tok, max_new_tokens=8), prompts, 4, max_turns=2, max_completion_length=256)
    assert len(records) == 8
    assert len({tuple(r.prompt_ids) for r in records[:4]}) == 1
    assert len({tuple(r.prompt_ids) for r in records[4:]}) == 1
    assert records[0].prompt_ids != records[4].prompt_ids
    assert [r.key for r in records] == ['[5, null]'] * 4 + ['[9, null]'] * 4
    out = rollout.to_trl(records)
    assert set(out) >= {"prompt_ids", "completion_ids", "logprobs", "env_mask", "episode_return", "success"}
    assert all(len(v) == 8 for v in out.values())


def test_truncated_episode_is_cut_to_the_budget(tiny):
    model, tok = tiny
    gen = Generator(model, tok, max_new_tokens=16)
    [r] = asyncio.run(play_episodes(gen, [EpisodeStart(_maze(10), seed=0)], max_turns=10, max_completion_length=40))
    assert r.termination == "max_length"
    assert len(r.completion_ids) == len(r.env_mask) == 40
    assert r.turns < 10


class ExplodingEnv(ToolEnv):
    """Raises from inside the env on the second step (a real bug, not a bad action)."""

    async def _reset(self, *, seed, task):
        self.n = 0
        return "Call poke."

    @tool
    def poke(self) -> str:
        """Poke."""
        return "ok"

    async def _step(self, action):
        self.n += 1
        if self.n >= 2:
            raise RuntimeError("simulator crashed")
        return await super()._step(action)


def test_env_error_yields_a_masked_zero_reward_episode(tiny):
    model, tok = tiny
    gen = Generator(model, tok, max_new_tokens=8)
    [r] = asyncio.run(play_episodes(gen, [EpisodeStart(ExplodingEnv, seed=0)], max_turns=5))
    assert r.termination == "infra_error" and "simulator crashed" in r.error
    assert r.reward == 0.0 and not r.success
    assert set(r.env_mask) == {0}


def test_shaping_on_a_channel_the_env_never_emits_warns_once():
    import warnings

    import pytest

    from agentgym.trainers.episodes import EpisodeRecord
    from agentgym.trainers.gated import GatedReward

    def record(success, channels):
        return EpisodeRecord(prompt_ids=[1], completion_ids=[2], logprobs=[0.0], env_mask=[1], nodes=[1],
                             success=success, channels=channels)

    rollout = AgentRollout("toy/maze", max_turns=1, shaping=GatedReward.two_level("no_such_channel"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing solved yet: too early to tell
        rollout._check_channels([record(False, [{"format": -1.0}])])
    with pytest.warns(UserWarning, match=r"\['no_such_channel'\].*1 solved.*channels seen: \['format', 'outcome'\]"):
        rollout._check_channels([record(True, [{"format": 0.0}, {"outcome": 1.0}]), record(False, [])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once
        rollout._check_channels([record(True, [{"format": 0.0}])])
    fine = AgentRollout("toy/maze", max_turns=1, shaping=GatedReward.two_level("progress"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine._check_channels([record(True, [{"progress": 1.0}, {"outcome": 1.0}])])


def test_evaluation_is_reproducible_and_leaves_the_training_rng_alone(tiny):
    import torch

    from agentgym.trainers.run import evaluate

    model, tok = tiny
    kw = dict(max_turns=2, temperature=1.0, max_new_tokens=8, max_completion_length=64)
    state = torch.random.get_rng_state()
    clocks = {"wall_time", "cpu_s", "episodes_per_s"}  # how long it took is no part of the result
    first = evaluate(model, tok, "toy/maze", {"size": 2}, range(6), **kw)
    assert torch.equal(torch.random.get_rng_state(), state)
    again = evaluate(model, tok, "toy/maze", {"size": 2}, range(6), **kw)
    assert again.model_dump(exclude=clocks) == first.model_dump(exclude=clocks) and first.wall_time > 0
    evaluate(model, tok, "toy/maze", {"size": 2}, range(6), sample_seed=None, **kw)
    assert not torch.equal(torch.random.get_rng_state(), state)  # unseeded, it samples from the global stream


class BatchScript:
    """A scripted generator for a batch: each episode (told apart by its first prompt) plays its own turn texts.

    Like a real generator it honours ``max_new_tokens`` (a turn longer than that is cut, without eos).
    """

    def __init__(self, tokenizer, scripts):
        self.tokenizer, self.scripts, self.max_new_tokens = tokenizer, [list(s) for s in scripts], 64
        self.owners: list[tuple[list[int], list]] = []
        self.budgets: list[int] = []

    def _script_for(self, prompt):
        for head, script in self.owners:
            if prompt[: len(head)] == head:
                return script
        script = self.scripts[len(self.owners)]
        self.owners.append((list(prompt), script))
        return script

    def generate(self, prompts, max_new_tokens=None, entropies=False):
        from agentgym.policies.hf import Generation

        budget = max_new_tokens or self.max_new_tokens
        self.budgets.append(budget)
        out = []
        for prompt in prompts:
            text, eos = self._script_for(prompt).pop(0)
            ids = self.tokenizer.encode(text, add_special_tokens=False) + ([self.tokenizer.eos_token_id] if eos else [])
            ids = ids[:budget]
            out.append(Generation(ids=ids, logprobs=[-1.0] * len(ids), text=self.tokenizer.decode(ids),
                                  entropies=[1.0] * len(ids)))
        return out


def _oracle_turns(tok, seed):
    tools = [t.to_openai() for t in agentgym.make("toy/maze").tools]
    env = agentgym.make("toy/maze", size=2).sync()
    env.reset(seed=seed)
    plan = [(_call_text(tok, tools, a.tool_calls[0].name, a.tool_calls[0].arguments), True) for a in env.oracle()]
    env.close()
    return plan


def test_an_action_cut_by_the_episode_budget_is_neither_executed_nor_rewarded(tiny):
    """Each episode's turn budget is its own remaining room; a call cut by it ends the episode unexecuted."""
    _, tok = tiny
    long_think = ("I am thinking about the maze " * 12, True)  # episode A spends its budget early
    script_a = [long_think, *_oracle_turns(tok, 7)]
    script_b = _oracle_turns(tok, 8)
    starts = [EpisodeStart(_maze(10), seed=7), EpisodeStart(_maze(10), seed=8)]
    full_a, full_b = asyncio.run(play_episodes(BatchScript(tok, [script_a, script_b]), starts, max_turns=10,
                                               max_completion_length=4096))
    assert full_a.success and full_b.success and full_a.reward > 0
    # the budget ends 5 tokens into A's winning call; B (shorter) still fits in it whole
    last_turn = max(i for i, m in enumerate(full_a.env_mask) if m == 0) + 1
    budget = last_turn + 5
    assert len(full_b.completion_ids) < budget and len(full_a.completion_ids) > budget

    a, b = asyncio.run(play_episodes(BatchScript(tok, [script_a, script_b]), starts, max_turns=10,
                                     max_completion_length=budget))
    assert b.success and b.termination == "done" and b.completion_ids == full_b.completion_ids
    assert a.termination == "max_length" and not a.success
    assert a.reward < full_a.reward  # the winning move was never sent to the env
    assert a.tool_calls == full_a.tool_calls - 1
    # the trained tokens end where generation ended: the first 5 tokens of the cut call, all model tokens
    assert a.completion_ids == full_a.completion_ids[:budget]
    assert a.env_mask[last_turn:] == [1] * 5
    assert not any(m.role == "tool" for m in a.messages[-1:])


def test_a_template_that_rewrites_history_mid_batch_is_an_episode_error_not_an_aborted_batch(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    tok.chat_template = DROP_OLD_THINK_TEMPLATE
    look = ('<tool_call>\n{"name": "look", "arguments": {}}\n</tool_call>', True)
    thinking = ("<think>\nwhere am I?\n</think>\n\n" + look[0], True)
    starts = [EpisodeStart(_maze(3), seed=1), EpisodeStart(_maze(3), seed=2)]
    a, b = asyncio.run(play_episodes(BatchScript(tok, [[thinking] * 3, [look] * 3]), starts, max_turns=3))
    assert a.termination == "infra_error" and "prefix-preserving" in a.error and set(a.env_mask) == {0}
    assert b.error is None and b.turns == 3 and b.termination == "max_turns"


def test_an_env_that_cannot_be_built_is_an_episode_error_not_an_aborted_batch(tiny):
    model, tok = tiny

    def broken():
        raise RuntimeError("sandbox died")

    gen = Generator(model, tok, max_new_tokens=8)
    a, b = asyncio.run(play_episodes(gen, [EpisodeStart(broken, seed=0), EpisodeStart(_maze(2), seed=0)], max_turns=2))
    assert a.termination == "infra_error" and "sandbox died" in a.error and set(a.env_mask) == {0}
    assert b.error is None and b.turns == 2


# drops the <think> block of every assistant turn but the last message (as Qwen3's template does to earlier turns)
DROP_OLD_THINK_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- set content = message.content or '' -%}"
    "{%- if message.role == 'assistant' and not loop.last and '</think>' in content -%}"
    "{%- set content = content.split('</think>')[-1].lstrip() -%}{%- endif -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + content -}}"
    "{%- for call in message.tool_calls or [] -%}"
    "{{- '<tool_call>\\n{\"name\": \"' + call.function.name + '\", \"arguments\": ' + call.function.arguments"
    " + '}\\n</tool_call>' -}}{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
