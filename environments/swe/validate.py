"""Task validation and predictions export.

    report = await validate_tasks(tasks, runs=3, sandbox="docker")   # gold resolves every run, empty patch never
    write_predictions("runs/x", "runs/x/predictions.jsonl")          # the harness's predictions JSONL

A task is valid when its gold patch resolves in every run and the empty patch (the tests run
on the bare base checkout) never does; tests whose status changes between runs are named as flaky.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pydantic import BaseModel, Field

from .grading import Grader
from .repos import task_tree
from .rows import SWETask


class TaskValidation(BaseModel):
    instance_id: str
    valid: bool
    gold: list[str] = Field(default_factory=list)   # status of each gold run
    empty: list[str] = Field(default_factory=list)  # status of each empty-patch run
    flaky: list[str] = Field(default_factory=list)


async def validate_task(task: SWETask, grader: Grader, tree: Path, runs: int) -> TaskValidation:
    seen: dict[str, set[str]] = {}
    result = TaskValidation(instance_id=task.instance_id, valid=False)
    for patch, outcomes in ((task.patch, result.gold), ("", result.empty)):
        for _ in range(runs):
            grade = await grader.grade(task, patch, tree, run_empty=True)
            outcomes.append(grade.status)
            for test, status in grade.statuses.items():
                seen.setdefault(f"{'gold' if patch else 'empty'}:{test}", set()).add(status)
    result.flaky = sorted({k.split(":", 1)[1] for k, v in seen.items() if len(v) > 1})
    result.valid = all(s == "resolved" for s in result.gold) and not any(s == "resolved" for s in result.empty)
    return result


async def validate_tasks(tasks: list[SWETask], runs: int = 3, sandbox: str = "docker") -> list[TaskValidation]:
    """Validates every task (sequentially, one grading sandbox)."""
    from .sandbox import resolve_backend

    grader = Grader(resolve_backend(sandbox))
    try:
        out = []
        for task in tasks:
            tree = await asyncio.to_thread(task_tree, task, tasks)
            out.append(await validate_task(task, grader, tree, runs))
        return out
    finally:
        await grader.close()


def predictions(run_dir: str | Path, model: str | None = None) -> list[dict]:
    """One prediction per episode of a run directory that reached submit (its model patch), in episode order."""
    from agentgym.engine import load_trajectories

    path = Path(run_dir) / "trajectories.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; pass the run directory written by agentgym eval")
    rows = []
    for traj in sorted(load_trajectories(path), key=lambda t: t.episode or 0):
        info = next((i for i in reversed(traj.infos) if "model_patch" in i), None)
        if info is None:
            continue
        rows.append({"instance_id": info.get("instance_id") or traj.task_id,
                     "model_name_or_path": model or traj.model or "agentgym", "model_patch": info["model_patch"]})
    return rows


def write_predictions(run_dir: str | Path, out: str | Path | None = None, model: str | None = None) -> Path:
    """Writes the harness's predictions JSONL (instance_id, model_name_or_path, model_patch); returns its path."""
    target = Path(out) if out else Path(run_dir) / "predictions.jsonl"
    target.write_text("".join(json.dumps(p) + "\n" for p in predictions(run_dir, model)))
    return target
