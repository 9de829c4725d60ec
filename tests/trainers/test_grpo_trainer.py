"""AgentGRPOTrainer on a real TRL step: errored episodes out of the baseline, the KL reference, the template check."""

import pytest

from agentgym.env import Env
from agentgym.errors import ConfigError
from agentgym.types import EnvSpec, Message, StepResult
from agentgym.trainers.grpo import AgentRollout, episode_return, make_trainer_class, task_dataset


class AlwaysWins(Env):
    """Any action solves the task; the instance numbered ``crash_at`` crashes on its first step (an infra error)."""

    spec = EnvSpec(id="test/always-wins", max_turns=2)
    built = 0
    crash_at = -1

    def __init__(self):
        self.number = AlwaysWins.built
        AlwaysWins.built += 1

    async def _reset(self, *, seed, task):
        return "Say anything."

    async def _step(self, action: Message) -> StepResult:
        if self.number == AlwaysWins.crash_at:
            raise RuntimeError("sandbox died")
        return StepResult(messages=[Message.user("You win.")], reward=1.0, done=True, success=True)


def grpo_args(tmp_path, **kw):
    from trl import GRPOConfig

    base = dict(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, report_to="none", num_generations=8,
                per_device_train_batch_size=8, max_completion_length=48, max_steps=1, temperature=1.0,
                save_strategy="no", remove_unused_columns=False, disable_tqdm=True, logging_steps=1, seed=0)
    return GRPOConfig(**{**base, **kw})


def group_of(trainer):
    """One task's rows, repeated num_generations times as TRL's sampler does (distinct dicts)."""
    return [dict(trainer.train_dataset[0]) for _ in range(8)]


def load(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)


def test_an_errored_episode_is_out_of_its_groups_baseline_and_its_loss(tiny_dir, tmp_path):
    model, tok = load(tiny_dir)
    seen = {}

    def reward(completions, episode_return, error, **kw):
        seen["error"] = list(error)
        return [None if e else float(r) for r, e in zip(episode_return, error)]

    AlwaysWins.built, AlwaysWins.crash_at = 0, 2
    rollout = AgentRollout(env_factory=AlwaysWins, max_turns=2, max_new_tokens=8)
    for reward_funcs in ([episode_return], [reward]):
        AlwaysWins.built = 0
        trainer = make_trainer_class()(model=model, reward_funcs=reward_funcs, args=grpo_args(tmp_path),
                                       train_dataset=task_dataset(range(4)), processing_class=tok, rollout_func=rollout)
        out = trainer._generate_and_score_completions(group_of(trainer))
        assert out["advantages"].tolist() == [0.0] * 8  # 7 wins and an infra error: nothing to learn, no +0.5
        loss_mask = out["completion_mask"] * out["tool_mask"]
        assert loss_mask[2].sum() == 0 and all(loss_mask[i].sum() > 0 for i in range(8) if i != 2)
    assert seen["error"][2] == "RuntimeError: sandbox died"
    assert [e for i, e in enumerate(seen["error"]) if i != 2] == [None] * 7

    # a reward function that ignores `error` (returns a number for the errored row) cannot pull it back in
    AlwaysWins.built = 0
    trainer = make_trainer_class()(model=model, reward_funcs=[lambda completions, **kw: [1.0] * len(completions)],
                                   args=grpo_args(tmp_path), train_dataset=task_dataset(range(4)),
                                   processing_class=tok, rollout_func=rollout)
    assert trainer._generate_and_score_completions(group_of(trainer))["advantages"].tolist() == [0.0] * 8


def test_an_errored_episode_does_not_shift_a_mixed_groups_advantages(tiny_dir, tmp_path):
    """Half the group wins: with the errored row excluded, winners and losers get ±1 (as in a clean group of 7)."""
    model, tok = load(tiny_dir)

    def half(completions, episode_return, error, **kw):
        return [0.0 if i % 2 else 1.0 for i in range(len(completions))]

    AlwaysWins.built, AlwaysWins.crash_at = 0, 2
    trainer = make_trainer_class()(model=model, reward_funcs=[half], args=grpo_args(tmp_path, scale_rewards="none"),
                                   train_dataset=task_dataset(range(4)), processing_class=tok,
                                   rollout_func=AgentRollout(env_factory=AlwaysWins, max_turns=2, max_new_tokens=8))
    adv = trainer._generate_and_score_completions(group_of(trainer))["advantages"].tolist()
    mean = 3 / 7  # rows 0, 4, 6 win; rows 1, 3, 5, 7 lose; row 2 errored
    assert adv[2] == 0.0
    assert adv[0] == pytest.approx(1 - mean) and adv[1] == pytest.approx(-mean)


def test_the_kl_reference_is_the_policy_at_the_start_of_rl_not_the_weights_on_disk(tiny_dir, tmp_path):
    import torch

    model, tok = load(tiny_dir)
    with torch.no_grad():  # e.g. the demo's in-memory SFT
        for p in model.parameters():
            p.add_(0.01)
    trainer = make_trainer_class()(model=model, reward_funcs=[episode_return], args=grpo_args(tmp_path, beta=0.04),
                                   train_dataset=task_dataset(range(4)), processing_class=tok,
                                   rollout_func=AgentRollout("toy/maze", {"size": 2}, max_turns=2, max_new_tokens=8))
    ref = trainer.accelerator.unwrap_model(trainer.ref_model)
    policy = dict(trainer.accelerator.unwrap_model(trainer.model).named_parameters())
    for name, p in ref.named_parameters():
        assert torch.equal(p, policy[name].detach()), name
        assert not p.requires_grad
    assert ref is not trainer.accelerator.unwrap_model(trainer.model)


def test_a_template_that_rewrites_history_is_refused_before_training(tiny_dir, tmp_path):
    from test_episodes import DROP_OLD_THINK_TEMPLATE

    model, tok = load(tiny_dir)
    tok.chat_template = DROP_OLD_THINK_TEMPLATE
    rollout = AgentRollout("toy/maze", {"size": 2}, max_turns=2, max_new_tokens=8)
    with pytest.raises(ConfigError, match="not prefix-preserving.*<think>"):
        make_trainer_class()(model=model, reward_funcs=[episode_return], args=grpo_args(tmp_path),
                             train_dataset=task_dataset(range(4)), processing_class=tok, rollout_func=rollout)
    assert rollout.history == []  # no episode was played


def test_qwen3s_template_is_refused_naming_trls_training_template(tiny_dir):
    from pathlib import Path

    import trl

    from agentgym.trainers.templates import check_chat_template

    _, tok = load(tiny_dir)
    templates = Path(trl.__file__).parent / "chat_templates"
    tok.chat_template = (templates / "qwen3.jinja").read_text()
    with pytest.raises(ConfigError, match=r"qwen3_training\.jinja.*get_training_chat_template"):
        check_chat_template(tok)
    tok.chat_template = (templates / "qwen3_training.jinja").read_text()
    check_chat_template(tok)  # TRL's training template keeps earlier <think> blocks: accepted
    _, ours = load(tiny_dir)
    check_chat_template(ours)


def test_train_refuses_a_history_rewriting_template_before_its_first_episode(tiny_dir, tmp_path, monkeypatch):
    from test_episodes import DROP_OLD_THINK_TEMPLATE

    from agentgym.trainers import training as run
    from agentgym.trainers.config import load_config

    played = []
    monkeypatch.setattr(run, "evaluate", lambda *a, **k: played.append(a) or {})
    model, tok = load(tiny_dir)
    tok.chat_template = DROP_OLD_THINK_TEMPLATE
    config = load_config({"env": {"id": "toy/maze", "kwargs": {"size": 2}}, "model": {"path": str(tiny_dir)},
                          "output_dir": str(tmp_path / "run"),
                          "trl": {"num_generations": 4, "per_device_train_batch_size": 8, "max_steps": 1}})
    with pytest.raises(ConfigError, match="not prefix-preserving"):
        run.train(config, model=model, tokenizer=tok, progress=False)
    assert played == []  # refused before the 'before' evaluation
