"""The CPU demo: tiny model → short SFT on imperfect expert play → GRPO with gated rewards → held-out eval.

    python -m agentgym.trainers.demo --out runs/demo          # `make demo`; a few minutes on 2 CPU cores

Steps (every number in the report is measured in this run, seeds fixed):

1. build a tiny Qwen2 model (random weights, ~0.5M parameters) whose BPE tokenizer is trained
   on maze text plus ``demo/lamps`` conversations, so colours are single tokens;
2. collect expert conversations of ``demo/lamps`` through the Env contract, where a share of the
   demonstrations skip reading the note and press the right lamp by luck (kept because they
   succeed), then a deliberately short SFT (assistant-only loss): the model learns the format,
   half the time it guesses, and copying the colour is only partly learned;
3. evaluate on held-out *tasks* (a quarter of all (row, target) tasks, by fingerprint, never
   seen in SFT or GRPO: ``trainers/tasks.py``) by sampling at the training temperature;
4. multi-turn GRPO (gated reward: the note-reading step reward counts only when the right lamp
   is pressed) on training tasks;
5. evaluate again with the same sampling; write ``report.md``, ``summary.json``,
   ``metrics.jsonl`` and ``learning_curve.png`` and print a before/after table; ``report.html``
   browses the held-out episodes after GRPO against those after SFT (``sft/trajectories.jsonl``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import Any

ENV_ID = "demo/lamps"
EVAL_SEED_START = 1_000_000      # held-out tasks are searched from here; training tasks from seeds [0, 20_000)
SFT_SEED_START = 500_000         # SFT demonstrations: seeds from here whose task is not held out
TRAIN_SEEDS = (0, 20_000)
HELD_OUT = 0.25                  # share of tasks kept out of SFT and GRPO


@dataclasses.dataclass
class DemoSettings:
    """Every knob of the demo (recorded in ``summary.json``)."""

    hidden_size: int = 64
    layers: int = 2
    vocab_size: int = 1024
    model_seed: int = 0
    lamps_tokenizer: bool = False   # True: train the BPE on lamps text too (colours become single tokens)
    sft_episodes: int = 256
    skip_prob: float = 0.5          # share of demonstrations that guess instead of reading the note
    sft_epochs: float = 8.0
    sft_lr: float = 5e-3
    sft_batch: int = 16
    temperature: float = 0.5        # sampling temperature of GRPO rollouts and of both evaluations
    max_turns: int = 3
    max_new_tokens: int = 32
    max_completion_length: int = 160
    grpo_steps: int = 100
    grpo_lr: float = 2e-4           # Adam moves every weight by ~lr a step: much more breaks a tiny model's format
    warmup_steps: int = 0
    num_generations: int = 8
    batch: int = 16                 # episodes per GRPO step (batch / num_generations tasks)
    eval_episodes: int = 128
    seed: int = 0


def wilson(successes: int, n: int) -> tuple[float, float]:
    from agentgym.summary import wilson_interval

    return wilson_interval(successes, n)


def one_sided_p(wins_a: int, n_a: int, wins_b: int, n_b: int) -> float:
    """P-value of a one-sided two-proportion z-test that rate b > rate a (pooled variance)."""
    if not n_a or not n_b:
        return 1.0
    pooled = (wins_a + wins_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 1.0
    z = (wins_b / n_b - wins_a / n_a) / se
    return 0.5 * math.erfc(z / math.sqrt(2))


def lamps_corpus(episodes: int = 32) -> list[str]:
    """``demo/lamps`` expert conversations rendered with the chat template (tokenizer training text)."""
    from agentgym.models.corpus import render_chat

    from .sft import expert_conversations

    rows = asyncio.run(expert_conversations(ENV_ID, range(900_000, 900_000 + episodes)))
    return [render_chat(r["messages"], r["tools"]) for r in rows]


def build_model(out: Path, s: DemoSettings) -> Path:
    """A fresh tiny model in ``out`` (a few seconds)."""
    from agentgym.models.tiny import init_tiny

    return init_tiny(out, hidden_size=s.hidden_size, layers=s.layers, vocab_size=s.vocab_size, seed=s.model_seed,
                     corpus=lamps_corpus() if s.lamps_tokenizer else None, overwrite=True)


def grpo_config(out: Path, model_path: Path, s: DemoSettings) -> dict[str, Any]:
    """The ``agentgym train`` config of the RL stage."""
    return {
        "algo": "grpo", "output_dir": str(out / "grpo"), "model": {"path": str(model_path)}, "seed": s.seed,
        "env": {"id": ENV_ID, "max_turns": s.max_turns},
        "tasks": {"train_seeds": list(TRAIN_SEEDS), "eval_seeds": [EVAL_SEED_START, EVAL_SEED_START + s.eval_episodes],
                  "split": "task", "held_out": HELD_OUT},
        "rollout": {"max_new_tokens": s.max_new_tokens, "max_completion_length": s.max_completion_length},
        "reward": {"shaping": "gated", "step_channel": "progress", "step_weight": 0.1, "threshold": 1.0},
        "eval": {"before": False, "after": False},
        "trl": {"num_generations": s.num_generations, "per_device_train_batch_size": s.batch,
                "max_steps": s.grpo_steps, "learning_rate": s.grpo_lr, "lr_scheduler_type": "constant_with_warmup",
                "warmup_steps": s.warmup_steps, "beta": 0.0, "loss_type": "dapo", "epsilon": 0.2,
                "epsilon_high": 0.28, "temperature": s.temperature, "max_completion_length": s.max_completion_length,
                "save_strategy": "no", "logging_steps": 1, "shuffle_dataset": True},
    }


def run_demo(out: Path, settings: DemoSettings | None = None, *, quiet: bool = False,
             verbose: bool = False) -> dict[str, Any]:
    """Runs the whole demo into ``out``; returns the summary (also written to ``summary.json``)."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    import agentgym

    from .config import load_config
    from .training import evaluate, task_split, train
    from .sft import expert_conversations, sft
    from .tasks import TaskSplit, fingerprints

    s = settings or DemoSettings()
    set_seed(s.seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    timings: dict[str, float] = {}
    split = task_split(load_config(grpo_config(out, out, s), build_trl=False))  # held out by task, not by seed
    eval_seeds = split.eval_seeds
    make_env = lambda: agentgym.make(ENV_ID, max_turns=s.max_turns)  # noqa: E731
    candidates = range(SFT_SEED_START, SFT_SEED_START + 4 * s.sft_episodes)
    rule = TaskSplit(HELD_OUT)
    sft_seeds = [x for x, fp in zip(candidates, fingerprints(make_env, candidates))
                 if not rule.is_held_out(fp)][: s.sft_episodes]
    eval_kw = dict(max_turns=s.max_turns, temperature=s.temperature, max_new_tokens=s.max_new_tokens,
                   max_completion_length=s.max_completion_length)

    def stage(name: str, start: float) -> None:
        timings[f"{name}_s"] = round(time.perf_counter() - start, 1)
        if not quiet:
            print(f"[demo] {name} done in {timings[f'{name}_s']:.0f} s", flush=True)

    t = time.perf_counter()
    path = build_model(out / "model", s)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    sft_fps = set(fingerprints(make_env, sft_seeds))
    eval_fps = set(fingerprints(make_env, eval_seeds))
    summary: dict[str, Any] = {"env": ENV_ID, "parameters": sum(p.numel() for p in model.parameters()),
                               "settings": dataclasses.asdict(s), "torch_threads": torch.get_num_threads(),
                               "tasks": {**split.summary(), "held_out_share": HELD_OUT, "sft_tasks": len(sft_fps),
                                         "eval_tasks_in_sft": len(sft_fps & eval_fps)}}
    summary["base"] = evaluate(model, tok, ENV_ID, {}, eval_seeds, **eval_kw,
                               stage=None if quiet else "eval base").model_dump(mode="json")
    stage("model", t)

    t = time.perf_counter()
    rows = asyncio.run(expert_conversations(ENV_ID, sft_seeds, skip_prob=s.skip_prob))
    summary["sft_data"] = {"episodes": len(rows), "skipped_note": sum(1 for r in rows if not any(
        c["function"]["name"] == "read_note" for m in r["messages"] for c in m.get("tool_calls") or []))}
    model = sft(model, tok, rows, out_dir=str(out / "sft"), epochs=s.sft_epochs, learning_rate=s.sft_lr,
                batch_size=s.sft_batch, seed=s.seed, progress=not quiet,
                log_file=None if verbose else out / "demo.log")
    model.save_pretrained(out / "sft" / "model")
    tok.save_pretrained(out / "sft" / "model")
    summary["sft"] = evaluate(model, tok, ENV_ID, {}, eval_seeds, **eval_kw,
                              trajectories=out / "sft" / "trajectories.jsonl",
                              stage=None if quiet else "eval after SFT").model_dump(mode="json")
    stage("sft", t)
    if not quiet:
        print(f"[demo] after SFT: held-out success {summary['sft']['success_rate']:.1%}", flush=True)

    t = time.perf_counter()
    set_seed(s.seed)
    config = load_config(grpo_config(out, out / "sft" / "model", s))
    (out / "grpo").mkdir(parents=True, exist_ok=True)
    (out / "grpo" / "metrics.jsonl").unlink(missing_ok=True)
    train(config, model=model, tokenizer=tok, progress=not quiet, verbose=verbose)
    metrics = out / "metrics.jsonl"
    (out / "grpo" / "metrics.jsonl").replace(metrics)
    summary["grpo"] = evaluate(model, tok, ENV_ID, {}, eval_seeds, **eval_kw,
                               trajectories=out / "trajectories.jsonl",
                               stage=None if quiet else "eval after GRPO").model_dump(mode="json")
    stage("grpo", t)

    sft_r, rl_r = summary["sft"], summary["grpo"]
    sft_wins, rl_wins = round(sft_r["success_rate"] * sft_r["episodes"]), round(rl_r["success_rate"] * rl_r["episodes"])
    summary["gain"] = rl_r["success_rate"] - sft_r["success_rate"]
    summary["gain_p_value"] = one_sided_p(sft_wins, sft_r["episodes"], rl_wins, rl_r["episodes"])
    summary["training"] = training_stats(metrics)
    timings["total_s"] = round(time.perf_counter() - t0, 1)
    timings["cpu_s"] = round(time.process_time() - cpu0, 1)
    summary["timings"] = timings
    plot(metrics, summary, out / "learning_curve.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report(summary))
    from agentgym.report import build_report, finish_run

    finish_run(out)  # README.md and report.html (summary, curves, notes)
    build_report([out, out / "sft"], out / "report.html", title="agentgym demo: after GRPO (demo) vs after SFT (sft)")
    return summary


def training_stats(metrics: Path) -> dict[str, Any]:
    """Training success of the first and last quarter of GRPO steps (from ``metrics.jsonl``)."""
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.exists() else []
    rows = [r for r in rows if "agentgym/success" in r]
    if not rows:
        return {"steps": 0}
    q = max(1, len(rows) // 4)
    mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)  # noqa: E731
    return {"steps": len(rows), "success_first_quarter": mean(rows[:q], "agentgym/success"),
            "success_last_quarter": mean(rows[-q:], "agentgym/success"),
            "zero_std_groups": mean(rows, "frac_reward_zero_std") if "frac_reward_zero_std" in rows[0] else None,
            "step_time_s": mean(rows, "step_time") if "step_time" in rows[0] else None}


def plot(metrics: Path, s: dict[str, Any], png: Path) -> None:
    """Training success per GRPO step (with moving average) and held-out success with 95% CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()] if metrics.exists() else []
    pts = [(r["step"], r["agentgym/success"]) for r in rows if "agentgym/success" in r]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    if pts:
        xs, ys = zip(*pts)
        w = max(1, len(ys) // 8)
        smooth = [sum(ys[max(0, i - w + 1): i + 1]) / len(ys[max(0, i - w + 1): i + 1]) for i in range(len(ys))]
        ax.plot(xs, ys, alpha=0.3, color="C0")
        ax.plot(xs, smooth, color="C0", label=f"training success (moving avg {w})")
    last = pts[-1][0] if pts else 1
    for x, key, color in ((0, "sft", "C3"), (last, "grpo", "C2")):
        r = s[key]
        lo, hi = r["success_ci95"]
        ax.errorbar([x], [r["success_rate"]], yerr=[[r["success_rate"] - lo], [hi - r["success_rate"]]], fmt="o",
                    color=color, capsize=4, label=f"held-out after {key.upper()}: {r['success_rate']:.0%}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel("success rate")
    ax.set_title(f"GRPO (gated rewards) on {s['env']}")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def table(summary: dict[str, Any]) -> str:
    rows = ["| stage | held-out success | 95% CI (Wilson) | distinct held-out tasks | mean turns | tool calls/episode |",
            "|---|---|---|---|---|---|"]
    names = {"base": "random init", "sft": "after SFT", "grpo": "after SFT + GRPO"}
    for stage, label in names.items():
        r = summary.get(stage)
        if r:
            lo, hi = r["success_ci95"]
            rows.append(f"| {label} | {r['success_rate']:.1%} of {r['episodes']} | [{lo:.1%}, {hi:.1%}] | "
                        f"{r.get('distinct_tasks', '-')} | {r['mean_turns']:.2f} | {r['mean_tool_calls']:.2f} |")
    return "\n".join(rows)


def report(s: dict[str, Any]) -> str:
    t, st, tr, tk = s["timings"], s["settings"], s["training"], s["tasks"]
    train_line = ""
    if tr.get("steps"):
        train_line = (f"Training success (rollouts at the same temperature) rose from {tr['success_first_quarter']:.0%} "
                      f"in the first quarter of GRPO steps to {tr['success_last_quarter']:.0%} in the last.\n")
    return f"""# agentgym CPU demo — {s['env']}

Task: a row of four lamps (drawn from eight colours); the note names the one to switch on. `read_note()` then
`press(color)` always succeeds, pressing one of the row without reading succeeds 1 time in 4.

Model: tiny Qwen2, {s['parameters']:,} parameters ({st['layers']} layers, hidden {st['hidden_size']}), built
locally with random weights. SFT: {s['sft_data']['episodes']} expert conversations ({s['sft_data']['skipped_note']}
of them skip the note and press the right lamp by luck), {st['sft_epochs']:g} epochs, lr {st['sft_lr']:g},
assistant-only loss. GRPO: {st['grpo_steps']} steps × {st['batch']} episodes ({st['batch'] // st['num_generations']}
tasks × {st['num_generations']} generations), lr {st['grpo_lr']:g}, DAPO loss, gated reward (outcome + 0.1 per
note read, counted only when the right lamp is on). Held out by task, not by seed: {tk['held_out_share']:.0%} of all
(row, target) tasks, by fingerprint, never appear in SFT or GRPO — the {tk['eval_episodes']} held-out episodes are
{tk['eval_tasks']} distinct tasks, none of them among the {tk['train_tasks']:,} distinct GRPO training tasks
({tk['shared_tasks']} shared) or the {tk['sft_tasks']} SFT tasks ({tk['eval_tasks_in_sft']} shared). Sampled at
temperature {st['temperature']:g} at every stage.

{table(s)}

GRPO gain over SFT: **{s['gain'] * 100:+.1f} points** of held-out success (one-sided two-proportion z-test p = {s['gain_p_value']:.2g}).
{train_line}
Learning curve: `learning_curve.png`; per-step metrics: `metrics.jsonl`; settings and numbers: `summary.json`.
Wall time: model + base eval {t['model_s']:.0f} s, SFT + eval {t['sft_s']:.0f} s, GRPO + eval {t['grpo_s']:.0f} s,
total {t['total_s']:.0f} s ({t['cpu_s']:.0f} s CPU in the main process, {s['torch_threads']} torch threads).
"""


def main(argv: list[str] | None = None) -> int:
    d = DemoSettings()
    parser = argparse.ArgumentParser(prog="python -m agentgym.trainers.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/demo", help="run directory (default: runs/demo)")
    parser.add_argument("--grpo-steps", type=int, default=d.grpo_steps)
    parser.add_argument("--sft-episodes", type=int, default=d.sft_episodes)
    parser.add_argument("--sft-epochs", type=float, default=d.sft_epochs)
    parser.add_argument("--eval-episodes", type=int, default=d.eval_episodes)
    parser.add_argument("--temperature", type=float, default=d.temperature)
    parser.add_argument("--seed", type=int, default=d.seed, help="seeds the model init, SFT and GRPO (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--verbose", action="store_true",
                        help="show TRL/transformers output instead of writing it to OUT/demo.log")
    args = parser.parse_args(argv)
    if args.eval_episodes < 1 or args.grpo_steps < 1 or args.sft_episodes < 1:
        parser.error("--eval-episodes, --grpo-steps and --sft-episodes must be >= 1")
    settings = dataclasses.replace(d, grpo_steps=args.grpo_steps, sft_episodes=args.sft_episodes,
                                   sft_epochs=args.sft_epochs, eval_episodes=args.eval_episodes,
                                   temperature=args.temperature, seed=args.seed, model_seed=args.seed)
    from agentgym.progress import quiet_libraries

    with quiet_libraries(Path(args.out) / "demo.log", args.verbose):
        s = run_demo(Path(args.out), settings, quiet=args.quiet, verbose=args.verbose)
    print()
    print(table(s))
    print(f"\nGRPO gain over SFT: {s['gain'] * 100:+.1f} points of held-out success "
          f"(one-sided p = {s['gain_p_value']:.2g})")
    print(f"report: {Path(args.out) / 'report.html'} (open in a browser), {Path(args.out) / 'report.md'}"
          f"  (total {s['timings']['total_s']:.0f} s)\n"
          f"TRL/transformers output: {Path(args.out) / 'demo.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
