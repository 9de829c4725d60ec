"""Trajectories → a Hugging Face ``datasets.Dataset`` for supervised fine-tuning (TRL ``SFTTrainer``).

Each row is one episode::

    messages  list of OpenAI-format messages: role, content, tool_calls [{id, type: "function",
              function: {name, arguments}}] with ``arguments`` a JSON string (as on the wire),
              tool_call_id, name
    tools     the env's tools: a list of OpenAI function schemas ({"type": "function",
              "function": {name, description, parameters}}), each exactly as the model saw it
    env_id, task_id, seed, reward, success, turns, termination

``tools`` is stored with ``datasets.Json`` (each schema as its own JSON value: Arrow would
otherwise merge the differently shaped parameter schemas of several envs into one struct,
``null`` for every missing field) and reads back as a list of dicts, ready for
``tokenizer.apply_chat_template(row["messages"], tools=row["tools"])`` and TRL's
``SFTTrainer``. (On ``datasets`` < 4 without ``Json`` it is a JSON string; ``json.loads`` it.)
The agentgym tiny-model template renders string ``arguments`` verbatim (HF templates that
expect a mapping need ``json.loads`` first)::

    ds = trajectories_to_dataset("runs/maze-oracle/trajectories.jsonl", only_success=True)
    text = tokenizer.apply_chat_template(ds[0]["messages"], tools=ds[0]["tools"], tokenize=False)
    trainer = SFTTrainer(model=path, train_dataset=ds,
                         args=SFTConfig(assistant_only_loss=True, ...))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .engine import latest_per_episode
from .errors import ConfigError, MissingDependencyError
from .types import Message, Trajectory

TRAJECTORIES_FILE = "trajectories.jsonl"


def _json_feature():
    """``List(Json())`` where ``datasets`` has ``Json`` (a list of dicts on read), else a string column."""
    import datasets

    json_type = getattr(datasets, "Json", None)
    return [json_type()] if json_type is not None else datasets.Value("string")


def _features():
    from datasets import Features, Value

    call = {"id": Value("string"), "type": Value("string"),
            "function": {"name": Value("string"), "arguments": Value("string")}}
    message = {"role": Value("string"), "content": Value("string"), "tool_calls": [call],
               "tool_call_id": Value("string"), "name": Value("string")}
    return Features({
        "messages": [message], "tools": _json_feature(), "env_id": Value("string"), "task_id": Value("string"),
        "seed": Value("int64"), "reward": Value("float64"), "success": Value("bool"), "turns": Value("int64"),
        "termination": Value("string"),
    })


def message_to_row(m: Message) -> dict[str, Any]:
    """One message in the dataset's (OpenAI wire) shape; token bookkeeping is dropped."""
    calls = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
             for c in m.tool_calls or []]
    return {"role": m.role, "content": m.content, "tool_calls": calls or None, "tool_call_id": m.tool_call_id,
            "name": m.name}


def trajectory_to_row(t: Trajectory) -> dict[str, Any]:
    """One episode as a dataset row (see the module docstring for the columns)."""
    return {
        "messages": [message_to_row(m) for m in t.messages],
        "tools": [spec.to_openai() for spec in t.tools],
        "env_id": t.env_id, "task_id": t.task_id, "seed": t.seed, "reward": float(t.reward),
        "success": bool(t.success), "turns": t.turns, "termination": t.termination,
    }


def _read(source: str | Path | Iterable[Trajectory | dict[str, Any]]) -> list[Trajectory]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            path = path / TRAJECTORIES_FILE
        if not path.exists():
            raise ConfigError(f"{path} does not exist; pass a trajectories.jsonl file or a run directory "
                              "written by `agentgym eval --out DIR` / agentgym.run(out=DIR)")
        out = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(Trajectory.model_validate_json(line))
            except ValueError as e:
                raise ConfigError(f"{path}:{n} is not a trajectory record: {str(e)[:200]}") from e
        return latest_per_episode(out)  # a resumed run's redone episodes supersede their failed attempts
    return [t if isinstance(t, Trajectory) else Trajectory.model_validate(t) for t in source]


def trajectories_to_dataset(
    source: str | Path | Iterable[Trajectory | dict[str, Any]],
    *,
    only_success: bool = False,
):
    """Builds a ``datasets.Dataset`` with ``messages`` and ``tools`` columns from episodes.

    Args:
        source: a ``trajectories.jsonl`` path, a run directory holding one, or Trajectory
            objects (or their dicts).
        only_success: keep only solved episodes (rejection sampling / expert iteration).

    Example::

        ds = trajectories_to_dataset("runs/maze-oracle", only_success=True)
        ds[0]["messages"][1]["role"] == "user"
    """
    try:
        import datasets
    except ImportError as e:
        raise MissingDependencyError("datasets", "datasets", "building training datasets") from e
    trajectories = _read(source)
    kept = [t for t in trajectories if t.messages and (t.success or not only_success)]
    if not kept:
        why = f"{len(trajectories)} episodes read"
        if only_success:
            why += f", {sum(t.success for t in trajectories)} successful"
        raise ConfigError(f"no episodes to build a dataset from ({why}); "
                          + ("drop only_success=True or collect more episodes" if only_success and trajectories
                             else "run some episodes first (agentgym eval ... --out DIR)"))
    rows = [trajectory_to_row(t) for t in kept]
    if getattr(datasets, "Json", None) is None:
        for row in rows:
            row["tools"] = json.dumps(row["tools"])
    return datasets.Dataset.from_list(rows, features=_features())


__all__ = ["trajectories_to_dataset", "trajectory_to_row", "message_to_row"]
