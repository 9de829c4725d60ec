"""Training runs end to end: load the model, evaluate, train with TRL, evaluate, write the run dir.

    from agentgym.trainers.config import load_config
    from agentgym.trainers.training import train
    summary = train(load_config("configs/maze-cpu.yaml", ["trl.max_steps=5"]))   # a TrainSummary
    summary.after.success_rate - summary.before.success_rate

The run directory gets ``config.json``, TRL checkpoints (``checkpoint-N/``; ``resume=True``
continues from the newest), ``metrics.jsonl`` (one line per logged step), ``learning_curve.png``,
``summary.json`` (held-out success before/after) and the final model in ``model/``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from agentgym.errors import ConfigError
from agentgym.progress import StageBar, use_train_progress
from agentgym.registry import make
from agentgym.report import finish_run
from agentgym.summary import HeldOutSummary, TrainStats, TrainSummary, summarize

from .checkpoint import load_rollout_state, lr_schedule_callback, rollout_state_callback
from .config import TrainConfig
from .env_source import EnvSource
from .episodes import EpisodeStart, Sampler, play_episodes
from .gated import emitted_channels
from .grpo import AgentRollout, episode_return, make_trainer_class, task_dataset
from .tasks import SplitResult, distinct_tasks, split_tasks
from .templates import check_chat_template


def load_model(config: TrainConfig) -> tuple[Any, Any, str]:
    """(model, tokenizer, path) from ``model.path`` or a cached tiny model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = config.model.path
    if path is None:
        from agentgym.models.tiny import cached_tiny

        path = str(cached_tiny(**(config.model.tiny or {})))
    if not Path(path).exists() and os.environ.get("HF_HUB_OFFLINE") == "1":
        raise ConfigError(f"`model.path` {path} does not exist (and the hub is offline)")
    tok = AutoTokenizer.from_pretrained(path)
    if not tok.chat_template:
        raise ConfigError(f"the tokenizer at {path} has no chat_template; agentgym needs a prefix-preserving, "
                          "tool-capable template (e.g. agentgym/models/chat_template.jinja)")
    check_chat_template(tok)  # before loading weights: a history-rewriting template fails every episode
    model = AutoModelForCausalLM.from_pretrained(path)
    return model, tok, path


def evaluate(model: Any, tokenizer: Any, env_id: str, env_kwargs: dict[str, Any], seeds: range | list[int], *,
             env_factory: Callable[[], Any] | None = None,
             max_turns: int, temperature: float = 1.0, max_new_tokens: int = 64,
             max_completion_length: int = 1024, batch: int = 64, sample_seed: int | None = 0,
             trajectories: str | Path | None = None, stage: str | None = None) -> HeldOutSummary:
    """Held-out success of a local model (batched episodes, same sampling as training).

    ``sample_seed`` seeds the sampling on a forked torch RNG: the same model and seeds give the
    same result every call, and the caller's (training) random stream is left untouched.
    ``None`` samples from the global stream. ``distinct_tasks``: how many different tasks the seeds
    build (``trainers/tasks.py``); pick held-out seeds with :func:`~agentgym.trainers.tasks.split_tasks`.
    ``trajectories``: a JSONL file for the episodes themselves; ``stage``: show a bar of that name.
    """
    import contextlib

    import torch

    gen = Sampler(model, tokenizer, temperature=temperature, max_new_tokens=max_new_tokens)
    factory = env_factory or (lambda: make(env_id, max_turns=max_turns, **env_kwargs))
    seeds = list(seeds)
    t0, cpu0 = time.perf_counter(), time.process_time()
    records = []
    param = next(model.parameters())
    devices = [param.device.index or 0] if param.is_cuda else []
    with torch.random.fork_rng(devices=devices) if sample_seed is not None else contextlib.nullcontext():
        if sample_seed is not None:
            torch.manual_seed(sample_seed)
        bar = StageBar(stage or "eval", len(seeds), enabled=stage is not None)  # ``stage``: its bar's name
        for i in range(0, len(seeds), batch):
            starts = [EpisodeStart(factory, seed=s) for s in seeds[i:i + batch]]
            records += asyncio.run(play_episodes(gen, starts, max_turns=max_turns,
                                                 max_completion_length=max_completion_length))
            bar.update(len(starts), success=f"{sum(r.success for r in records) / len(records):.2f}",
                       tools=f"{statistics.fmean(r.tool_calls for r in records):.3g}")
        bar.close()
    if trajectories is not None:  # the episodes, token masks included, for the run's report
        _write_trajectories(Path(trajectories), [r.trajectory for r in records if r.trajectory is not None])
    name = getattr(getattr(model, "config", None), "_name_or_path", None) or type(model).__name__
    base = summarize([r.trajectory for r in records], env=env_id, model=str(name),
                     wall_time=time.perf_counter() - t0)
    base.cpu_s = time.process_time() - cpu0
    return HeldOutSummary(**base.model_dump(),
                          mean_tool_calls=statistics.fmean(r.tool_calls for r in records) if records else 0.0,
                          distinct_tasks=distinct_tasks(factory, seeds))


def _write_trajectories(path: Path, trajs: list[Any]) -> None:
    from agentgym.engine import TrajectoryWriter

    path.unlink(missing_ok=True)  # a resumed run evaluates again: one record per episode
    writer = TrajectoryWriter(path)
    try:
        for i, t in enumerate(trajs):
            writer.write(t.model_copy(update={"episode": i}) if t.episode is None else t)
    finally:
        writer.close()


def metrics_callback(path: Path):
    """A TRL/transformers callback appending every log line to ``metrics.jsonl``."""
    from transformers import TrainerCallback

    class MetricsJsonl(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs:
                with open(path, "a") as f:
                    f.write(json.dumps({"step": state.global_step, **{k: v for k, v in logs.items()
                                                                      if isinstance(v, (int, float))}}) + "\n")

    return MetricsJsonl()


def plot_learning_curve(metrics_path: Path, out: Path, keys: tuple[str, ...] = ("agentgym/success", "reward"),
                        title: str = "training") -> Path | None:
    """Plots the given metrics (moving average) against the step; returns the PNG path."""
    if not metrics_path.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in keys:
        pts = [(r["step"], r[key]) for r in rows if key in r and isinstance(r[key], (int, float)) and math.isfinite(r[key])]
        if not pts:
            continue
        xs, ys = zip(*pts)
        w = max(1, len(ys) // 10)
        smooth = [statistics.fmean(ys[max(0, i - w + 1): i + 1]) for i in range(len(ys))]
        ax.plot(xs, ys, alpha=0.3)
        ax.plot(xs, smooth, label=f"{key} (moving avg {w})")
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _read_before(out: Path) -> HeldOutSummary | None:
    """The ``before`` evaluation an earlier (interrupted) run of this job wrote, if any."""
    try:
        before = json.loads((out / "summary.json").read_text()).get("before")
        return HeldOutSummary.model_validate(before) if before else None
    except (OSError, ValueError, AttributeError):
        return None


def _latest_checkpoint(out: Path) -> str | None:
    ckpts = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    return str(ckpts[-1]) if ckpts else None


def build_rollout(config: TrainConfig, source: EnvSource | None = None) -> AgentRollout:
    if source is not None:
        max_turns = source.max_turns
    else:
        max_turns = config.env.max_turns or make(config.env.id, **config.env.kwargs).spec.max_turns
    return AgentRollout(
        config.env.id, config.env.kwargs, max_turns=max_turns, env_factory=source.factory() if source else None,
        shaping=config.reward.build(), algo=config.algo,
        arpo=config.arpo, horizon=config.horizon, replay=config.replay, max_new_tokens=config.rollout.max_new_tokens,
        max_completion_length=config.max_completion_length, seed=config.seed,
    )


def task_split(config: TrainConfig, source: EnvSource | None = None) -> SplitResult:
    """Training and held-out seeds of ``config.tasks`` (disjoint by task unless ``split: seed``)."""
    factory = source.factory() if source else (
        lambda: make(config.env.id, max_turns=config.env_max_turns(), **config.env.kwargs))
    start, stop = config.tasks.eval_seeds
    return split_tasks(factory, range(*config.tasks.train_seeds), start, stop - start, split=config.tasks.split,
                       held_out=config.tasks.held_out)


def check_shaping_channels(config: TrainConfig, source: EnvSource | None = None) -> None:
    """Before anything loads: the shaping's step channels exist in the env (one oracle episode shows them)."""
    shaping = config.reward.build()
    if shaping is None or not shaping.step_channels():
        return
    env = source.factory()() if source else make(config.env.id, max_turns=config.env_max_turns(), **config.env.kwargs)
    names = asyncio.run(emitted_channels(env, seed=config.tasks.train_seeds[0]))
    if names is not None:
        shaping.check_channels(names, env_id=f"`{config.env.id}` (over an oracle episode)")


def train(config: TrainConfig, *, resume: bool = False, model: Any = None, tokenizer: Any = None,
          progress: bool = True, verbose: bool = False) -> TrainSummary:
    """Runs one training job described by ``config``; returns the summary written to ``summary.json``.

    Envs come from :class:`~agentgym.trainers.env_source.EnvSource`: this process, ``env.remote``
    (an ``agentgym serve`` URL) or ``executor: ray``."""
    with EnvSource(config) as source:
        return _train(config, source, resume=resume, model=model, tokenizer=tokenizer, progress=progress,
                      verbose=verbose)


def _train(config: TrainConfig, source: EnvSource, *, resume: bool, model: Any, tokenizer: Any, progress: bool,
           verbose: bool) -> TrainSummary:
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    check_shaping_channels(config, source)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(config.model_dump_json(indent=2) + "\n")
    args = config.grpo_args()
    args.disable_tqdm = not progress
    path = None
    if model is None:
        model, tokenizer, path = load_model(config)
    check_chat_template(tokenizer)  # before the first (evaluation) episode, with the fix named
    rollout = build_rollout(config, source)
    temperature = config.eval.temperature if config.eval.temperature is not None else args.temperature
    eval_kw = dict(max_turns=rollout.turns_at(10**9), temperature=temperature,
                   max_new_tokens=config.rollout.max_new_tokens, max_completion_length=config.max_completion_length,
                   env_factory=source.factory())
    split = task_split(config, source)
    seeds = split.eval_seeds
    summary = TrainSummary(env=config.env.id, algo=config.algo, model=path or "in-memory",
                           reward_shaping=config.reward.shaping, tasks=split.summary())
    checkpoint = _latest_checkpoint(out) if resume else None
    previous = _read_before(out) if checkpoint else None
    if previous is not None:
        summary.before = previous  # measured before the first training step, kept across resumes
    elif config.eval.before and not checkpoint:
        summary.before = evaluate(model, tokenizer, config.env.id, config.env.kwargs, seeds, **eval_kw,
                                  stage="eval before" if progress else None)
        summary.write(out / "summary.json")  # a resume finds it here
    trainer_cls = make_trainer_class()
    trainer_cls.attribution = config.arpo.attribution if config.algo == "arpo" else "soft"
    trainer = trainer_cls(
        model=model, reward_funcs=[episode_return], args=args, train_dataset=task_dataset(split.train_seeds),
        processing_class=tokenizer, rollout_func=rollout,
        callbacks=[metrics_callback(out / "metrics.jsonl"), rollout_state_callback(rollout), lr_schedule_callback()],
    )
    if not verbose:  # one bar with the figures that matter; TRL's per-step dicts go to train.log
        use_train_progress(trainer, out / "train.log", stage=config.algo.upper(), enabled=progress)
    if resume and checkpoint is None:
        print(f"--resume: no checkpoint in {out}; starting from scratch")
    if checkpoint is not None:
        load_rollout_state(rollout, checkpoint)  # replay buffer and the rollout's RNG (ARPO branching)
    result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))
    if config.eval.after:
        summary.after = evaluate(trainer.model, tokenizer, config.env.id, config.env.kwargs, seeds, **eval_kw,
                                 trajectories=out / "trajectories.jsonl", stage="eval after" if progress else None)
    summary.train = TrainStats(steps=trainer.state.global_step, runtime_s=result.metrics.get("train_runtime"),
                               replayed=rollout.replay.replayed if rollout.replay else 0)
    plot_learning_curve(out / "metrics.jsonl", out / "learning_curve.png", title=f"{config.algo} on {config.env.id}")
    summary.write(out / "summary.json")
    finish_run(out)  # README.md (agentgym's report, replacing TRL's model card) and report.html
    return summary


check_env = check_shaping_channels  # deprecated name (not agentgym.testing.check_env, the env conformance check)


__all__ = ["train", "check_shaping_channels", "evaluate", "load_model", "plot_learning_curve", "metrics_callback", "build_rollout", "task_split"]
