"""Run directories → the data the report page shows (plain JSON, built once per report).

    run = load_run("runs/maze-gpt")          # eval, train or demo run directory
    run.groups[0]["success_rate"], len(run.episodes["episode"]), run.metrics.keys()

Trajectories are read through :func:`agentgym.engine.load_trajectories` and then handled as
plain dicts, so records of older and newer schema versions both show (unknown fields are kept,
missing ones default). The episode *index* (one short row per episode, column-wise) is what the
page filters and pages through; the full trajectories travel separately, compressed in chunks
that the page opens only when a trajectory is viewed (see :mod:`agentgym.report.render`).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..summary import ERROR_TERMINATIONS, first_line, wilson_interval
from .diagnose import training_notes

INDEX_COLUMNS = ("episode", "env", "task", "seed", "model", "success", "reward", "turns", "termination",
                 "tokens", "tool_calls", "error")


@dataclass
class RunData:
    """One run directory as the report sees it."""

    name: str
    path: str
    kind: str                                        # eval | train | demo
    groups: list[dict[str, Any]] = field(default_factory=list)     # one per (env, model)
    episodes: dict[str, list[Any]] = field(default_factory=dict)   # index columns (INDEX_COLUMNS)
    trajectories: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, list[Any]] = field(default_factory=dict)    # metrics.jsonl, column-wise ("step" first)
    summary: dict[str, Any] = field(default_factory=dict)          # summary.json as written
    notes: list[dict[str, str]] = field(default_factory=list)      # diagnostics: {level, title, text}
    files: list[str] = field(default_factory=list)

    def page_data(self) -> dict[str, Any]:
        """Everything but the full trajectories (those are chunked by the renderer)."""
        return finite({"name": self.name, "path": self.path, "kind": self.kind, "groups": self.groups,
                       "episodes": self.episodes, "metrics": self.metrics, "summary": self.summary,
                       "notes": self.notes, "files": self.files})


def load_run(path: str | Path, name: str | None = None) -> RunData:
    """Reads a run directory (``trajectories.jsonl``, ``summary.json``, ``metrics.jsonl``, ...).

    A directory holding none of them is a :class:`ConfigError` naming what a run directory holds.
    """
    from ..engine import load_trajectories

    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"run directory {str(path)!r} does not exist (pass a directory written by "
                          "`agentgym eval --out DIR`, `agentgym train` or the demo)")
    traj_path = root / "trajectories.jsonl"
    metrics_path = _first_existing(root, ("metrics.jsonl", "grpo/metrics.jsonl"))
    summary = _read_json(root / "summary.json")
    if not traj_path.exists() and metrics_path is None and not summary:
        raise ConfigError(f"{root} holds no trajectories.jsonl, metrics.jsonl or summary.json: not a run directory")
    records = [_as_dict(t) for t in load_trajectories(traj_path)] if traj_path.exists() else []
    for i, r in enumerate(records):
        if r.get("episode") is None:
            r["episode"] = i
    metrics = read_metrics(metrics_path) if metrics_path else {}
    kind = "demo" if "grpo" in summary and "sft" in summary else "train" if metrics or "algo" in summary else "eval"
    run = RunData(name=name or root.resolve().name, path=str(root), kind=kind, summary=summary,
                  groups=summarize_groups(records), episodes=episode_index(records), trajectories=records,
                  metrics=metrics, files=sorted(p.name for p in root.iterdir() if not p.name.startswith(".")))
    run.notes = training_notes(metrics, summary)
    return run


def _first_existing(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).exists()), None)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return finite(data) if isinstance(data, dict) else {}


def _as_dict(traj: Any) -> dict[str, Any]:
    """Plain data of a trajectory (NaN/inf stay: the renderer replaces them only in chunks that have them)."""
    return traj.model_dump(mode="json") if hasattr(traj, "model_dump") else dict(traj)


def finite(value: Any) -> Any:
    """NaN/inf become None: the page's JSON must parse in a browser."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def read_metrics(path: Path) -> dict[str, list[Any]]:
    """``metrics.jsonl`` column-wise: ``{"step": [...], "reward": [...], ...}`` (None where a row lacks a key)."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    keys = ["step"] + sorted({k for r in rows for k, v in r.items()
                              if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)})
    return {k: [finite(r.get(k)) if isinstance(r.get(k), (int, float)) else None for r in rows] for k in keys}


def tool_calls(record: dict[str, Any]) -> int:
    return sum(len(m.get("tool_calls") or []) for m in record.get("messages") or [] if m.get("role") == "assistant")


def tokens(record: dict[str, Any]) -> int:
    usage = record.get("usage") or {}
    n = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
    if n:
        return n
    turns = record.get("tokens") if isinstance(record.get("tokens"), list) else [  # local models: schema 2, else 1
        m.get("tokens") for m in record.get("messages") or [] if isinstance(m.get("tokens"), dict)]
    return sum(len((t or {}).get("completion_ids") or []) for t in turns)


def episode_index(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """One short row per episode, column-wise (compact JSON for 10,000+ episodes)."""
    cols: dict[str, list[Any]] = {c: [] for c in INDEX_COLUMNS}
    for r in records:
        cols["episode"].append(r.get("episode"))
        cols["env"].append(r.get("env_id") or r.get("env") or "")
        cols["task"].append(r.get("task_id") if r.get("task_id") is not None else "")
        cols["seed"].append(r.get("seed"))
        cols["model"].append(r.get("model") or "")
        cols["success"].append(bool(r.get("success")))
        reward = r.get("reward")
        cols["reward"].append(round(reward, 4) if isinstance(reward, (int, float)) else None)
        cols["turns"].append(int(r.get("turns") or 0))
        cols["termination"].append(str(r.get("termination") or "done"))
        cols["tokens"].append(tokens(r))
        cols["tool_calls"].append(tool_calls(r))
        cols["error"].append(first_line(r["error"], 160) if r.get("error") else "")
    return cols


def histogram(values: list[float], bins: int = 12) -> dict[str, Any]:
    """Equal-width bins over the values' range: ``{"edges": [...], "counts": [...]}``."""
    values = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not values:
        return {"edges": [], "counts": []}
    lo, hi = min(values), max(values)
    if lo == hi:
        return {"edges": [lo, hi + 1], "counts": [len(values)]}
    if all(float(v).is_integer() for v in values) and hi - lo < bins:
        bins = int(hi - lo) + 1
        width = 1.0
    else:
        width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return {"edges": [lo + i * width for i in range(bins + 1)], "counts": counts}


def summarize_groups(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (env, model): success with its Wilson 95% CI, rewards, channel means, distributions, errors."""
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by[(r.get("env_id") or r.get("env") or "", r.get("model") or "")].append(r)
    out = []
    for (env, model), rs in sorted(by.items()):
        n = len(rs)
        wins = sum(bool(r.get("success")) for r in rs)
        lo, hi = wilson_interval(wins, n)
        channels: dict[str, float] = defaultdict(float)
        for r in rs:
            for step in r.get("channels") or []:
                for k, v in (step or {}).items():
                    if isinstance(v, (int, float)) and math.isfinite(v):
                        channels[k] += v
        errors: dict[str, dict[str, Any]] = {}
        for r in rs:
            term = str(r.get("termination") or "done")
            if r.get("error") or term in ERROR_TERMINATIONS or term == "timeout":
                e = errors.setdefault(term, {"count": 0, "first_error": "", "episodes": []})
                e["count"] += 1
                e["first_error"] = e["first_error"] or first_line(r.get("error"), 300)
                if len(e["episodes"]) < 20:
                    e["episodes"].append(r.get("episode"))
        rewards = [r.get("reward") for r in rs if isinstance(r.get("reward"), (int, float))]
        out.append({
            "env": env, "model": model, "episodes": n, "successes": wins, "success_rate": wins / n if n else 0.0,
            "success_ci95": [lo, hi], "mean_reward": sum(rewards) / len(rewards) if rewards else None,
            "mean_turns": sum(int(r.get("turns") or 0) for r in rs) / n if n else 0.0,
            "channels": {k: v / n for k, v in sorted(channels.items())},
            "terminations": dict(Counter(str(r.get("termination") or "done") for r in rs).most_common()),
            "errors": errors,
            "turns_hist": histogram([int(r.get("turns") or 0) for r in rs]),
            "tokens_hist": histogram([tokens(r) for r in rs]),
            "tool_calls_hist": histogram([tool_calls(r) for r in rs]),
            "reward_hist": histogram(rewards),
        })
    return out
