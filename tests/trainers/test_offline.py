"""Training from a saved eval run of a local model: the tokens in trajectories.jsonl are enough for GRPO."""

import json

import pytest

import agentgym
from agentgym.policies.hf import HFPolicy
from agentgym.rundir import load_trajectories
from agentgym.trainers.grpo import episode_return, make_trainer_class
from agentgym.trainers.offline import SavedRollout


def _args(tmp_path):
    from trl import GRPOConfig

    return GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, report_to="none", num_generations=4,
                      per_device_train_batch_size=4, max_completion_length=96, max_steps=2, temperature=1.0,
                      learning_rate=5e-3, save_strategy="no", remove_unused_columns=False, disable_tqdm=True,
                      logging_steps=1, seed=0)


def test_a_trainer_trains_from_a_saved_eval_run(tiny_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tok = AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
    torch.manual_seed(0)
    run = tmp_path / "eval"
    summary = agentgym.run("toy/maze", HFPolicy(model, tok, max_new_tokens=16, temperature=1.0), seeds=[0] * 4 + [1] * 4,
                           max_turns=2, out=run, progress=False, env_kwargs={"size": 2})
    assert summary.episodes == 8 and summary.errors == 0
    raw = [json.loads(line) for line in (run / "trajectories.jsonl").read_text().splitlines()]
    assert all(r["schema_version"] == 2 and r["prompt_ids"] and len(r["tokens"]) == r["turns"] for r in raw)
    assert all(m.get("tokens") is None for r in raw for m in r["messages"])  # each token stored once, per turn

    trajs = load_trajectories(run / "trajectories.jsonl")
    rollout = SavedRollout(trajs)
    served = []

    def reward(completions, completion_ids, episode_return, **kw):  # the untrained model never wins: vary it
        served.extend(completion_ids)
        return [float(r) + i % 2 for i, r in enumerate(episode_return)]

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = make_trainer_class()(model=model, reward_funcs=[reward], args=_args(tmp_path),
                                   train_dataset=rollout.dataset(), processing_class=tok, rollout_func=rollout)
    trainer.train()
    # TRL trained on exactly the saved completions (the file's tokens), not on fresh samples
    saved = {tuple(t.token_view().completion_ids) for t in trajs}
    assert served and {tuple(c) for c in served} <= saved
    moved = sum(float((p.detach() - before[n]).abs().sum()) for n, p in model.named_parameters())
    assert moved > 0


def test_saved_rollout_refuses_trajectories_without_tokens():
    traj = agentgym.Trajectory(env_id="toy/maze", seed=0, messages=[agentgym.Message.user("hi")])
    with pytest.raises(ValueError, match="no token records.*HFPolicy"):
        SavedRollout([traj])
    assert episode_return([None], [1.0], [None]) == [1.0]
