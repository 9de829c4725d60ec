"""The README.md of a train (or demo) run directory: agentgym's own report, not TRL's auto model card.

    paths = finish_run("runs/maze-grpo")     # README.md + report.html in the run directory
    print(paths["readme"], paths["report"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .data import RunData, load_run
from .render import build_report

STAGES = (("base", "random init"), ("before", "before training"), ("sft", "after SFT"), ("after", "after training"),
          ("grpo", "after SFT + GRPO"))
_FILES = {"report.html": "this report as a page: curves, trajectories, comparison (open in a browser)",
          "summary.json": "every number of this page", "metrics.jsonl": "one line per logged training step",
          "config.json": "the resolved config", "model": "the trained model (save_pretrained)",
          "trajectories.jsonl": "episodes, one JSON line each", "learning_curve.png": "learning curve",
          "train.log": "TRL/transformers output, warnings", "demo.log": "TRL/transformers output, warnings",
          "report.md": "the demo's write-up", "sft": "the SFT stage", "grpo": "the GRPO stage"}


def _pct(v: Any) -> str:
    return f"{v:.1%}" if isinstance(v, (int, float)) else "-"


def stage_rows(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, evaluation) of every held-out evaluation in a run's summary, in order."""
    return [(label, summary[k]) for k, label in STAGES
            if isinstance(summary.get(k), dict) and "success_rate" in summary[k]]


def readme_text(run: RunData) -> str:
    s = run.summary
    title = f"# {s.get('algo', run.kind).upper() if s.get('algo') else 'Training run'} on {s.get('env', '?')}"
    lines = [title, "", f"Written by agentgym at the end of the run (`agentgym report {run.path}` rebuilds the page).", ""]
    model = s.get("model")
    if model:
        lines += [f"Model: `{model}`" + (f"; reward shaping: `{s['reward_shaping']}`" if s.get("reward_shaping") else ""), ""]
    rows = stage_rows(s)
    if rows:
        lines += ["| held-out evaluation | success | 95% CI (Wilson) | episodes | mean turns | tool calls/episode |",
                  "|---|---|---|---|---|---|"]
        for label, r in rows:
            lo, hi = (r.get("success_ci95") or [None, None])[:2]
            turns, calls = r.get("mean_turns"), r.get("mean_tool_calls")
            lines.append(f"| {label} | {_pct(r['success_rate'])} | {_pct(lo)}–{_pct(hi)} | {r.get('episodes', '-')} | "
                         f"{turns if not isinstance(turns, float) else f'{turns:.2f}'} | "
                         f"{calls if not isinstance(calls, float) else f'{calls:.2f}'} |")
        lines.append("")
    train = s.get("train") or {}
    steps = run.metrics.get("step") or []
    if steps or train:
        n = train.get("steps", steps[-1] if steps else 0)
        runtime = train.get("runtime_s")
        lines += [f"Training: {n} steps" + (f" in {runtime:.0f} s" if isinstance(runtime, (int, float)) else "") + ".", ""]
    if run.notes:
        lines += ["## What the run says", ""]
        lines += [f"- **{n['title']}**: {n['text']}" for n in run.notes]
        lines.append("")
    present = [f for f in run.files + ["report.html"] if f in _FILES]
    lines += ["## Files", ""] + [f"- `{f}`: {_FILES[f]}" for f in dict.fromkeys(present)]
    return "\n".join(lines) + "\n"


def finish_run(run_dir: str | Path) -> dict[str, Path]:
    """Writes ``README.md`` (replacing TRL's model card) and ``report.html`` into a finished run directory."""
    root = Path(run_dir)
    run = load_run(root)
    readme = root / "README.md"
    readme.write_text(readme_text(run), encoding="utf-8")
    report = build_report([root], root / "report.html")
    return {"readme": readme, "report": report}


def run_end_text(run_dir: str | Path) -> str:
    """The short table a finished train run prints: held-out success per stage, warnings, where the files are.

        print(run_end_text("runs/maze-grpo"))
    """
    from ..progress import end_table

    root = Path(run_dir)
    run = load_run(root)
    rows = []
    for label, r in stage_rows(run.summary):
        lo, hi = (r.get("success_ci95") or [None, None])[:2]
        rows.append((f"held-out {label}", f"{_pct(r['success_rate'])}  (95% CI {_pct(lo)}-{_pct(hi)}, "
                                          f"{r.get('episodes', '?')} episodes)"))
    steps = (run.summary.get("train") or {}).get("steps")
    if steps is not None:
        rows.append(("training steps", str(steps)))
    rows += [(f"warning: {n['title']}", n["text"]) for n in run.notes if n["level"] == "warn"]
    files = [(label, root / name) for label, name in (("report", "report.html"), ("readme", "README.md"),
                                                      ("metrics", "metrics.jsonl"), ("log", "train.log"))
             if (root / name).exists()]
    return end_table(rows, [*files, ("run directory", root)])
