"""HFPolicy: token-in/token-out bookkeeping over real multi-turn episodes of a real tiny model."""

import json

import pytest

import agentgym
from agentgym import rollout
from agentgym.errors import ConfigError
from agentgym.policies.hf import ChatTokens, HFPolicy, message_dicts
from agentgym.types import Message, ToolCall


def _expected_text(tok, traj) -> str:
    """The conversation up to the last model turn as the template renders it, assistant turns as the raw text."""
    msgs = []
    last = max(i for i, m in enumerate(traj.messages) if m.role == "assistant")
    turns = iter(traj.tokens)  # one TurnTokens per assistant message, in order
    for m in traj.messages[: last + 1]:
        if m.role == "assistant":
            raw = tok.decode(next(turns).completion_ids, skip_special_tokens=False)
            msgs.append({"role": "assistant", "content": raw[: -len(tok.eos_token)] if raw.endswith(tok.eos_token) else raw})
        else:
            msgs.append(m.to_openai())
    tools = [t.to_openai() for t in traj.tools]
    return tok.apply_chat_template(msgs, tools=tools, tokenize=False)


async def test_rollout_tokens_match_conversation_over_several_turns(tiny):
    model, tok = tiny
    policy = HFPolicy(model, tok, max_new_tokens=24, temperature=1.0)
    env = agentgym.make("toy/maze", size=2, max_turns=4)
    traj = await rollout(env, policy, seed=1)
    assert traj.error is None, traj.error
    assert traj.turns == 4  # an untrained model never finds the exit in time
    prompt, completion, logprobs, mask = traj.token_view()  # raises on re-tokenization drift
    assert len(completion) == len(mask) == len(logprobs)
    # mask is 1 exactly on model tokens
    assert len(traj.tokens) == traj.turns and all(m.tokens is None for m in traj.messages)  # stored once, per turn
    model_tokens = [i for t in traj.tokens for i in t.completion_ids]
    assert [c for c, k in zip(completion, mask) if k == 1] == model_tokens
    assert sum(mask) == len(model_tokens)
    # env tokens have logprob 0, model tokens real (negative) logprobs
    assert all(lp == 0.0 for lp, k in zip(logprobs, mask) if k == 0)
    assert all(lp < 0 for lp, k in zip(logprobs, mask) if k == 1)
    # decode(prompt + completion) is the rendered conversation (plus the closing of the last turn)
    text = tok.decode(prompt + completion, skip_special_tokens=False)
    expected = _expected_text(tok, traj)
    assert expected.startswith(text)
    assert expected[len(text):] in ("\n", tok.eos_token + "\n")


async def test_logprobs_are_the_models_own(tiny):
    import torch

    model, tok = tiny
    policy = HFPolicy(model, tok, max_new_tokens=8, temperature=1.0)
    traj = await rollout(agentgym.make("toy/maze", size=2, max_turns=1), policy, seed=0)
    t = traj.tokens[0]
    ids = torch.tensor([traj.prompt_ids + t.completion_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
    ref = logp[len(traj.prompt_ids) - 1:].gather(-1, torch.tensor(t.completion_ids)[:, None])[:, 0]
    assert torch.allclose(ref, torch.tensor(t.logprobs), atol=1e-4)


def test_suffix_is_only_the_new_messages_and_canonical_calls_round_trip(tiny):
    _, tok = tiny
    env = agentgym.make("toy/maze", size=2)
    conv = ChatTokens(tok, env.tools)
    first = [Message.system("sys"), Message.user("Find the exit.")]
    prompt = conv.extend(first)
    assert tok.decode(prompt) == tok.apply_chat_template(message_dicts(first), tools=[t.to_openai() for t in env.tools],
                                                         tokenize=False, add_generation_prompt=True)
    call = ToolCall(name="move", arguments=json.dumps({"direction": "north"}))
    canonical = tok.apply_chat_template(message_dicts(first + [Message.assistant(tool_calls=[call])]),
                                        tools=[t.to_openai() for t in env.tools], tokenize=False)
    generated_text = canonical[len(tok.decode(prompt)):].rstrip("\n")
    gen_ids = tok.encode(generated_text, add_special_tokens=False)
    assert gen_ids[-1] == tok.eos_token_id
    conv.add_generated(gen_ids, Message.assistant(tool_calls=[call]))
    branch = conv.copy()
    suffix = conv.extend([Message.tool("You moved north.", call.id, "move")])
    assert tok.decode(suffix) == "\n<|im_start|>user\n<tool_response>\nYou moved north.\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    assert conv.ids == prompt + gen_ids + suffix
    assert branch.ids == prompt + gen_ids  # the copy is independent: the suffix went to conv only
    assert branch.extend([Message.tool("You moved north.", call.id, "move")]) == suffix


def test_truncated_turn_is_closed_on_the_env_side(tiny):
    _, tok = tiny
    conv = ChatTokens(tok, [])
    conv.extend([Message.user("hi")])
    cut = tok.encode("hel", add_special_tokens=False)  # no eos: cut by max_new_tokens
    conv.add_generated(cut, Message.assistant("hel"))
    suffix = conv.extend([Message.user("again")])
    assert tok.decode(suffix).startswith(tok.eos_token + "\n<|im_start|>user\nagain")


def test_missing_chat_template_is_a_clear_error(tiny):
    _, tok = tiny
    bare = tok.__class__.from_pretrained(tok.name_or_path) if tok.name_or_path else tok
    bare.chat_template = None
    with pytest.raises(ConfigError, match="chat_template"):
        ChatTokens(bare, [])


def test_non_prefix_preserving_template_is_detected(tiny):
    _, tok = tiny
    tok2 = tok.__class__.from_pretrained(tok.name_or_path)
    # a template that rewrites history: it only shows the last message
    tok2.chat_template = "{{ messages[-1]['content'] }}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    conv = ChatTokens(tok2, [])
    conv.extend([Message.user("first")])
    conv.add_generated(tok2.encode("x<|im_end|>", add_special_tokens=False), Message.assistant("x"))
    with pytest.raises(ConfigError, match="prefix-preserving"):
        conv.extend([Message.user("second")])


async def test_stateless_act_records_tokens(tiny):
    model, tok = tiny
    policy = HFPolicy(model, tok, max_new_tokens=6, temperature=0)
    msg = await policy.act([Message.user("hello")], [])
    assert msg.role == "assistant" and msg.tokens is not None and 0 < len(msg.tokens.completion_ids) <= 6
