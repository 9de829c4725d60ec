"""Report data, HTML file, CLI and server, without a browser (tests/report/test_report_page.py drives Chromium)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request

import pytest

from agentgym.cli import main
from agentgym.engine import TrajectoryWriter, load_trajectories
from agentgym.errors import ConfigError
from agentgym.report import ReportServer, ZeroSignalWatch, build_report, load_run
from agentgym.summary import wilson_interval


def _page_data(html: str) -> dict:
    raw = re.search(r'<script id="agentgym-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_eval_run_summary_matches_its_trajectories(report_runs):
    run = load_run(report_runs["oracle"])
    trajs = load_trajectories(report_runs["oracle"] / "trajectories.jsonl")
    assert run.kind == "eval" and len(run.groups) == 1
    g = run.groups[0]
    wins = sum(t.success for t in trajs)
    assert (g["env"], g["model"], g["episodes"], g["successes"]) == ("toy/maze", "oracle", 12, wins)
    assert g["success_ci95"] == list(wilson_interval(wins, 12))
    assert g["mean_reward"] == pytest.approx(sum(t.reward for t in trajs) / 12)
    assert sum(g["turns_hist"]["counts"]) == 12 and sum(g["tool_calls_hist"]["counts"]) == 12
    assert run.episodes["tool_calls"] == [sum(len(m.tool_calls or []) for m in t.messages) for t in trajs]
    assert "progress" in g["channels"]


def test_errors_are_broken_down_by_termination(report_runs):
    g = load_run(report_runs["crafted"]).groups[0]
    assert g["terminations"] == {"done": 1, "max_turns": 1, "timeout": 1}
    assert g["errors"]["timeout"] == {"count": 1, "first_error": "episode exceeded 5.0 s", "episodes": [2]}


def test_page_is_self_contained_and_carries_every_run(report_runs, tmp_path):
    out = build_report([report_runs["random"], report_runs["oracle"], report_runs["crafted"]], tmp_path / "r.html")
    html = out.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page must not load anything from a network"
    assert "<script src" not in html and 'rel="stylesheet"' not in html
    data = _page_data(html)
    assert [r["name"] for r in data["runs"]] == ["maze-random", "maze-oracle", "crafted"]
    assert [r["chunks"] for r in data["runs"]] == [1, 1, 1]
    assert html.count('<script type="text/plain" id="agc-') == 3


def test_text_that_looks_like_html_cannot_break_the_page(tmp_path):
    from agentgym.types import Message, Trajectory

    run = tmp_path / "evil"
    run.mkdir()
    w = TrajectoryWriter(run / "trajectories.jsonl")
    w.write(Trajectory(episode=0, env_id="x/y", task_id="</script><script>alert(1)</script>",
                       messages=[Message.user("__DATA__ /*__APP__*/ <!--__CHUNKS__--> </script>")]))
    w.close()
    html = build_report([run], tmp_path / "r.html").read_text()
    assert html.count("</script>") == html.count("<script")  # nothing closes a script early
    assert _page_data(html)["runs"][0]["episodes"]["task"] == ["</script><script>alert(1)</script>"]


def test_train_run_explains_missing_learning_signal(report_runs):
    run = load_run(report_runs["train"])
    assert run.kind == "train" and run.metrics["step"] == list(range(1, 13))
    titles = {n["title"]: n["text"] for n in run.notes}
    assert "12 of 12 logged steps had frac_reward_zero_std = 1 and the loss was 0" in titles["no learning signal"]
    assert "SFT checkpoint" in titles["no learning signal"] and "temperature" in titles["no learning signal"]
    assert "0.0% before, 0.0% after" in titles["held-out success"]


def test_zero_signal_watch_speaks_once_after_five_dead_steps():
    watch = ZeroSignalWatch()
    said = [watch.update({"frac_reward_zero_std": v}) for v in [1, 1, 0.5, 1, 1, 1, 1, 1, 1, 1]]
    assert [i for i, m in enumerate(said) if m] == [7]
    assert "no learning signal for 5 steps" in said[7]
    assert watch.update({"loss": 0.0}) is None


def test_cli_report_and_bad_input(report_runs, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["report", str(report_runs["random"]), str(report_runs["oracle"]), "-o", str(out)]) == 0
    assert f"report: {out}" in capsys.readouterr().out and out.stat().st_size > 1000
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="is a directory"):
        build_report([report_runs["oracle"]], tmp_path)


def test_report_defaults_into_the_run_directory(report_runs):
    path = build_report([report_runs["crafted"]])
    assert path == report_runs["crafted"] / "report.html" and path.exists()


def test_view_serves_on_loopback_and_shows_new_episodes(report_runs, tmp_path):
    import shutil

    run = tmp_path / "live"
    shutil.copytree(report_runs["oracle"], run)
    server = ReportServer([run], port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert len(_page_data(page)["runs"][0]["episodes"]["episode"]) == 12
        extra = load_trajectories(run / "trajectories.jsonl")[0].model_copy(update={"episode": 12})
        w = TrajectoryWriter(run / "trajectories.jsonl")
        w.write(extra)
        w.close()
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert len(_page_data(page)["runs"][0]["episodes"]["episode"]) == 13
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(server.url + "nope", timeout=10)
        assert e.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_nan_rewards_and_torn_lines_still_make_a_page(tmp_path):
    import base64
    import gzip

    from agentgym.types import Message, Trajectory

    run = tmp_path / "odd"
    run.mkdir()
    w = TrajectoryWriter(run / "trajectories.jsonl")
    w.write(Trajectory(episode=0, env_id="x/y", task_id="t", reward=float("nan"), rewards=[float("nan")],
                       channels=[{"format": float("inf")}], messages=[Message.user("hi")]))
    w.close()
    with open(run / "trajectories.jsonl", "a") as f:
        f.write('{"episode": 1, "env_id": "x/y", "mess')  # killed mid-write
    (run / "metrics.jsonl").write_text('{"step": 1, "reward": NaN}\nnot json\n')
    html = build_report([run], tmp_path / "r.html").read_text()
    data = _page_data(html)["runs"][0]
    assert data["episodes"]["reward"] == [None] and data["groups"][0]["mean_reward"] is None
    assert data["metrics"] == {"step": [1], "reward": [None]}
    packed = re.search(r'id="agc-0-0">([^<]+)<', html).group(1)
    assert json.loads(gzip.decompress(base64.b64decode(packed)))[0]["rewards"] == [None]


def test_web_screenshots_recorded_as_base64_become_images(tmp_path, png):
    """environments/web puts a base64 PNG in info["screenshot"] after each step (screenshot=True)."""
    import base64
    import gzip

    from agentgym.types import Message, Trajectory

    run = tmp_path / "web"
    run.mkdir()
    shot = base64.b64encode(png(40, 30)).decode()
    w = TrajectoryWriter(run / "trajectories.jsonl")
    w.write(Trajectory(episode=0, env_id="web/shop", messages=[Message.user("buy")], rewards=[0.0, 0.0],
                       infos=[{}, {"screenshot": shot, "url": "http://127.0.0.1:1/"}]))
    w.close()
    html = build_report([run], tmp_path / "r.html").read_text()
    packed = re.search(r'id="agc-0-0">([^<]+)<', html).group(1)
    info = json.loads(gzip.decompress(base64.b64decode(packed)))[0]["infos"][1]
    assert info["screenshot"] == "data:image/png;base64," + shot and info["url"] == "http://127.0.0.1:1/"
