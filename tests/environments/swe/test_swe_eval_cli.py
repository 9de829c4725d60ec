"""`agentgym eval swe/tasks`: the bundled tasks with no arguments (docker), a tasks file, tags and ReAct formats."""

import json
import subprocess
import sys

import pytest

import agentgym
from agentgym.types import Message

from agentgym.environments.swe.rows import load_tasks
from swe_helpers import left_behind


def eval_cli(*args, cwd):
    """Runs `agentgym eval` and returns (completed process, its pid: the label of every container it made)."""
    proc = subprocess.Popen([sys.executable, "-P", "-m", "agentgym.cli", "eval", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    out, err = proc.communicate(timeout=900)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.pid


@pytest.mark.docker
def test_eval_oracle_with_no_arguments(docker_backend, tmp_path):
    done, pid = eval_cli("swe/tasks", "--policy", "oracle", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["episodes"] == 10 and summary["success_rate"] == 1.0 and summary["errors"] == 0
    assert summary["channels"]["RR"] == 1.0
    assert left_behind(pid) == []  # the warm pool's containers and volumes go when the process exits


@pytest.mark.parametrize("fmt", ["tags", "react"])
def test_eval_tasks_file_in_text_formats(bwrap_backend, tmp_path, fmt):
    tasks = load_tasks(None)
    chosen = [tasks[3], next(t for t in tasks if "-gen-" in t.instance_id)]  # hand-written and generated
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(t.to_row()) + "\n" for t in chosen))
    done, _ = eval_cli("swe/tasks", "--policy", "oracle", "--env-arg", "tasks=rows.jsonl", "--env-arg",
                       f"sandbox={bwrap_backend}", "--format", fmt, "--episodes", "2", "--out", "run",
                       "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["success_rate"] == 1.0 and summary["channels"]["format"] == 0.0
    trajectories = [json.loads(line) for line in (tmp_path / "run" / "trajectories.jsonl").read_text().splitlines()]
    assert sorted(t["task_id"] for t in trajectories) == sorted(t.instance_id for t in chosen)
    for traj in trajectories:
        actions = [m for m in traj["messages"] if m["role"] == "assistant"]
        assert all(not m.get("tool_calls") for m in actions)   # text only, parsed by the format
        opener = "<str_replace_editor>" if fmt == "tags" else "Action: str_replace_editor["
        assert actions[0]["content"].startswith(opener) and actions[-1]["content"] in ("<submit></submit>",
                                                                                       "Action: submit[]")


@pytest.mark.parametrize("fmt, actions", [
    ("tags", ["<bash>cd semverlite && pwd</bash>", "<bash>unclosed", "<str_replace_editor>{\"command\": \"view\", "
              "\"path\": \"README.md\"}</str_replace_editor>", "<submit></submit>"]),
    ("react", ["Action: bash[cd semverlite && pwd]", "no action here", "Action: str_replace_editor[{\"command\": "
               "\"view\", \"path\": \"README.md\"}]", "Action: submit[]"]),
])
async def test_text_actions_drive_the_tools(bwrap_backend, fmt, actions):
    env = agentgym.make("swe/tasks", format=fmt, sandbox=bwrap_backend)
    try:
        await env.reset(seed=2)
        results = [await env.step(Message.assistant(text)) for text in actions]
    finally:
        await env.close()
    cd, bad, view, submit = results
    assert "/workspace/semverlite" in cd.messages[0].content and cd.channels["format"] == 0.0
    assert bad.channels["format"] < 0 and not bad.done
    assert "Parse, compare" in view.messages[0].content and view.channels["tool_ok"] == 1.0
    assert submit.done and submit.info["grade"]["status"] == "empty_patch" and submit.channels["CR"] == 1.0
