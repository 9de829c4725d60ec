"""Held-out evaluation means held-out tasks: splits are disjoint by task fingerprint, not only by seed."""

import agentgym


def _maze():
    return agentgym.make("toy/maze", size=2, max_turns=6)


def test_seed_ranges_alone_share_tasks_but_the_task_split_does_not():
    from agentgym.trainers.tasks import fingerprints, split_tasks

    train_fps = set(fingerprints(_maze, range(0, 2000)))
    old_eval = set(fingerprints(_maze, range(100_000, 100_064)))
    assert len(train_fps) == 16 and old_eval <= train_fps  # size 2: 16 mazes; "held-out seeds" are all seen
    split = split_tasks(_maze, range(0, 2000), 100_000, 64)
    assert len(split.eval_seeds) == 64 and split.eval_tasks >= 1 and split.shared_tasks == 0
    assert not set(fingerprints(_maze, split.eval_seeds)) & set(fingerprints(_maze, split.train_seeds))
    assert split.train_tasks + split.eval_tasks <= 16 and split.train_tasks >= 8


def test_training_run_reports_disjoint_task_counts():
    from agentgym.trainers.config import load_config
    from agentgym.trainers.run import task_split

    cfg = load_config({"env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 6}, "model": {"path": "x"},
                       "tasks": {"train_seeds": [0, 500], "eval_seeds": [100_000, 100_032]},
                       "trl": {"num_generations": 4, "per_device_train_batch_size": 8}}, build_trl=False)
    summary = task_split(cfg).summary()
    assert summary["split"] == "task" and summary["eval_episodes"] == 32 and summary["shared_tasks"] == 0
    seed_split = task_split(load_config({**cfg.model_dump(), "tasks": {"train_seeds": [0, 500], "split": "seed",
                                                                        "eval_seeds": [100_000, 100_032]}},
                                        build_trl=False)).summary()
    assert seed_split["shared_tasks"] is None and seed_split["eval_tasks"] >= 1  # counted, not checked


def test_lamps_has_enough_distinct_tasks_for_a_real_held_out_split():
    from agentgym.trainers.demo_env import register_envs
    from agentgym.trainers.tasks import fingerprints, split_tasks

    register_envs()
    lamps = lambda: agentgym.make("demo/lamps", max_turns=3)  # noqa: E731
    assert len(set(fingerprints(lamps, range(2000)))) > 1000
    split = split_tasks(lamps, range(0, 4000), 1_000_000, 128)
    assert split.shared_tasks == 0 and split.eval_tasks > 100


def test_evaluate_reports_distinct_tasks(tiny):
    from agentgym.trainers.run import evaluate

    model, tok = tiny
    r = evaluate(model, tok, "toy/maze", {"size": 2}, range(40), max_turns=1, max_new_tokens=4,
                 max_completion_length=32)
    assert r["episodes"] == 40 and 1 <= r["distinct_tasks"] <= 16
