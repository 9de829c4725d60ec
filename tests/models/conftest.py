"""Fixtures of the models tests: one tiny model per session, built into a tmp dir."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers", reason="needs transformers: pip install 'agentgym[hf]'")
pytest.importorskip("tokenizers", reason="needs tokenizers: pip install 'agentgym[hf]'")
pytest.importorskip("torch", reason="needs torch: pip install 'agentgym[hf]'")


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    """A default-sized tiny Qwen2 model (random weights)."""
    from agentgym.models import init_tiny

    return init_tiny(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_path)


MAZE_SIZE, MAZE_SEED = 2, 4  # a 3-move maze: short enough to memorise in a few seconds


def maze_oracle_conversation(size: int = MAZE_SIZE, seed: int = MAZE_SEED):
    """The oracle's ``toy/maze`` episode as (OpenAI messages, OpenAI tools)."""
    from agentgym.models.corpus import maze_episode

    messages, tools = maze_episode(seed, size, "oracle", max_steps=50)
    for m in messages:  # the rollout engine sends plain tool calls, no thinking aloud
        if m.role == "assistant":
            m.content = None
    return [m.to_openai() for m in messages], tools


def overfit(path, out_dir, conversations, *, steps: int = 300, lr: float = 1e-2, target_loss: float = 0.005):
    """Trains ``path`` on the assistant tokens of ``conversations`` until it reproduces them; saves to out_dir.

    Runs on one thread: on a shared 2-core machine, two threads contend and run ~5x slower.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    batches = []
    for messages, tools in conversations:
        enc = tok.apply_chat_template(messages, tools=tools, return_dict=True, return_assistant_tokens_mask=True)
        ids = torch.tensor([enc["input_ids"]])
        labels = torch.tensor([[i if m else -100 for i, m in zip(enc["input_ids"], enc["assistant_masks"])]])
        batches.append((ids, labels))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        model.train()
        for _ in range(steps):
            total = 0.0
            for ids, labels in batches:
                loss = model(input_ids=ids, labels=labels).loss
                loss.backward()
                opt.step()
                opt.zero_grad()
                total += loss.item()
            if total / len(batches) < target_loss:
                break
        else:
            raise AssertionError(f"overfit did not reach loss {target_loss} in {steps} steps "
                                 f"(last {total / len(batches):.3f})")
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def maze_model_path(tmp_path_factory):
    """A small tiny model overfit on one oracle maze episode: greedy decoding replays it, tool calls included."""
    from agentgym.models import init_tiny

    root = tmp_path_factory.mktemp("maze")
    base = init_tiny(root / "base", hidden_size=64, layers=2, heads=4, kv_heads=2, corpus_episodes=8)
    return overfit(base, root / "maze-tiny", [maze_oracle_conversation()])


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one CPU thread (their ops are too small to split; extra threads
    only contend on a busy machine). Restored after each module so other test areas are unaffected."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
