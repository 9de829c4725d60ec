"""SFT warm start: expert trajectories → ``datasets`` → TRL ``SFTTrainer``, loss on assistant tokens only.

    rows = await expert_conversations("toy/maze", seeds=range(500), env_kwargs={"size": 2})
    sft(model, tokenizer, rows, out_dir="runs/demo/sft", epochs=2)

Expert actions come from ``env.oracle()`` (or any policy through the rollout engine). The
conversations are replayed through the env, so tool results are the env's real replies.
``detour_prob`` inserts an extra call of ``detour_tool`` before a step (a detour that wastes a
turn); ``skip_prob`` drops non-final expert steps (lucky shortcuts). Both make *imperfect*
demonstrations — RL then has something to improve.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Sequence

from agentgym.registry import make
from agentgym.types import Message, ToolCall


async def expert_conversation(env: Any, seed: int, *, detour_tool: str | None = None, detour_prob: float = 0.0,
                              skip_prob: float = 0.0, rng: random.Random | None = None) -> dict[str, Any] | None:
    """One solved episode as ``{"messages": [...], "tools": [...]}`` (None when the env has no oracle)."""
    rng = rng or random.Random(seed)
    first = await env.reset(seed=seed)
    plan = await env.oracle()
    if plan is None:
        return None
    if skip_prob:  # shortcut demonstrations: drop non-final expert steps (kept only if they still solve it)
        plan = [a for a in plan[:-1] if rng.random() >= skip_prob] + plan[-1:]
    messages = list(first.messages)
    solved = False
    for action in plan:
        if detour_tool and rng.random() < detour_prob:
            detour = Message.assistant(tool_calls=[ToolCall(name=detour_tool, arguments="{}")])
            res = await env.step(detour)
            messages += [detour, *res.messages]
            if res.done or res.truncated:
                break
        res = await env.step(action)
        messages += [action, *res.messages]
        if res.done or res.truncated:
            solved = bool(res.success)
            break
    if not solved:
        return None
    return {"messages": [m.to_openai() for m in messages], "tools": [t.to_openai() for t in env.tools]}


async def expert_conversations(env_id: str, seeds: Sequence[int], *, env_kwargs: dict[str, Any] | None = None,
                               max_turns: int | None = None, detour_tool: str | None = None,
                               detour_prob: float = 0.0, skip_prob: float = 0.0) -> list[dict[str, Any]]:
    """Solved expert episodes for ``seeds`` (episodes the expert fails within ``max_turns`` are dropped)."""
    rows = []
    rng = random.Random(0)
    for seed in seeds:
        env = make(env_id, **({"max_turns": max_turns} if max_turns else {}), **(env_kwargs or {}))
        try:
            row = await expert_conversation(env, seed, detour_tool=detour_tool, detour_prob=detour_prob,
                                            skip_prob=skip_prob, rng=rng)
        finally:
            await env.close()
        if row is not None:
            rows.append(row)
    return rows


def _json_arguments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Arrow needs one type per column: tool-call arguments stay JSON strings, tools become JSON text."""
    out = []
    for row in rows:
        out.append({"messages": json.dumps(row["messages"]), "tools": json.dumps(row["tools"])})
    return out


def sft_dataset(tokenizer: Any, rows: list[dict[str, Any]], *, max_length: int = 1024) -> Any:
    """``rows`` tokenized with the template's ``{% generation %}`` mask: ``input_ids`` + ``completion_mask``.

    TRL turns ``completion_mask`` into labels (-100 off the assistant turns) when ``completion_only_loss=True``.
    """
    from datasets import Dataset

    if not rows:
        raise ValueError("no expert conversations to train on")
    # tokenize ourselves with the template's {% generation %} mask: robust to arrow's schema for nested tool args
    input_ids, masks = [], []
    for row in rows:
        enc = tokenizer.apply_chat_template(row["messages"], tools=row["tools"], tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids, mask = list(enc["input_ids"]), list(enc["assistant_masks"])
        if not any(mask):
            raise ValueError("the chat template marks no assistant tokens: it needs {% generation %} blocks for "
                             "assistant-only loss (see agentgym/models/chat_template.jinja)")
        input_ids.append(ids[:max_length])
        masks.append(mask[:max_length])
    return Dataset.from_dict({"input_ids": input_ids, "completion_mask": masks})


def sft_trainer(model: Any, tokenizer: Any, rows: list[dict[str, Any]], *, out_dir: str, epochs: float = 1.0,
                learning_rate: float = 1e-3, batch_size: int = 16, max_length: int = 1024, seed: int = 0,
                progress: bool = True) -> Any:
    """The TRL ``SFTTrainer`` of :func:`sft`, not yet trained (on the GPU when there is one)."""
    import torch
    from trl import SFTConfig, SFTTrainer

    data = sft_dataset(tokenizer, rows, max_length=max_length)
    args = SFTConfig(
        output_dir=out_dir, num_train_epochs=epochs, learning_rate=learning_rate, per_device_train_batch_size=batch_size,
        use_cpu=not torch.cuda.is_available(), bf16=False, fp16=False, report_to="none", logging_steps=10,
        save_strategy="no", seed=seed, max_length=max_length, lr_scheduler_type="cosine", warmup_steps=5,
        disable_tqdm=not progress, completion_only_loss=True,
    )
    return SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)


def sft(model: Any, tokenizer: Any, rows: list[dict[str, Any]], *, out_dir: str, epochs: float = 1.0,
        learning_rate: float = 1e-3, batch_size: int = 16, max_length: int = 1024, seed: int = 0,
        progress: bool = True, log_file: str | Path | None = None) -> Any:
    """Fine-tunes ``model`` on ``rows`` with assistant-only loss; returns the trained model.

    With ``log_file`` the terminal shows one ``SFT`` bar and TRL's per-step dicts go to that file."""
    trainer = sft_trainer(model, tokenizer, rows, out_dir=out_dir, epochs=epochs, learning_rate=learning_rate,
                          batch_size=batch_size, max_length=max_length, seed=seed, progress=progress)
    if log_file is not None:
        from agentgym.progress import use_train_progress

        use_train_progress(trainer, log_file, stage="SFT", enabled=progress)
    trainer.train()
    return trainer.model


__all__ = ["expert_conversation", "expert_conversations", "sft", "sft_dataset", "sft_trainer"]
