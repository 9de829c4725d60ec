"""Replayed rollouts (ARPO-GUI) are trained against the logprobs of the policy that sampled them."""

import pytest


def test_replayed_rows_use_their_stored_sampling_logprobs(tiny_dir, tmp_path, monkeypatch):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from agentgym.trainers import grpo
    from agentgym.trainers.config import CPU_TRL_DEFAULTS
    from agentgym.trainers.episodes import EpisodeRecord

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    torch.manual_seed(0)
    model, tok = AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)
    prompt = tok.encode("You are in a maze.", add_special_tokens=False)
    words = ("move east", "look", "move west", "move north")
    completions = [tok.encode(w, add_special_tokens=False) for w in words]
    stored = [-3.0, -0.25, -1.5, -0.75]  # what an older policy assigned (the replayed row 0) / fresh sampling (others)
    records = [EpisodeRecord(prompt_ids=prompt, completion_ids=ids, logprobs=[lp] * len(ids), env_mask=[1] * len(ids),
                             nodes=[i] * len(ids)) for i, (ids, lp) in enumerate(zip(completions, stored))]
    records[0].replayed = True  # as ReplayBuffer.fill marks it

    class CannedRollout:
        last_records = records
        last_nodes = None

        def __call__(self, prompts, trainer):
            return {"prompt_ids": [r.prompt_ids for r in records], "completion_ids": [r.completion_ids for r in records],
                    "logprobs": [r.logprobs for r in records], "env_mask": [r.env_mask for r in records],
                    "episode_return": [1.0, 0.0, 0.0, 0.0]}

    args = GRPOConfig(**{**CPU_TRL_DEFAULTS, "save_strategy": "no", "output_dir": str(tmp_path / "run"),
                         "num_generations": 4, "per_device_train_batch_size": 4, "max_steps": 1,
                         "max_completion_length": 32, "beta": 0.0, "disable_tqdm": True})
    trainer = grpo.make_trainer_class()(model=model, reward_funcs=[grpo.episode_return], args=args,
                                        processing_class=tok, train_dataset=grpo.task_dataset(range(4)),
                                        rollout_func=CannedRollout())
    out = trainer._generate_and_score_completions([{"prompt": grpo.task_prompt(0)} for _ in range(4)])
    old = out.get("old_per_token_logps")
    assert old is not None, "replayed rows are trained with an importance ratio of 1"
    n = len(completions[0])
    assert torch.allclose(old[0, :n], torch.full((n,), -3.0))
    # the ratio of the replayed row is π_now / π_then, far from 1 for these tokens
    now, _, _ = trainer._get_per_token_logps_and_entropies(
        model, torch.cat([out["prompt_ids"], out["completion_ids"]], 1),
        torch.cat([out["prompt_mask"], out["completion_mask"]], 1), out["completion_ids"].shape[1], batch_size=4)
    ratio = torch.exp(now[0, :n] - old[0, :n])
    assert (ratio - 1).abs().max() > 0.1
    for i in range(1, 4):  # fresh rows: their own sampling logprobs (same policy)
        m = len(completions[i])
        assert torch.allclose(old[i, :m], torch.full((m,), stored[i]))


def test_fill_marks_the_replayed_rollout():
    from agentgym.trainers.schedule import ReplayBuffer

    class Item:
        pass

    buf, win = ReplayBuffer(), Item()
    buf.update("t", [win], [1.0])
    group, _ = buf.fill("t", [Item(), Item()], [0.0, 0.0])
    assert group[0] is win and win.replayed and not getattr(group[1], "replayed", False)
