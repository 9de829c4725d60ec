"""trajectories_to_dataset: rows in OpenAI/TRL shape, filters, errors, and one real TRL SFTTrainer step."""

from __future__ import annotations

import json
import math

import pytest

import agentgym
from agentgym.datasets import trajectories_to_dataset
from agentgym.errors import ConfigError
from agentgym.policies.simple import OraclePolicy, RandomPolicy

pytestmark = pytest.mark.train
datasets = pytest.importorskip("datasets", reason="needs datasets: pip install 'agentgym[datasets]'")


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "maze-oracle"
    agentgym.run("toy/maze", OraclePolicy(), episodes=4, out=out, progress=False, env_kwargs={"size": 2})
    return out


async def test_rows_are_openai_messages_with_tools(oracle_run):
    ds = trajectories_to_dataset(oracle_run / "trajectories.jsonl")
    assert len(ds) == 4 and set(ds.column_names) >= {"messages", "tools", "env_id", "success", "reward"}
    row = ds[0]
    assert row["env_id"] == "toy/maze" and row["success"] is True
    assert [m["role"] for m in row["messages"][:3]] == ["system", "user", "assistant"]
    call = row["messages"][2]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "move"
    assert json.loads(call["function"]["arguments"])["direction"] in {"north", "south", "east", "west"}
    tool_msg = row["messages"][3]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == call["id"]
    tools = row["tools"]  # a list of OpenAI function schemas, exactly as the model saw them
    assert {t["function"]["name"] for t in tools} == {"look", "move"}
    move = next(t for t in tools if t["function"]["name"] == "move")
    assert move == agentgym.make("toy/maze").tools[1].to_openai()  # no nulls merged in by Arrow
    # a run directory works too, and Trajectory objects give the same rows
    from agentgym.engine import load_trajectories

    assert trajectories_to_dataset(oracle_run).to_list() == trajectories_to_dataset(
        load_trajectories(oracle_run / "trajectories.jsonl")).to_list()


async def test_a_redone_episode_supersedes_its_failed_attempt(oracle_run, tmp_path):
    lines = (oracle_run / "trajectories.jsonl").read_text().splitlines()
    good = agentgym.Trajectory.model_validate_json(lines[0])
    failed = good.model_copy(update={"termination": "error", "error": "boom", "success": False, "messages": good.messages[:2]})
    path = tmp_path / "trajectories.jsonl"
    path.write_text(failed.model_dump_json() + "\n" + "\n".join(lines) + "\n")  # as a resumed run leaves it
    ds = trajectories_to_dataset(path)
    assert len(ds) == 4 and all(ds["success"]) and ds[0]["termination"] == "done"


async def test_only_success_and_clear_errors(tmp_path):
    out = tmp_path / "random"
    await agentgym.arun("toy/maze", RandomPolicy(seed=0), episodes=4, out=out, progress=False, max_turns=2,
                        env_kwargs={"size": 4})
    assert len(trajectories_to_dataset(out)) == 4
    with pytest.raises(ConfigError, match=r"0 successful\); drop only_success"):
        trajectories_to_dataset(out, only_success=True)
    with pytest.raises(ConfigError, match="does not exist"):
        trajectories_to_dataset(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": 3}\n')
    with pytest.raises(ConfigError, match="bad.jsonl:1 is not a trajectory"):
        trajectories_to_dataset(bad)


async def test_tools_column_feeds_apply_chat_template(oracle_run, tiny_path):
    from transformers import AutoTokenizer

    ds = trajectories_to_dataset(oracle_run)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    row = ds[0]
    text = tok.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
    for t in row["tools"]:  # every schema is in the prompt, as the template renders it
        assert json.dumps(t["function"]["name"]) in text or t["function"]["name"] in text
    assert '"enum": ["north", "south", "east", "west"]' in text and "null" not in text


async def test_one_sft_step_with_assistant_only_loss(oracle_run, tiny_path, tmp_path):
    trl = pytest.importorskip("trl", reason="needs trl: pip install 'agentgym[train]'")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ds = trajectories_to_dataset(oracle_run, only_success=True)
    tok = AutoTokenizer.from_pretrained(tiny_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_path)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = trl.SFTConfig(output_dir=str(tmp_path / "sft"), use_cpu=True, bf16=False, report_to="none", max_steps=1,
                         per_device_train_batch_size=2, assistant_only_loss=True, learning_rate=1e-3,
                         logging_steps=1, save_strategy="no", max_length=2048, dataloader_num_workers=0)
    trainer = trl.SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    # TRL tokenized each episode exactly as the chat template does, tools included, and masked all but the replies
    row = trainer.train_dataset[0]
    messages, tools = ds[0]["messages"], ds[0]["tools"]
    expected = tok.apply_chat_template(messages, tools=tools, return_dict=True, return_assistant_tokens_mask=True)
    assert row["input_ids"] == expected["input_ids"]
    mask = [int(label != -100) for label in row["labels"]]
    assert mask == expected["assistant_masks"]
    replies = tok.decode([i for i, m in zip(row["input_ids"], mask) if m])
    n_calls = sum(1 for m in messages if m["role"] == "assistant")
    assert replies.count("<tool_call>") == n_calls and replies.count("<|im_end|>") == n_calls
    assert "<tool_response>" not in replies and "# Tools" not in replies
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss) and result.training_loss > 0
    assert any(not torch.equal(before[n], p.detach()) for n, p in model.named_parameters())
