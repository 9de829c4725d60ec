"""SFT warm start: the batches TRL trains on carry loss on the assistant turns only, on the detected hardware."""

import asyncio
import types

from agentgym.trainers.sft import expert_conversations, sft_trainer


def _rows():
    rows = asyncio.run(expert_conversations("toy/maze", range(3), env_kwargs={"size": 2}, detour_tool="look",
                                            detour_prob=0.5))
    # an assistant turn with text before its tool call, and one with text only
    rows.append({"messages": [
        {"role": "system", "content": "Reach the exit."},
        {"role": "user", "content": "Where now?"},
        {"role": "assistant", "content": "Going south.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "move", "arguments": '{"direction": "south"}'}}]},
        {"role": "tool", "content": "You moved south.", "tool_call_id": "c1", "name": "move"},
        {"role": "user", "content": "And now?"},
        {"role": "assistant", "content": "I am done."},
    ], "tools": rows[0]["tools"]})
    return rows


def _assistant_turns(tok, row):
    """What the template renders for each assistant message after its `<|im_start|>assistant\\n` header."""
    turns = []
    for i, m in enumerate(row["messages"]):
        if m["role"] == "assistant":
            before = tok.apply_chat_template(row["messages"][:i], tools=row["tools"], tokenize=False,
                                             add_generation_prompt=True)
            upto = tok.apply_chat_template(row["messages"][:i + 1], tools=row["tools"], tokenize=False)
            assert upto.startswith(before) and upto.endswith("<|im_end|>\n")
            turns.append(upto[len(before):-1])  # the assistant's text, calls and <|im_end|>; not the newline after
    return turns


def test_batches_fed_to_trl_keep_exactly_the_assistant_turns(tiny_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    rows = _rows()
    assert any(m["content"] == "Going south." for m in rows[-1]["messages"])
    trainer = sft_trainer(model, tok, rows, out_dir=str(tmp_path / "sft"), batch_size=len(rows), progress=False)
    batches = list(trainer.get_train_dataloader())
    assert len(batches) == 1
    [batch] = batches
    ids, labels, attention = batch["input_ids"], batch["labels"], batch["attention_mask"]
    assert ids.shape == labels.shape and ids.shape[0] == len(rows)
    seen = set()
    for i in range(len(rows)):
        row_ids, row_labels = ids[i].tolist(), labels[i].tolist()
        n = int(attention[i].sum())
        assert all(lb == -100 for lb in row_labels[n:])  # padding never counts
        kept = [j for j, lb in enumerate(row_labels) if lb != -100]
        assert all(row_labels[j] == row_ids[j] for j in kept)
        # contiguous runs of kept tokens, decoded, are exactly the assistant turns (in order)
        runs, prev = [], None
        for j in kept:
            if prev is None or j != prev + 1:
                runs.append([])
            runs[-1].append(row_ids[j])
            prev = j
        decoded = [tok.decode(r, skip_special_tokens=False) for r in runs]
        # the batch may be shuffled: find the row this sequence came from by its full text
        text = tok.decode(row_ids[:n], skip_special_tokens=False)
        [src] = [k for k, r in enumerate(rows)
                 if tok.apply_chat_template(r["messages"], tools=r["tools"], tokenize=False) == text]
        seen.add(src)
        assert decoded == _assistant_turns(tok, rows[src])
        # and everything dropped is the rest of the conversation: system/tools, user, tool results, headers
        dropped = tok.decode([t for j, t in enumerate(row_ids[:n]) if row_labels[j] == -100], skip_special_tokens=False)
        assert "<tool_response>" in dropped or "And now?" in dropped
        assert '<tool_call>\n{"name": "' not in dropped and "<|im_start|>system" in dropped
    assert seen == set(range(len(rows)))


def test_sft_runs_on_cpu_only_when_there_is_no_cuda(tiny_dir, tmp_path, monkeypatch):
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    rows = _rows()[:1]
    trainer = sft_trainer(model, tok, rows, out_dir=str(tmp_path / "real"), progress=False)
    assert trainer.args.use_cpu is (not torch.cuda.is_available())
    if not torch.cuda.is_available():  # this machine: exactly the old CPU settings
        assert str(trainer.args.device) == "cpu" and not trainer.args.bf16 and not trainer.args.fp16

    built = []  # with CUDA (faked: SFTConfig would try to use the device), the trainer must not be forced to CPU

    class Recorder:  # stands in for SFTTrainer: only the arguments matter here
        def __init__(self, *, args, **kwargs):
            built.append(args)

    monkeypatch.setattr(trl, "SFTConfig", lambda **kwargs: types.SimpleNamespace(**kwargs))
    monkeypatch.setattr(trl, "SFTTrainer", Recorder)
    for cuda in (True, False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        sft_trainer(model, tok, rows, out_dir=str(tmp_path / f"cuda-{cuda}"), progress=False)
    assert [a.use_cpu for a in built] == [False, True]
    assert all(a.completion_only_loss and not a.bf16 and not a.fp16 for a in built)
