"""The CPU demo pipeline end to end in a tiny configuration (structure and finite metrics, not the gain)."""

import json
import math

import pytest

from agentgym.summary import wilson_interval
from agentgym.trainers.demo import DemoSettings, main, one_sided_p, run_demo, table


def test_demo_pipeline_writes_the_run_directory(tmp_path):
    out = tmp_path / "demo"
    settings = DemoSettings(hidden_size=32, layers=1, vocab_size=512, sft_episodes=16, sft_epochs=1, grpo_steps=2,
                            batch=8, num_generations=4, eval_episodes=8, max_new_tokens=16, max_completion_length=64)
    s = run_demo(out, settings, quiet=True)
    for name in ("report.md", "summary.json", "metrics.jsonl", "learning_curve.png", "sft/model/config.json"):
        assert (out / name).exists(), name
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((out / "summary.json").read_text())
    assert saved["settings"]["grpo_steps"] == 2 and saved["sft_data"]["episodes"] == 16
    for stage in ("base", "sft", "grpo"):
        r = saved[stage]
        assert r["episodes"] == 8 and r["errors"] == 0
        wins = round(r["success_rate"] * 8)
        assert r["success_rate"] == wins / 8                      # a share of the 8 episodes
        assert r["mean_reward"] == pytest.approx(r["success_rate"])  # demo/lamps pays 1 exactly on success
        assert r["success_ci95"] == pytest.approx(list(wilson_interval(wins, 8)))
        assert r["wall_time"] > 0 and r["cpu_s"] > 0 and r["episodes_per_s"] > 0  # were written as 0.0
    # random weights never write a valid press call within 16 new tokens
    assert saved["base"]["success_rate"] == 0.0 and saved["base"]["success_ci95"][1] > 0.2
    assert math.isfinite(saved["gain"]) and 0.0 <= saved["gain_p_value"] <= 1.0
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in steps if "agentgym/success" in r]
    assert [r["step"] for r in logged] == [1, 2]
    assert all(math.isfinite(r["loss"]) and math.isfinite(r["reward"]) for r in logged)
    report = (out / "report.md").read_text()
    assert table(s) in report and f"GRPO gain over SFT: **{saved['gain'] * 100:+.1f} points**" in report
    tasks = saved["tasks"]  # held out by task: no evaluation task is trained on, in SFT or GRPO
    assert tasks["split"] == "task" and tasks["shared_tasks"] == 0 and tasks["eval_tasks_in_sft"] == 0
    assert tasks["eval_tasks"] == saved["grpo"]["distinct_tasks"] >= 2
    assert f"{tasks['eval_tasks']} distinct tasks" in report
    from agentgym.report import load_run  # report.html: after GRPO vs after SFT on the same held-out episodes

    assert (out / "report.html").stat().st_size > 1000 and (out / "README.md").read_text().startswith("# ")
    assert [load_run(d).groups[0]["episodes"] for d in (out, out / "sft")] == [8, 8]
    assert 'id="agc-1-0"' in (out / "report.html").read_text()  # the SFT run's trajectories are in the page


def test_one_sided_p_value():
    assert one_sided_p(30, 100, 60, 100) < 0.001
    assert one_sided_p(60, 100, 30, 100) > 0.99
    assert abs(one_sided_p(50, 100, 50, 100) - 0.5) < 1e-9
    assert one_sided_p(0, 0, 1, 1) == 1.0


def test_cli_rejects_nonsense_sizes(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--eval-episodes", "0"])
    assert "must be >= 1" in capsys.readouterr().err
