"""Config validation before training, the `agentgym train` subcommand, horizon schedule and replay buffer."""

from pathlib import Path

import pytest
import yaml

import agentgym

from agentgym.errors import ConfigError
from agentgym.cli import main
from agentgym.trainers.config import load_config
from agentgym.trainers.schedule import HorizonSchedule, ReplayBuffer, ReplayConfig
from train_smoke import train_cli

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
BASE = {"env": {"id": "toy/maze", "kwargs": {"size": 2}}, "model": {"path": "x"},
        "trl": {"num_generations": 4, "per_device_train_batch_size": 8}}


def test_every_example_config_validates():
    files = sorted(CONFIGS.glob("*.yaml"))
    assert len(files) >= 10
    for f in files:
        gpu = f.stem.endswith("-gpu")  # bf16/GPU settings are checked by TRL on a GPU machine only
        cfg = load_config(f, build_trl=not gpu)
        agentgym.spec(cfg.env.id)  # every example trains on a registered env
        args = cfg.grpo_args(build=not gpu)
        assert (args["num_generations"] if gpu else args.num_generations) >= 2, f


def test_unknown_keys_name_the_field():
    with pytest.raises(ConfigError, match="lerning_rate.*did you mean `trl.learning_rate`"):
        load_config({**BASE, "trl": {**BASE["trl"], "lerning_rate": 1e-3}})
    with pytest.raises(ConfigError, match="`rollout.max_tokens`"):
        load_config({**BASE, "rollout": {"max_tokens": 3}})
    with pytest.raises(ConfigError, match="`algorithm`"):
        load_config({**BASE, "algorithm": "grpo"})


def test_inconsistent_sizes_fail_before_training():
    with pytest.raises(ConfigError, match="not divisible by `trl.num_generations` \\(3\\)"):
        load_config({**BASE, "trl": {"num_generations": 3, "per_device_train_batch_size": 8}})
    with pytest.raises(ConfigError, match="must equal `arpo.budget`"):
        load_config({**BASE, "algo": "arpo", "arpo": {"budget": 8, "initial": 4}})
    with pytest.raises(ConfigError, match="model"):
        load_config({"env": {"id": "toy/maze"}})


def test_dotted_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(BASE))
    cfg = load_config(f, ["trl.max_steps=7", "reward.shaping=dra", "env.kwargs.size=3"])
    assert cfg.trl["max_steps"] == 7 and cfg.reward.shaping == "dra" and cfg.env.kwargs["size"] == 3
    with pytest.raises(ConfigError, match="key.sub=value"):
        load_config(f, ["trl.max_steps"])


def test_horizon_schedule_is_a_function_of_the_step():
    h = HorizonSchedule(rounds=[4, 6, 8], every=10)
    assert [h.max_turns(s) for s in (0, 9, 10, 25, 1000)] == [4, 4, 6, 8, 8]


def test_replay_buffer_rescues_all_failed_groups():
    buf = ReplayBuffer(ReplayConfig(enabled=True, capacity=2))
    buf.update("t", ["a", "b", "c"], [0.0, 1.0, 0.05])   # only 'b' is a success worth keeping
    group, rewards = buf.fill("t", ["x", "y", "z"], [0.0, 0.0, 0.0])
    assert group == ["b", "y", "z"] and rewards == [1.0, 0.0, 0.0] and buf.replayed == 1
    assert buf.fill("t", ["x", "y"], [1.0, 0.0]) == (["x", "y"], [1.0, 0.0])   # a mixed group is left alone
    assert buf.fill("other", ["x"], [0.0]) == (["x"], [0.0])
    buf.update("t", ["d", "e"], [0.9, 0.8])
    assert [i for i, _ in buf.store["t"]] == ["d", "e"]                    # FIFO of capacity 2


def test_cli_trains_resumes_and_writes_the_run_directory(tiny_dir, tmp_path, capsys):
    out = tmp_path / "run"
    cfg = {"algo": "grpo", "output_dir": str(out), "model": {"path": str(tiny_dir)},
           "env": {"id": "toy/maze", "kwargs": {"size": 2}, "max_turns": 2},
           "tasks": {"train_seeds": [0, 50], "eval_seeds": [900, 904]},
           "rollout": {"max_new_tokens": 12, "max_completion_length": 96},
           "reward": {"shaping": "gated"}, "replay": {"enabled": True},
           "trl": {"num_generations": 2, "per_device_train_batch_size": 4, "max_steps": 2, "save_steps": 1,
                   "max_completion_length": 96}}
    summary, trained = train_cli(cfg, tmp_path)
    assert summary["train"]["steps"] == 2 and summary["before"]["episodes"] == 4 and trained
    assert (out / "learning_curve.png").stat().st_size > 1000
    assert (out / "checkpoint-2").is_dir() and (out / "model" / "config.json").exists()
    summary, _ = train_cli(cfg, tmp_path, "--resume", "--set", "trl.max_steps=3")
    assert summary["train"]["steps"] == 3
    assert main(["train", str(tmp_path / "train.yaml"), "--set", "trl.num_generations=3"]) == 2
    assert "num_generations" in capsys.readouterr().err
