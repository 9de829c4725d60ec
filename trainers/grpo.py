"""Multi-turn GRPO on TRL: an agentgym ``rollout_func`` and a ``GRPOTrainer`` subclass.

TRL hands the rollout function each task's prompt repeated ``num_generations`` times; the
prompt is an agentgym *task key* (``task_prompt(seed)``), so the group's episodes all start
from the identical env state (same task, same seed). Each episode is played turn by turn
with token-in/token-out generation; env tokens get ``env_mask = 0`` and logprob 0 (TRL
multiplies its loss mask by ``env_mask``). The episode return (shaped by G-RA/D-RA when
configured), success, channels and ``error`` reach reward functions as keyword arguments.

An episode that ended in an error is an infrastructure failure, not a policy's reward 0:
:class:`AgentGRPOTrainer` gives it reward NaN, which TRL leaves out of the group's mean and
std (advantage 0), and its tokens are masked out of the loss. The KL reference (``beta > 0``)
is a copy of the policy as it is when the trainer is built (e.g. after an in-memory SFT),
not the weights on disk; the chat template is checked for prefix preservation up front.

    rollout = AgentRollout(env_id="toy/maze", env_kwargs={"size": 2}, max_turns=6)
    trainer = AgentGRPOTrainer(model, reward_funcs=[episode_return], args=grpo_args,
                               train_dataset=task_dataset(range(256)), processing_class=tokenizer,
                               rollout_func=rollout)
    trainer.train()
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import warnings
from typing import Any, Callable, Sequence

from agentgym.registry import make

from .arpo import ArpoConfig, apply_hard_attribution, arpo_rollout
from .episodes import EpisodeRecord, EpisodeStart, Sampler, play_episodes
from .gated import OUTCOME, GatedReward, shape_episode
from .grpo_parts import check_trl_internals, exclude_errored, quiet_unscorable, reference_is_policy
from .schedule import HorizonSchedule, ReplayBuffer, ReplayConfig, replay_old_logprobs
from .templates import check_chat_template
from .vllm import VLLMSampler

TASK_PREFIX = "agentgym-task "


def task_prompt(seed: int | None, task: Any = None) -> list[dict[str, str]]:
    """The dataset prompt naming one task (TRL passes prompts, not rows, to ``rollout_func``)."""
    return [{"role": "user", "content": TASK_PREFIX + json.dumps({"seed": seed, "task": task})}]


def parse_task_prompt(prompt: Any) -> tuple[int | None, Any]:
    text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
    if not text.startswith(TASK_PREFIX):
        raise ValueError(f"not an agentgym task prompt (build the dataset with task_dataset()): {text[:80]!r}")
    data = json.loads(text[len(TASK_PREFIX):])
    return data["seed"], data["task"]


def task_dataset(seeds: Sequence[int]):
    """A ``datasets.Dataset`` with one task-key prompt per seed."""
    from datasets import Dataset

    return Dataset.from_dict({"prompt": [task_prompt(s) for s in seeds], "seed": list(seeds)})


def episode_return(completions: list, episode_return: list[float], error: list[str | None] | None = None,
                   **kwargs: Any) -> list[float | None]:
    """Reward function: the (shaped) episode return computed during the rollout.

    An episode that ended in an error (env crash, sandbox gone) gets ``None``: TRL then leaves
    it out of its group's mean and std and gives it advantage 0 (its tokens are masked too).
    Custom reward functions receive the same per-row ``error`` keyword.
    """
    errors = error if error is not None else [None] * len(episode_return)
    return [None if e else float(r) for r, e in zip(episode_return, errors)]


class AgentRollout:
    """TRL ``rollout_func``: plays each group of episodes on an agentgym env.

    Args:
        env_id / env_kwargs: the registered env and its constructor arguments (or ``env_factory``).
        max_turns: turn limit per episode (``horizon`` overrides it by training step).
        shaping: a :class:`GatedReward` / D-RA rule, or None for the env's reward.
        algo: ``grpo`` (independent samples) or ``arpo`` (entropy-triggered branching).
        arpo: ARPO settings (``budget`` must equal ``num_generations``).
        replay: replay-buffer settings for all-failed groups.
        max_new_tokens: generation budget per turn.
        max_completion_length: budget of the whole episode after the first prompt.
    """

    def __init__(
        self, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None, *, max_turns: int = 10,
        env_factory: Callable[[], Any] | None = None, shaping: GatedReward | None = None, algo: str = "grpo",
        arpo: ArpoConfig | None = None, horizon: HorizonSchedule | None = None, replay: ReplayConfig | None = None,
        max_new_tokens: int = 64, max_completion_length: int | None = None, seed: int = 0,
    ):
        if env_factory is None and env_id is None:
            raise ValueError("AgentRollout needs env_id or env_factory")
        kwargs = dict(env_kwargs or {})
        self.env_factory = env_factory or (lambda: make(env_id, max_turns=max_turns, **kwargs))
        self.max_turns, self.shaping, self.algo = max_turns, shaping, algo
        self.arpo = arpo or ArpoConfig()
        self.horizon = horizon
        self.replay = ReplayBuffer(replay) if replay is not None and replay.enabled else None
        self.max_new_tokens, self.max_completion_length = max_new_tokens, max_completion_length
        self.rng = random.Random(seed)
        self.last_records: list[EpisodeRecord] = []
        self.last_nodes: list[list[int]] | None = None
        self.history: list[dict[str, float]] = []
        self._channels_checked = False

    def turns_at(self, step: int) -> int:
        return self.horizon.max_turns(step) if self.horizon else self.max_turns

    def __call__(self, prompts: list, trainer: Any) -> dict[str, list]:
        n = trainer.num_generations
        if self.algo == "arpo" and self.arpo.budget != n:
            raise ValueError(f"arpo.budget (M={self.arpo.budget}) must equal the trainer's num_generations ({n}): "
                             "ARPO returns exactly M completions per task and TRL groups them by num_generations")
        generator = self.generator_for(trainer)
        budget = self.max_completion_length or trainer.max_completion_length
        step = trainer.state.global_step
        records = self.collect(generator, prompts, n, max_turns=self.turns_at(step), max_completion_length=budget)
        out = self.to_trl(records)
        for name, value in self.metrics(records).items():
            trainer._log_metric(f"agentgym/{name}", value)
        self.history.append({"step": step, **self.metrics(records)})
        return out

    def generator_for(self, trainer: Any) -> Sampler | VLLMSampler:
        """transformers ``generate`` on the training model with exactly the trainer's sampling settings, or TRL's
        vLLM backend when ``use_vllm`` (which samples with TRL's own settings)."""
        model = trainer.accelerator.unwrap_model(trainer.model)
        if getattr(trainer, "use_vllm", False):
            return VLLMSampler(trainer.vllm_generation, trainer.processing_class, max_new_tokens=self.max_new_tokens,
                                 model=model, temperature=trainer.temperature)
        args = getattr(trainer, "args", None)
        return Sampler(model, trainer.processing_class, temperature=trainer.temperature, top_p=trainer.top_p,
                         max_new_tokens=self.max_new_tokens, top_k=getattr(trainer, "top_k", 0) or 0,
                         min_p=getattr(trainer, "min_p", None),
                         repetition_penalty=getattr(trainer, "repetition_penalty", 1.0),
                         generation_kwargs=getattr(args, "generation_kwargs", None))

    def collect(self, generator: Sampler | VLLMSampler, prompts: list, group_size: int, *, max_turns: int,
                max_completion_length: int) -> list[EpisodeRecord]:
        """Plays ``len(prompts)`` episodes (consecutive groups of ``group_size`` share a task)."""
        if len(prompts) % group_size:
            raise ValueError(f"{len(prompts)} prompts do not split into groups of {group_size}")
        starts = []
        for i in range(0, len(prompts), group_size):
            seed, task = parse_task_prompt(prompts[i])
            starts.append(EpisodeStart(self.env_factory, seed=seed, task=task, key=json.dumps([seed, task])))
        if self.algo == "arpo":
            groups, stats = asyncio.run(arpo_rollout(generator, starts, self.arpo, max_turns=max_turns,
                                                     max_completion_length=max_completion_length, rng=self.rng))
            self.arpo_stats = stats
        else:
            flat = asyncio.run(play_episodes(generator, [s for s in starts for _ in range(group_size)],
                                             max_turns=max_turns, max_completion_length=max_completion_length))
            groups = [flat[i:i + group_size] for i in range(0, len(flat), group_size)]
        out: list[EpisodeRecord] = []
        for start, group in zip(starts, groups):
            returns = [self.episode_return(r) for r in group]
            if self.replay is not None:
                group, returns = self.replay.fill(start.key, group, returns)
                self.replay.update(start.key, group, returns)
            for r, ret in zip(group, returns):
                r.shaped = ret
            out += group
        self.last_records = out
        self.last_nodes = [r.nodes for r in out]
        self._check_channels(out)
        return out

    def _check_channels(self, records: list[EpisodeRecord]) -> None:
        """Warns once when the shaping reads step channels that even successful episodes never emitted.

        Checked on the first batch with a success (a model that cannot play yet emits few channels).
        """
        solved = [r for r in records if r.success and not r.error]
        if self.shaping is None or self._channels_checked or not solved:
            return
        self._channels_checked = True
        seen = {name for r in records for step in r.channels for name in step}
        missing = [lv.channel for lv in self.shaping.levels if lv.channel != OUTCOME and lv.channel not in seen]
        if missing:
            warnings.warn(
                f"reward shaping reads step channel(s) {missing}, which no step of {len(records)} episodes "
                f"({len(solved)} solved) emitted (channels seen: {sorted(seen)}): those levels add nothing. Set "
                "reward.step_channel to one of the env's channels.", stacklevel=2)

    def episode_return(self, record: EpisodeRecord) -> float:
        if record.error:
            return 0.0
        return shape_episode(self.shaping, record.reward, record.channels, success=record.success)

    @staticmethod
    def to_trl(records: list[EpisodeRecord]) -> dict[str, list]:
        return {
            "prompt_ids": [r.prompt_ids for r in records],
            "completion_ids": [r.completion_ids for r in records],
            "logprobs": [r.logprobs for r in records],
            "env_mask": [r.env_mask for r in records],
            "episode_return": [r.reward if r.shaped is None else r.shaped for r in records],
            "env_reward": [r.reward for r in records],
            "success": [r.success for r in records],
            "turns": [r.turns for r in records],
            "channels": [json.dumps(r.channels) for r in records],
            "error": [r.error for r in records],  # None, or what went wrong (the row is out of baseline and loss)
        }

    @staticmethod
    def metrics(records: list[EpisodeRecord]) -> dict[str, float]:
        if not records:
            return {}
        return {
            "success": statistics.fmean(float(r.success) for r in records),
            "env_reward": statistics.fmean(r.reward for r in records),
            "return": statistics.fmean(r.reward if r.shaped is None else r.shaped for r in records),
            "turns": statistics.fmean(r.turns for r in records),
            "tool_calls": statistics.fmean(r.tool_calls for r in records),
            "errors": float(sum(r.error is not None for r in records)),
            "truncated": statistics.fmean(float(r.termination == "max_length") for r in records),
        }


def _trainer_base():
    from trl import GRPOTrainer

    check_trl_internals()  # a TRL whose private hooks changed fails here, saying what changed
    return GRPOTrainer


def make_trainer_class():
    """``AgentGRPOTrainer``: TRL's GRPOTrainer + ARPO hard advantage attribution (per-token advantages, shared
    spans counted once) + replayed rollouts trained against their stored sampling logprobs + errored episodes
    out of their group's baseline + the KL reference copied from the policy + the chat-template check.

    Built lazily so importing this module does not import TRL.
    """

    class AgentGRPOTrainer(_trainer_base()):
        attribution: str = "soft"

        def __init__(self, model: Any, *args: Any, **kwargs: Any):
            with reference_is_policy(model):  # beta > 0: the KL anchor is this policy now, not the weights on disk
                super().__init__(model, *args, **kwargs)
            if isinstance(self.rollout_func, AgentRollout):  # token-in/token-out needs a prefix-preserving template
                check_chat_template(getattr(self.processing_class, "tokenizer", self.processing_class))

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            errors = [x.get("error") for x in inputs]
            with quiet_unscorable(any(errors)):
                rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            return exclude_errored(rewards, errors, gather=self.accelerator.gather)  # out of baseline, advantage 0

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            nodes = getattr(self.rollout_func, "last_nodes", None)
            if self.attribution == "hard" and nodes is not None and len(nodes) == output["advantages"].shape[0]:
                apply_hard_attribution(output, nodes, gather=self.accelerator.gather)  # shared spans counted once
            records = getattr(self.rollout_func, "last_records", None) or []
            if len(records) == output["advantages"].shape[0]:  # replayed rows: ratio vs the policy that sampled them
                replay_old_logprobs(output, [getattr(r, "replayed", False) for r in records])
            return output

    return AgentGRPOTrainer


__all__ = ["AgentRollout", "task_prompt", "parse_task_prompt", "task_dataset", "episode_return", "make_trainer_class",
           "TASK_PREFIX"]
