"""The CPU demo: tiny model → SFT on imperfect expert trajectories → GRPO with gated rewards → held-out eval.

    python -m agentgym.trainers.demo --out runs/demo          # `make demo`; a few minutes on 2 CPU cores

Steps: build (or reuse) a cached tiny Qwen2 model; collect expert conversations of
``demo/lamps`` where half the demonstrations skip reading the note and press the right lamp
by luck (so the SFT policy learns to guess half the time); SFT with assistant-only loss;
evaluate on held-out seeds; train with multi-turn GRPO (gated reward: the note-reading step
reward counts only when the right lamp is pressed); evaluate again with the same sampling.
Writes ``report.md``, ``summary.json``, ``metrics.jsonl`` and ``learning_curve.png``.
Every number in the report is measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any


def _table(summary: dict[str, Any]) -> str:
    rows = ["| stage | held-out success | 95% CI | mean turns | tool calls/episode |", "|---|---|---|---|---|"]
    for stage in ("base", "sft", "grpo"):
        r = summary.get(stage)
        if r:
            lo, hi = r["success_ci95"]
            rows.append(f"| {stage} | {r['success_rate']:.1%} ({r['episodes']} episodes) | [{lo:.2f}, {hi:.2f}] | "
                        f"{r['mean_turns']:.2f} | {r['mean_tool_calls']:.2f} |")
    return "\n".join(rows)


def run_demo(out: Path, *, sft_episodes: int = 256, sft_epochs: float = 2.0, grpo_steps: int = 30,
             eval_episodes: int = 128, hidden_size: int = 64, layers: int = 2, quiet: bool = False) -> dict[str, Any]:
    """Runs the whole demo into ``out``; returns the summary."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agentgym.models.tiny import cached_tiny

    from .config import load_config
    from .demo_env import register_envs
    from .run import evaluate, plot_learning_curve, train
    from .sft import expert_conversations, sft

    register_envs()
    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    env_id, env_kwargs, max_turns = "demo/lamps", {}, 3
    eval_seeds = range(1_000_000, 1_000_000 + eval_episodes)
    eval_kw = dict(max_turns=max_turns, temperature=1.0, max_new_tokens=32, max_completion_length=192)

    path = cached_tiny(hidden_size=hidden_size, layers=layers, vocab_size=1024)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    timings["model_s"] = time.perf_counter() - t0
    summary: dict[str, Any] = {"env": env_id, "model": str(path),
                               "parameters": sum(p.numel() for p in model.parameters())}
    summary["base"] = evaluate(model, tok, env_id, env_kwargs, eval_seeds, **eval_kw)

    t = time.perf_counter()
    rows = asyncio.run(expert_conversations(env_id, range(sft_episodes), skip_prob=0.5))
    summary["sft_data"] = {"episodes": len(rows),
                           "skipped_note": sum(1 for r in rows if not any(
                               c["function"]["name"] == "read_note" for m in r["messages"] for c in m.get("tool_calls") or []))}
    model = sft(model, tok, rows, out_dir=str(out / "sft"), epochs=sft_epochs, learning_rate=5e-3, batch_size=8,
                progress=not quiet)
    model.save_pretrained(out / "sft" / "model")
    tok.save_pretrained(out / "sft" / "model")
    timings["sft_s"] = time.perf_counter() - t
    summary["sft"] = evaluate(model, tok, env_id, env_kwargs, eval_seeds, **eval_kw)

    t = time.perf_counter()
    config = load_config({
        "algo": "grpo", "output_dir": str(out / "grpo"), "model": {"path": str(out / "sft" / "model")},
        "env": {"id": env_id, "kwargs": env_kwargs, "max_turns": max_turns},
        "tasks": {"train_seeds": [0, 100_000], "eval_seeds": [eval_seeds.start, eval_seeds.stop]},
        "rollout": {"max_new_tokens": 32, "max_completion_length": 192},
        "reward": {"shaping": "gated", "step_channel": "progress", "step_weight": 0.1, "threshold": 1.0},
        "eval": {"before": False, "after": False},
        "trl": {"num_generations": 8, "per_device_train_batch_size": 32, "max_steps": grpo_steps,
                "learning_rate": 2e-3, "lr_scheduler_type": "constant", "beta": 0.0, "loss_type": "dapo",
                "epsilon": 0.2, "epsilon_high": 0.28, "temperature": 1.0, "max_completion_length": 192,
                "save_strategy": "no", "logging_steps": 1},
    })
    metrics = out / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    train(config, model=model, tokenizer=tok, progress=not quiet)
    (out / "grpo" / "metrics.jsonl").replace(metrics)
    timings["grpo_s"] = time.perf_counter() - t
    summary["grpo"] = evaluate(model, tok, env_id, env_kwargs, eval_seeds, **eval_kw)
    plot_learning_curve(metrics, out / "learning_curve.png", keys=("agentgym/success", "reward"),
                        title="GRPO (gated rewards) on demo/lamps: training success")
    timings["total_s"] = time.perf_counter() - t0
    summary["timings"] = timings
    summary["gain"] = summary["grpo"]["success_rate"] - summary["sft"]["success_rate"]
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(_report(summary))
    return summary


def _report(s: dict[str, Any]) -> str:
    t = s["timings"]
    return f"""# agentgym CPU demo — {s['env']}

Tiny Qwen2 model ({s['parameters']:,} parameters, built locally), SFT on {s['sft_data']['episodes']} expert
conversations ({s['sft_data']['skipped_note']} of them skip reading the note and press the right lamp by luck),
then multi-turn GRPO with gated rewards. Held-out seeds, same sampling (temperature 1.0) at every stage.

{_table(s)}

GRPO gain over SFT: **{s['gain']:+.1%}** held-out success.

Learning curve: `learning_curve.png` (training success per step); per-step metrics: `metrics.jsonl`.
Time: model {t['model_s']:.0f} s, SFT {t['sft_s']:.0f} s, GRPO {t['grpo_s']:.0f} s, total {t['total_s']:.0f} s.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentgym.trainers.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="run directory (default: runs/demo)")
    parser.add_argument("--grpo-steps", type=int, default=30)
    parser.add_argument("--sft-episodes", type=int, default=256)
    parser.add_argument("--eval-episodes", type=int, default=128)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    s = run_demo(Path(args.out), sft_episodes=args.sft_episodes, grpo_steps=args.grpo_steps,
                 eval_episodes=args.eval_episodes, quiet=args.quiet)
    print()
    print(_table(s))
    print(f"\nreport: {Path(args.out) / 'report.md'}  (total {s['timings']['total_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
