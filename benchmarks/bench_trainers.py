"""Trainer step time: agentgym multi-turn GRPO vs plain single-turn TRL GRPOTrainer (same model and batch).

    .venv/bin/python benchmarks/bench_trainers.py [--steps 6]

Prints a markdown section and replaces the ``trainers`` section of benchmarks/RESULTS.md.
Both runs use the same tiny model, batch (8 = 2 tasks x 4 generations) and completion budget;
the ratio compares seconds per optimizer step and per completion token.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
RESULTS = Path(__file__).with_name("RESULTS.md")


class StepTimer:
    def __init__(self):
        from transformers import TrainerCallback

        outer = self

        class CB(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                outer.t = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                outer.times.append(time.perf_counter() - outer.t)

        self.times: list[float] = []
        self.callback = CB()


def run(kind: str, path: str, steps: int, budget: int) -> tuple[float, float]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from agentgym.trainers.grpo import AgentRollout, episode_return, make_trainer_class, task_dataset

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    args = GRPOConfig(output_dir=f"/tmp/bench-{kind}", use_cpu=True, bf16=False, report_to="none", max_steps=steps,
                      num_generations=4, per_device_train_batch_size=8, max_completion_length=budget,
                      logging_steps=1, save_strategy="no", disable_tqdm=True, learning_rate=1e-4)
    timer = StepTimer()
    tokens: list[int] = []
    if kind == "trl":
        data = Dataset.from_dict({"prompt": [[{"role": "user", "content": f"Find the exit of maze {i}."}] for i in range(64)]})

        def reward(completions, completion_ids, **kw):
            tokens.extend(len(c) for c in completion_ids)
            return [float(len(c) % 3) for c in completion_ids]

        trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=data, processing_class=tok,
                              callbacks=[timer.callback])
    else:
        rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=4, max_new_tokens=budget // 4)

        def reward(completions, completion_ids, episode_return, **kw):
            tokens.extend(len(c) for c in completion_ids)
            return [float(r) for r in episode_return]

        trainer = make_trainer_class()(model=model, reward_funcs=[reward], args=args, train_dataset=task_dataset(range(64)),
                                       processing_class=tok, rollout_func=rollout, callbacks=[timer.callback])
    trainer.train()
    per_step = statistics.median(timer.times[1:] or timer.times)
    per_token = per_step / max(statistics.fmean(tokens), 1) / 8
    return per_step, per_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--budget", type=int, default=128)
    a = parser.parse_args()
    from agentgym.models.tiny import cached_tiny

    path = str(cached_tiny(hidden_size=64, layers=2, vocab_size=1024))
    trl_step, trl_tok = run("trl", path, a.steps, a.budget)
    ours_step, ours_tok = run("agentgym", path, a.steps, a.budget)
    section = (
        "## Trainers: step time vs plain TRL GRPOTrainer\n\n"
        f"Tiny Qwen2 (64 hidden, 2 layers), batch 8 (2 tasks x 4 generations), completion budget {a.budget} tokens, "
        f"median of {a.steps - 1} steps, CPU ({os.cpu_count()} cores).\n\n"
        "| trainer | s/step | ms per completion token | ratio (per token) |\n|---|---|---|---|\n"
        f"| TRL GRPOTrainer, single-turn | {trl_step:.2f} | {1000 * trl_tok:.2f} | 1.00x |\n"
        f"| agentgym multi-turn GRPO (toy/maze, 4 turns) | {ours_step:.2f} | {1000 * ours_tok:.2f} | "
        f"{ours_tok / trl_tok:.2f}x |\n\nTarget: <= 1.3x per token.\n"
    )
    print(section)
    block = f"<!-- bench:trainers -->\n{section}<!-- /bench:trainers -->"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if "<!-- bench:trainers -->" in text:
        text = re.sub(r"<!-- bench:trainers -->.*?<!-- /bench:trainers -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
