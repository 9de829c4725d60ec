"""Resume is safe: a run directory only ever holds episodes of one configuration."""

import json

import pytest

import agentgym
from agentgym.cli import main
from agentgym.engine import arun, load_trajectories
from agentgym.errors import ConfigError
from agentgym.policies.simple import NoopPolicy, OraclePolicy, RandomPolicy
from agentgym.registry import _unregister


@pytest.fixture
def run_dir(tmp_path):
    """A finished 4-episode oracle run of toy/maze size 2, seeds 0..3."""
    out = tmp_path / "run"
    agentgym.run("toy/maze", OraclePolicy(), episodes=4, out=out, progress=False, env_kwargs={"size": 2})
    return out


def _snapshot(out):
    return {name: (out / name).read_bytes() for name in ("config.json", "trajectories.jsonl", "summary.json")}


@pytest.mark.parametrize("change, message", [
    (dict(env_kwargs={"size": 3}), "run dir was made with env_args {'size': 2}; this run has {'size': 3}"),
    (dict(policy=RandomPolicy(seed=0)), "model 'oracle'; this run has 'random'"),
    (dict(policy=NoopPolicy()), "policy 'OraclePolicy'; this run has 'NoopPolicy'"),
    (dict(seed=10), "seeds 0..3; this run has 10..13"),
    (dict(env_kwargs={"size": 2, "format": "tags"}), "format 'openai'; this run has 'tags'"),
    (dict(max_turns=5), "max_turns None; this run has 5"),
    (dict(env="test/maze-twin"), "env 'toy/maze'; this run has 'test/maze-twin'"),
])
def test_resume_refuses_other_settings_naming_the_difference(run_dir, change, message):
    agentgym.register("test/maze-twin", "agentgym.envs.maze:MazeEnv", override=True)
    before = _snapshot(run_dir)
    kwargs = dict(env="toy/maze", policy=OraclePolicy(), episodes=4, env_kwargs={"size": 2})
    kwargs.update(change)
    env, policy = kwargs.pop("env"), kwargs.pop("policy")
    try:
        with pytest.raises(ConfigError) as info:
            agentgym.run(env, policy, out=run_dir, resume=True, progress=False, **kwargs)
    finally:
        _unregister("test/maze-twin")
    assert message in str(info.value), str(info.value)
    assert "--out" in str(info.value)
    assert _snapshot(run_dir) == before  # nothing rewritten, config.json least of all


def test_resume_refuses_to_shrink(run_dir):
    before = _snapshot(run_dir)
    with pytest.raises(ConfigError, match=r"holds 4 episodes.*episodes=2 would drop 2"):
        agentgym.run("toy/maze", OraclePolicy(), episodes=2, out=run_dir, resume=True, progress=False,
                     env_kwargs={"size": 2})
    assert _snapshot(run_dir) == before


def test_resume_extends_to_the_new_total_and_config_follows(run_dir):
    s = agentgym.run("toy/maze", OraclePolicy(), episodes=6, out=run_dir, resume=True, progress=False,
                     env_kwargs={"size": 2})
    assert s.episodes == 6 and s.success_rate == 1.0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["seeds"] == list(range(6)) and config["env_kwargs"] == {"size": 2}
    assert sorted(t.seed for t in load_trajectories(run_dir / "trajectories.jsonl")) == list(range(6))


def test_resume_without_episodes_or_seed_continues_the_saved_seeds(tmp_path):
    out = tmp_path / "run"
    agentgym.run("toy/maze", OraclePolicy(), episodes=3, seed=7, out=out, progress=False, env_kwargs={"size": 2})
    s = agentgym.run("toy/maze", OraclePolicy(), out=out, resume=True, progress=False, env_kwargs={"size": 2})
    assert s.episodes == 3
    assert json.loads((out / "config.json").read_text())["seeds"] == [7, 8, 9]


def test_resume_without_config_json_checks_the_trajectories(run_dir):
    (run_dir / "config.json").unlink()  # a run dir from an older agentgym, or a hand-made one
    with pytest.raises(ConfigError, match="seed"):
        agentgym.run("toy/maze", OraclePolicy(), episodes=4, seed=1, out=run_dir, resume=True, progress=False,
                     env_kwargs={"size": 2})
    assert not (run_dir / "config.json").exists()


async def test_resume_with_same_settings_keeps_config_and_records_run_settings(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    s = await arun("toy/maze", OraclePolicy(), episodes=4, out=run_dir, resume=True, progress=False,
                   env_kwargs={"size": 2}, concurrency=3, timeout=30)
    assert s.episodes == 4
    after = json.loads((run_dir / "config.json").read_text())
    assert {k: after[k] for k in config if k not in ("resumes",)} == config
    assert after["resumes"][-1]["concurrency"] == 3 and after["resumes"][-1]["timeout"] == 30


# ------------------------------------------------------------------------------- the CLI
def _eval(out, *extra):
    return main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=2", "--out", str(out), "--no-progress",
                 *extra])


def test_cli_resume_episodes_means_the_total(tmp_path, capsys):
    out = tmp_path / "run"
    assert _eval(out, "--episodes", "6") == 0
    capsys.readouterr()
    before = _snapshot(out)
    assert _eval(out, "--resume", "--episodes", "3") == 2
    err = capsys.readouterr().err
    assert "holds 6 episodes" in err and "--episodes 6" in err, err
    assert _snapshot(out) == before
    assert _eval(out, "--resume") == 0  # no --episodes: the directory's own total
    assert json.loads((out / "summary.json").read_text())["episodes"] == 6
    assert _eval(out, "--resume", "--episodes", "8") == 0
    assert json.loads((out / "summary.json").read_text())["episodes"] == 8


def test_cli_resume_refuses_other_env_arg(tmp_path, capsys):
    out = tmp_path / "run"
    assert _eval(out, "--episodes", "2") == 0
    capsys.readouterr()
    before = _snapshot(out)
    rc = main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=3", "--out", str(out), "--no-progress",
               "--resume"])
    err = capsys.readouterr().err
    assert rc == 2 and "env_args {'size': 2}; this run has {'size': 3}" in err, err
    assert _snapshot(out) == before
    rc = main(["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size=2", "--format", "tags", "--out", str(out),
               "--no-progress", "--resume"])
    assert rc == 2 and "format 'openai'; this run has 'tags'" in capsys.readouterr().err


def test_resumed_rate_counts_only_the_episodes_this_session_ran(run_dir):
    s = agentgym.run("toy/maze", OraclePolicy(), episodes=5, out=run_dir, resume=True, progress=False,
                     env_kwargs={"size": 2})
    assert s.episodes == 5 and s.episodes_per_s == pytest.approx(1 / s.wall_time)


def test_episodes_and_seeds_that_disagree_are_refused():
    with pytest.raises(ConfigError, match="episodes=3 but 2 seeds"):
        agentgym.run("toy/maze", OraclePolicy(), episodes=3, seeds=[4, 9], progress=False)
