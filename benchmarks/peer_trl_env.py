"""Peer row of the trainer benchmark: TRL 1.16's own multi-turn path (``GRPOTrainer(environment_factory=...)``).

The same env (``demo/lamps``: read a note, press the lamp it names; wrapped as a TRL environment
class whose public methods are the env's tools), the same SFT warm start, the same batch, ``max_completion_length`` and
sampling, trained side by side with agentgym's ``AgentRollout`` (one process, strictly
alternating steps); both models are then evaluated by the same held-out episodes.

    .venv/bin/python benchmarks/bench_trainers.py --parts peer --no-write
"""

from __future__ import annotations

import json
import statistics
import threading
import time

ENV_ID = "demo/lamps"
TURNS = 3


class LampsTools:
    """``demo/lamps`` as TRL's environment_factory wants it: ``reset(**row)`` and documented tool methods."""

    def __init__(self):
        self.env = None
        self.success = False
        self.done = False

    def reset(self, **row) -> str:
        import agentgym

        if self.env is not None:
            self.env.close()
        from agentgym.trainers.demo_env import register_envs

        register_envs()
        self.env = agentgym.make(ENV_ID, max_turns=TURNS).sync()
        first = self.env.reset(seed=int(row["seed"]))
        self.success, self.done = False, False
        return "\n".join(m.content or "" for m in first.messages if m.role == "user")

    def _call(self, name: str, arguments: dict) -> str:
        from agentgym.types import Message, ToolCall

        if self.done:
            return "The episode is over."
        result = self.env.step(Message.assistant(tool_calls=[ToolCall(name=name, arguments=json.dumps(arguments))]))
        self.done = result.done or result.truncated
        self.success = self.success or bool(result.success)
        return "\n".join(m.content or "" for m in result.messages)

    def read_note(self) -> str:
        """Read the note."""
        return self._call("read_note", {})

    def press(self, color: str) -> str:
        """Switch on one lamp.

        Args:
            color: the lamp's colour.
        """
        return self._call("press", {"color": color})


def trl_reward(completions, environments=None, **kw):
    return [1.0 if env.success else 0.0 for env in environments]


def bench_peer(path: str, steps: int, warmup: int, *, grpo_args, load_tiny, Baton, evaluate_env, split) -> tuple[str, dict]:
    """agentgym multi-turn GRPO vs TRL environment_factory GRPO: step time, tokens, held-out success."""
    from datasets import Dataset
    from trl import GRPOTrainer
    from trl.chat_template_utils import qwen3_template

    from agentgym.trainers.grpo import AgentRollout, episode_return, make_trainer_class, task_dataset

    total = steps + warmup
    gens, batch, max_len = 8, 16, 192
    system = "Switch on the right lamp."
    tokens = {"agentgym": [], "trl": []}
    times = {"agentgym": [], "trl": []}
    success = {"agentgym": [], "trl": []}
    baton = Baton()

    def ours_reward(completions, completion_ids, **kw):
        tokens["agentgym"].append(sum(len(c) for c in completion_ids))
        success["agentgym"].append(statistics.fmean(float(s) for s in kw["success"]))
        return episode_return(completions, **kw)

    def peer_reward(completions, completion_ids, environments=None, **kw):
        tokens["trl"].append(sum(len(c) for c in completion_ids))
        out = trl_reward(completions, environments)
        success["trl"].append(statistics.fmean(out))
        return out

    common = dict(max_steps=total, num_generations=gens, per_device_train_batch_size=batch, learning_rate=2e-4,
                  lr_scheduler_type="constant", max_completion_length=max_len, beta=0.0, loss_type="dapo")
    model_a, tok_a = load_tiny(path)
    rollout = AgentRollout(ENV_ID, {}, max_turns=TURNS, max_new_tokens=max_len, max_completion_length=max_len)
    ours = make_trainer_class()(
        model=model_a, reward_funcs=[ours_reward], args=grpo_args("peer-agentgym", **common),
        train_dataset=task_dataset(split.train_seeds), processing_class=tok_a, rollout_func=rollout,
        callbacks=[baton.callback(0, times["agentgym"])])
    model_b, tok_b = load_tiny(path)
    tok_b.response_template = qwen3_template  # the tiny template writes hermes <tool_call> blocks, as Qwen does
    data = Dataset.from_dict({"prompt": [[{"role": "system", "content": system}, {"role": "user", "content": ""}]
                                         for _ in split.train_seeds], "seed": list(split.train_seeds)})
    peer = GRPOTrainer(
        model=model_b, reward_funcs=[peer_reward], processing_class=tok_b, train_dataset=data,
        environment_factory=LampsTools,
        args=grpo_args("peer-trl", **common, max_tool_calling_iterations=TURNS),
        callbacks=[baton.callback(1, times["trl"])])
    errors: list[BaseException] = []

    def run(trainer):
        try:
            trainer.train()
        except BaseException as e:  # surfaced after join
            errors.append(e)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(t,)) for t in (ours, peer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    wall = time.perf_counter() - t0
    med = {k: statistics.median(v[warmup:]) for k, v in times.items()}
    tok_step = {k: statistics.fmean(v[warmup:]) for k, v in tokens.items()}
    per_tok = {k: med[k] / tok_step[k] for k in med}
    held = {"agentgym": evaluate_env(ours.model, tok_a), "trl": evaluate_env(peer.model, tok_a)}
    base = evaluate_env(load_tiny(path)[0], tok_a)
    ratio = med["agentgym"] / med["trl"]
    train_succ = {k: statistics.fmean(v) for k, v in success.items()}
    body = (
        "### 1b. Step time vs TRL's own multi-turn path (`GRPOTrainer(environment_factory=...)`)\n\n"
        f"Same env (`{ENV_ID}`, ≤{TURNS} tool turns; for TRL a `LampsTools` class whose `read_note`/`press` methods "
        f"step the same agentgym env), same SFT warm start (the `skip` one of part 2), batch {batch} = "
        f"{batch // gens} tasks × {gens}, `max_completion_length` {max_len} for the whole episode in both (agentgym: no "
        f"separate per-turn cap), temperature {grpo_args('x').temperature}, lr 2e-4, dapo, env reward (1 for the "
        f"right lamp), {steps} steps after {warmup} warm-up, same process, alternating steps; training tasks from the "
        f"same split. Held-out: the same {held['agentgym']['episodes']} episodes on "
        f"{held['agentgym'].get('distinct_tasks', '?')} distinct tasks never trained on, by agentgym's evaluator, for "
        "both models.\n\n"
        "| trainer | s/step (median) | completion tokens/step | ms per completion token | train success | "
        "held-out success |\n|---|---|---|---|---|---|\n"
        f"| SFT warm start | - | - | - | - | {base['success_rate']:.1%} |\n"
        f"| TRL `environment_factory` | {med['trl']:.2f} | {tok_step['trl']:.0f} | {1000 * per_tok['trl']:.2f} | "
        f"{train_succ['trl']:.1%} | {held['trl']['success_rate']:.1%} |\n"
        f"| agentgym `AgentRollout` | {med['agentgym']:.2f} | {tok_step['agentgym']:.0f} | "
        f"{1000 * per_tok['agentgym']:.2f} | {train_succ['agentgym']:.1%} | {held['agentgym']['success_rate']:.1%} |\n\n"
        f"agentgym step / TRL multi-turn step: **{ratio:.2f}×** (target ≤ 1.0×: **{'met' if ratio <= 1.0 else 'not met'}**), "
        f"{per_tok['agentgym'] / per_tok['trl']:.2f}× per completion token; {wall:.0f} s for both runs.\n"
    )
    return body, {"ratio": ratio, "s": med, "tokens": tok_step, "held": held, "base": base, "train_success": train_succ}


__all__ = ["LampsTools", "bench_peer"]
