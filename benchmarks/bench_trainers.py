"""Trainer benchmarks: step time vs plain TRL, ARPO vs GRPO, G-RA vs D-RA (tiny model, CPU).

    .venv/bin/python benchmarks/bench_trainers.py                 # all three, ~15 min on 2 busy cores
    .venv/bin/python benchmarks/bench_trainers.py --parts speed   # one part (speed | peer | arpo | shaping)

1. **Step time**: agentgym's multi-turn GRPO (``AgentRollout`` on ``toy/maze``) against plain
   single-turn TRL ``GRPOTrainer`` on the same tiny model, batch and num_generations, with TRL's
   completion length set to the multi-turn episodes' measured token count (``min_new_tokens`` =
   ``max_completion_length``). Both trainers run in the same process, strictly alternating step by
   step (two threads passing a baton); median step time after warm-up.
1b. **TRL's own multi-turn path** (``GRPOTrainer(environment_factory=...)``, benchmarks/peer_trl_env.py) against
   ``AgentRollout`` on `demo/lamps` with the same warm start, batch and ``max_completion_length``: step time, tokens
   per step, held-out success after the same number of steps.
2. **ARPO vs GRPO** on ``demo/lamps`` (read a note, press the lamp it names) from the same SFT warm
   start, equal sample budget (``num_generations`` = ARPO's M): held-out success and tool calls.
3. **G-RA vs D-RA** on ``bench/farm`` (``collect()`` pays +0.1 forever, ``finish(answer)`` gives the
   outcome) from the same SFT warm start: completion rate, success and coins per episode over steps.

Writes the ``trainers`` section of benchmarks/RESULTS.md. SFT warm starts are cached under
``$AGENTGYM_CACHE/bench/``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from _results import write_section  # noqa: E402

TINY = dict(hidden_size=64, layers=2, vocab_size=1024)
EVAL_SEEDS = range(1_000_000, 1_000_064)
TEMPERATURE = 0.5  # tiny models fall off the tool-call format in their sampling tail at 1.0
SFT = dict(episodes=256, epochs=8.0)  # 4 epochs: 97% token accuracy yet ~half the sampled tool calls malformed
FARM = dict(coin=0.2, max_turns=8)  # +0.1 × 10 turns never beats finishing: D-RA had no reason to drift
LR = 2e-4  # Adam moves every weight by ~lr per step: 2e-3 wrecks the tool-call format of a 161k-parameter model in one step


def load_tiny(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def grpo_args(name: str, **kw):
    from trl import GRPOConfig

    base = dict(output_dir=f"/tmp/agentgym-bench/{name}", use_cpu=True, bf16=False, report_to="none",
                logging_steps=1, save_strategy="no", disable_tqdm=True, seed=0, temperature=TEMPERATURE,
                remove_unused_columns=False, dataloader_num_workers=0)
    return GRPOConfig(**{**base, **kw})


# ----------------------------------------------------------------------------- 1. step time
class Baton:
    """Lets two trainers in two threads take optimizer steps strictly in turn."""

    def __init__(self):
        self.cond = threading.Condition()
        self.turn = 0
        self.done: set[int] = set()

    def callback(self, me: int, times: list[float]):
        from transformers import TrainerCallback

        baton = self

        class Turns(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                with baton.cond:
                    baton.cond.wait_for(lambda: baton.turn == me or (1 - me) in baton.done)
                self.t = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                times.append(time.perf_counter() - self.t)
                with baton.cond:
                    baton.turn = 1 - me
                    baton.cond.notify_all()

            def on_train_end(self, args, state, control, **kw):
                with baton.cond:
                    baton.done.add(me)
                    baton.turn = 1 - me
                    baton.cond.notify_all()

        return Turns()


def bench_speed(path: str, steps: int, warmup: int) -> tuple[str, dict]:
    from datasets import Dataset
    from trl import GRPOTrainer

    from agentgym.trainers.episodes import Generator
    from agentgym.trainers.grpo import AgentRollout, make_trainer_class, task_dataset, task_prompt

    total = steps + warmup
    gens, batch, turns, per_turn = 4, 8, 4, 24
    rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=turns, max_new_tokens=per_turn)
    model_a, tok = load_tiny(path)
    # calibrate: how many completion tokens (model + env) a multi-turn episode of this setup has
    probe = rollout.collect(Generator(model_a, tok, max_new_tokens=per_turn), [task_prompt(s) for s in (90, 90, 90, 90,
                            91, 91, 91, 91)], gens, max_turns=turns, max_completion_length=1024)
    length = round(statistics.fmean(len(r.completion_ids) for r in probe))
    model_tokens = statistics.fmean(sum(r.env_mask) for r in probe)
    tokens: dict[str, list[int]] = {"agentgym": [], "trl": []}
    times: dict[str, list[float]] = {"agentgym": [], "trl": []}
    baton = Baton()

    def ours_reward(completions, completion_ids, episode_return, **kw):
        tokens["agentgym"].append(sum(len(c) for c in completion_ids))
        return [float(r) for r in episode_return]

    def trl_reward(completions, completion_ids, **kw):
        tokens["trl"].append(sum(len(c) for c in completion_ids))
        return [float(len(c) % 3) for c in completion_ids]

    common = dict(max_steps=total, num_generations=gens, per_device_train_batch_size=batch, learning_rate=1e-4,
                  max_completion_length=length, beta=0.0)
    ours = make_trainer_class()(
        model=model_a, reward_funcs=[ours_reward], args=grpo_args("speed-agentgym", **common),
        train_dataset=task_dataset(range(256)), processing_class=tok, rollout_func=rollout,
        callbacks=[baton.callback(0, times["agentgym"])])
    model_b, tok_b = load_tiny(path)
    data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"Find the exit of maze {i}."}] for i in range(256)]})
    plain = GRPOTrainer(
        model=model_b, reward_funcs=[trl_reward], processing_class=tok_b, train_dataset=data,
        args=grpo_args("speed-trl", **common, generation_kwargs={"min_new_tokens": length}),
        callbacks=[baton.callback(1, times["trl"])])
    errors: list[BaseException] = []

    def run(trainer):
        try:
            trainer.train()
        except BaseException as e:  # surfaced after join
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in (ours, plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    med = {k: statistics.median(v[warmup:]) for k, v in times.items()}
    tok_step = {k: statistics.fmean(v[warmup:]) for k, v in tokens.items()}
    per_tok = {k: med[k] / tok_step[k] for k in med}
    ratio, ratio_tok = med["agentgym"] / med["trl"], per_tok["agentgym"] / per_tok["trl"]
    body = (
        "### 1. Step time vs plain TRL `GRPOTrainer`\n\n"
        f"Tiny Qwen2 (64 hidden, 2 layers), batch {batch} = {batch // gens} tasks × {gens} generations, one "
        f"optimizer step per generation batch; agentgym: `toy/maze` size 2, {turns} turns × ≤{per_turn} new tokens "
        f"(mean {length} completion tokens per episode, {model_tokens:.0f} of them model tokens); TRL: single-turn, "
        f"exactly {length} new tokens per completion. Same process, alternating steps, median of {steps} steps after "
        f"{warmup} warm-up.\n\n"
        "| trainer | s/step (median) | completion tokens/step | ms per completion token | ratio |\n|---|---|---|---|---|\n"
        f"| TRL `GRPOTrainer`, single-turn | {med['trl']:.2f} | {tok_step['trl']:.0f} | {1000 * per_tok['trl']:.2f} | 1.00× |\n"
        f"| agentgym multi-turn GRPO | {med['agentgym']:.2f} | {tok_step['agentgym']:.0f} | "
        f"{1000 * per_tok['agentgym']:.2f} | **{ratio:.2f}×** per step, {ratio_tok:.2f}× per token |\n\n"
        f"Target ≤ 1.3×: **{'met' if ratio <= 1.3 else 'not met'}** ({ratio:.2f}× per step). "
        "Multi-turn generation re-encodes the growing prompt on every turn (no KV cache across turns) and "
        "steps the env between turns, which single-turn TRL never does.\n"
    )
    return body, {"ratio": ratio, "ratio_per_token": ratio_tok, **{f"s_{k}": v for k, v in med.items()}}


# ----------------------------------------------------------------------------- warm starts
def farm_conversations(episodes: int, coin: float, max_collects: int = 3) -> list[dict]:
    """Oracle ``bench/farm`` episodes preceded by 0..max_collects ``collect()`` calls (uniform), real env replies."""
    import random

    from agentgym.registry import make
    from agentgym.types import Message, ToolCall

    async def one(seed: int, k: int) -> dict:
        env = make("bench/farm", coin=coin)
        try:
            msgs = list((await env.reset(seed=seed)).messages)
            for action in [Message.assistant(tool_calls=[ToolCall(name="collect")])] * k + await env.oracle():
                msgs += [action, *(await env.step(action)).messages]
            return {"messages": [m.to_openai() for m in msgs], "tools": [t.to_openai() for t in env.tools]}
        finally:
            await env.close()

    rng = random.Random(0)
    return [asyncio.run(one(seed, rng.randint(0, max_collects))) for seed in range(episodes)]


def warm_start(env_id: str, name: str, episodes: int, epochs: float, rows: list | None = None,
               seeds: list | None = None, **expert_kw) -> str:
    """An SFT'd tiny model on oracle conversations of ``env_id`` (or ``rows``), cached by name."""
    from agentgym.models.tiny import cache_dir, cached_tiny
    from agentgym.trainers.sft import expert_conversations, sft

    out = cache_dir() / "bench" / f"{name}-e{episodes}-x{epochs}"
    if (out / "config.json").exists():
        return str(out)
    model, tok = load_tiny(cached_tiny(**TINY))
    rows = rows or asyncio.run(expert_conversations(env_id, (seeds or range(episodes))[:episodes], **expert_kw))
    model = sft(model, tok, rows, out_dir=f"/tmp/agentgym-bench/sft-{name}", epochs=epochs, learning_rate=5e-3,
                batch_size=16, progress=False)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def train_grpo(path: str, env_id: str, *, steps: int, algo: str = "grpo", shaping=None, max_turns: int,
               gens: int = 8, batch: int = 16, lr: float = 2e-4, max_new_tokens: int = 32, max_len: int = 256,
               arpo_initial: int = 4, seed_base: int = 0, env_kwargs: dict | None = None, train_seeds=None):
    """Trains a fresh copy of ``path``; returns (model, tokenizer, rollout) with per-step records in ``rollout.steps``."""
    from agentgym.trainers.arpo import ArpoConfig
    from agentgym.trainers.grpo import AgentRollout, episode_return, make_trainer_class, task_dataset

    model, tok = load_tiny(path)
    rollout = AgentRollout(env_id, env_kwargs or {}, max_turns=max_turns, shaping=shaping, algo=algo,
                           arpo=ArpoConfig(budget=gens, initial=arpo_initial), max_new_tokens=max_new_tokens,
                           max_completion_length=max_len, seed=0)
    rollout.steps = []
    original = rollout.collect

    def collect(*a, **kw):
        records = original(*a, **kw)
        rollout.steps.append(list(records))
        return records

    rollout.collect = collect
    args = grpo_args(f"{env_id.replace('/', '-')}-{algo}", max_steps=steps, num_generations=gens,
                     per_device_train_batch_size=batch, learning_rate=lr, lr_scheduler_type="constant", beta=0.0,
                     loss_type="dapo", epsilon=0.2, epsilon_high=0.28, max_completion_length=max_len)
    trainer = make_trainer_class()(model=model, reward_funcs=[episode_return], args=args, processing_class=tok,
                                   train_dataset=task_dataset(train_seeds or range(seed_base, seed_base + 10_000)),
                                   rollout_func=rollout)
    trainer.train()
    return trainer.model, tok, rollout


def lamps_split():
    """``demo/lamps`` training and held-out seeds, disjoint by task (trainers/tasks.py), and their task counts."""
    from agentgym.registry import make
    from agentgym.trainers.tasks import split_tasks

    return split_tasks(lambda: make("demo/lamps", max_turns=4), range(0, 10_000), EVAL_SEEDS.start, len(EVAL_SEEDS))


def evaluate(model, tok, env_id: str, max_turns: int, max_len: int = 256, seeds=None) -> dict:
    from agentgym.trainers.run import evaluate as run_eval

    return run_eval(model, tok, env_id, {}, seeds or EVAL_SEEDS, max_turns=max_turns, temperature=TEMPERATURE, max_new_tokens=32,
                    max_completion_length=max_len)


def mean(records, fn) -> float:
    return statistics.fmean(fn(r) for r in records) if records else 0.0


# ----------------------------------------------------------------------------- 2. ARPO vs GRPO
ARPO_SETTINGS = {
    # name: (warm-start cache name, expert kwargs, max turns, what the demonstrations do)
    "skip": ("lamps8-skip0.5", {"skip_prob": 0.5}, 3, "half of them skip reading the note and guess"),
    "detour": ("lamps8-detour0.5", {"detour_tool": "read_note", "detour_prob": 0.5, "max_turns": 4}, 4,
               "each step preceded by an extra read_note with probability 0.5 (2–4 tool calls)"),
}


def bench_arpo(steps: int) -> tuple[str, dict]:
    from agentgym.trainers.demo_env import register_envs

    register_envs()
    env = "demo/lamps"
    rows, out, notes = [], {}, []
    split = lamps_split()  # held-out tasks never appear in SFT or GRPO
    out["tasks"] = split.summary()
    for setting, (name, expert_kw, turns, what) in ARPO_SETTINGS.items():
        path = warm_start(env, name, SFT["episodes"], SFT["epochs"], seeds=split.train_seeds, **expert_kw)
        model, tok = load_tiny(path)
        before = evaluate(model, tok, env, turns, seeds=split.eval_seeds)
        out[setting] = {"before": before}
        rows.append(f"| {setting} | SFT warm start | - | - | - | {before['success_rate']:.1%} | "
                    f"{before['mean_tool_calls']:.2f} | - | - |")
        for algo in ("grpo", "arpo"):
            t = time.perf_counter()
            model, tok, rollout = train_grpo(path, env, steps=steps, algo=algo, max_turns=turns, lr=LR,
                                             train_seeds=split.train_seeds)
            seconds = time.perf_counter() - t
            after = evaluate(model, tok, env, turns, seeds=split.eval_seeds)
            train_records = [r for step in rollout.steps for r in step]
            branch = getattr(getattr(rollout, "arpo_stats", None), "branch_rate", None)
            out[setting][algo] = {"after": after, "train_success": mean(train_records, lambda r: r.success),
                                  "train_tool_calls": mean(train_records, lambda r: r.tool_calls), "seconds": seconds}
            r = out[setting][algo]
            rows.append(f"| {setting} | {algo.upper()} | {len(train_records)} | {r['train_success']:.1%} | "
                        f"{r['train_tool_calls']:.2f} | {after['success_rate']:.1%} | {after['mean_tool_calls']:.2f} | "
                        f"{'-' if branch is None else f'{branch:.2f}'} | {seconds:.0f} |")
        g, a = out[setting]["grpo"]["after"], out[setting]["arpo"]["after"]
        notes.append(f"`{setting}` ({what}, max {turns} turns): held-out success GRPO {g['success_rate']:.1%} vs ARPO "
                     f"{a['success_rate']:.1%}, tool calls per episode GRPO {g['mean_tool_calls']:.2f} vs ARPO "
                     f"{a['mean_tool_calls']:.2f}")
    body = (
        "### 2. ARPO vs GRPO at equal sample budget (`demo/lamps`)\n\n"
        f"Two SFT warm starts ({SFT['episodes']} oracle conversations × {SFT['epochs']:g} epochs each): `skip` — "
        f"{ARPO_SETTINGS['skip'][3]}; `detour` — {ARPO_SETTINGS['detour'][3]}. {steps} steps per run, batch 16 = 2 tasks "
        "× 8 completions (GRPO: 8 independent samples; ARPO: M = 8, N = 4 initial, β = 0.2, τ = 0.5, k = 20, soft "
        f"attribution), env reward (1 for the right lamp), lr {LR:g}, sampling temperature {TEMPERATURE} in training and "
        f"evaluation. Held-out: {len(split.eval_seeds)} episodes over {split.eval_tasks} distinct tasks, none of them "
        f"among the {split.train_tasks:,} distinct SFT/GRPO training tasks (split by task fingerprint, "
        f"{split.shared_tasks} shared). Optimal play is 2 tool calls (read_note, press).\n\n"
        "| setting | | episodes trained | train success | train tool calls/ep | held-out success | held-out tool calls/ep "
        "| ARPO branch rate (last step) | train s |\n|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n\n"
        "**Interpretation:** " + "; ".join(notes) + " (64 held-out episodes each: a 95% CI is about ±12 points, so "
        "only large gaps mean anything at this scale).\n"
    )
    return body, out


# ----------------------------------------------------------------------------- 3. G-RA vs D-RA
def bench_shaping(steps: int) -> tuple[str, dict]:
    from agentgym.trainers.bench_envs import register_envs
    from agentgym.trainers.gated import DirectReward, GatedReward, Level

    register_envs()
    env, turns, coin = "bench/farm", FARM["max_turns"], FARM["coin"]
    path = warm_start(env, f"farm-c{coin}", SFT["episodes"], SFT["epochs"],
                      rows=farm_conversations(SFT["episodes"], coin))
    levels = [Level(channel="outcome", threshold=1.0, reduce="max"), Level(channel="coins")]
    shapings = {"G-RA": GatedReward(levels=levels), "D-RA": DirectReward(levels=levels)}
    curves, out = {}, {}
    for name, shaping in shapings.items():
        _, _, rollout = train_grpo(path, env, steps=steps, shaping=shaping, max_turns=turns, max_len=384, lr=LR,
                                     env_kwargs={"coin": coin})
        curves[name] = [{"completion": mean(rs, lambda r: r.termination == "done"),
                         "success": mean(rs, lambda r: r.success),
                         "coins": mean(rs, lambda r: sum(c.get("coins", 0.0) for c in r.channels) / coin),
                         "return": mean(rs, lambda r: r.shaped or 0.0)} for rs in rollout.steps]
        out[name] = curves[name]
    block = max(1, steps // 5)
    lines = ["| steps | " + " | ".join(f"{n} completion | {n} success | {n} collects/ep" for n in shapings) + " |",
             "|---|" + "---|" * (3 * len(shapings))]
    for start in range(0, steps, block):
        cells = []
        for n in shapings:
            part = curves[n][start:start + block]
            cells += [f"{mean(part, lambda c: c['completion']):.0%}", f"{mean(part, lambda c: c['success']):.0%}",
                      f"{mean(part, lambda c: c['coins']):.1f}"]
        lines.append(f"| {start + 1}–{min(start + block, steps)} | " + " | ".join(cells) + " |")
    first = {n: mean(curves[n][:block], lambda c: c["completion"]) for n in shapings}
    last = {n: mean(curves[n][-block:], lambda c: c["completion"]) for n in shapings}
    coins = {n: mean(curves[n][-block:], lambda c: c["coins"]) for n in shapings}
    drift = coins["D-RA"] > coins["G-RA"] + 0.5 and last["D-RA"] < last["G-RA"] - 0.1
    body = (
        "### 3. G-RA vs D-RA on a farmable env (`bench/farm`)\n\n"
        f"`collect()` pays +{coin} per call forever; `finish(answer)` ends the episode with outcome 1 (right code) or 0; "
        f"max {turns} turns (farming to the limit pays {coin * turns:.1f}, more than a right answer). Same SFT warm start "
        f"({SFT['episodes']} oracle conversations × {SFT['epochs']:g} epochs, each with 0–3 `collect` calls before "
        f"`finish`), temperature {TEMPERATURE}, "
        f"{steps} GRPO steps per shaping, batch 16 = 2 tasks × 8, lr {LR:g}, seed 0. D-RA: R = outcome + Σ coins; "
        "G-RA: coins count only when the `outcome` channel ≥ 1. Completion = episodes that call `finish` "
        "before the turn limit (training rollouts, per block of steps).\n\n"
        + "\n".join(lines) + "\n\n"
        f"**Interpretation:** completion, first → last block: G-RA {first['G-RA']:.0%} → {last['G-RA']:.0%}, "
        f"D-RA {first['D-RA']:.0%} → {last['D-RA']:.0%}; collect() calls per episode in the last block: G-RA {coins['G-RA']:.1f}, "
        f"D-RA {coins['D-RA']:.1f} — "
        + ("D-RA drifted toward farming, G-RA did not." if drift else
           "no clear farming drift separates the two within this many steps.") + "\n"
    )
    return body, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="speed,peer,arpo,shaping", help="comma-separated: speed,peer,arpo,shaping")
    parser.add_argument("--speed-steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--peer-steps", type=int, default=8, help="steps of the TRL environment_factory peer part")
    parser.add_argument("--arpo-steps", type=int, default=16)
    parser.add_argument("--shaping-steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    a = parser.parse_args()
    import torch

    from agentgym.models.tiny import cached_tiny

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    load0, t0 = os.getloadavg(), time.perf_counter()
    parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    sections, interpretations = [], []
    if "speed" in parts:
        body, r = bench_speed(str(cached_tiny(**TINY)), a.speed_steps, a.warmup)
        sections.append(body)
        interpretations.append(f"step time {r['ratio']:.2f}× plain TRL (target ≤ 1.3×)")
        print(body, flush=True)
    if "peer" in parts:
        from peer_trl_env import bench_peer

        from agentgym.trainers.demo_env import register_envs

        register_envs()
        split = lamps_split()
        name, expert_kw, turns, _ = ARPO_SETTINGS["skip"]
        lamps = warm_start("demo/lamps", name, SFT["episodes"], SFT["epochs"], seeds=split.train_seeds, **expert_kw)
        body, r = bench_peer(lamps, a.peer_steps, a.warmup, grpo_args=grpo_args, load_tiny=load_tiny, Baton=Baton,
                             evaluate_env=lambda m, t: evaluate(m, t, "demo/lamps", turns, seeds=split.eval_seeds),
                             split=split)
        sections.append(body)
        print(body, flush=True)
    if "arpo" in parts:
        body, r = bench_arpo(a.arpo_steps)
        sections.append(body)
        print(body, flush=True)
    if "shaping" in parts:
        body, r = bench_shaping(a.shaping_steps)
        sections.append(body)
        print(body, flush=True)
    load1 = os.getloadavg()
    header = (
        "## Trainers\n\n"
        f"`benchmarks/bench_trainers.py --parts {','.join(parts)}` — {time.perf_counter() - t0:.0f} s wall, "
        f"torch {a.threads} thread(s), {os.cpu_count()} cores, load average {load0[0]:.1f} at start / "
        f"{load1[0]:.1f} at end (the machine is shared: absolute times are inflated, ratios are same-run).\n\n"
    )
    text = header + "\n".join(sections)
    if a.no_write:
        print(text)
    else:
        write_section("trainers", text)


if __name__ == "__main__":
    main()
