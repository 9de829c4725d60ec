"""`agentgym swe validate` and `agentgym swe export-predictions` (read back by the swebench package's loader)."""

import json
import subprocess
import sys

import agentgym
from agentgym.policies.simple import OraclePolicy

from agentgym.environments.swe.rows import load_tasks


def agentgym_cli(*args, cwd):
    return subprocess.run([sys.executable, "-P", "-m", "agentgym.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_validate_marks_good_and_broken_tasks(bwrap_backend, tmp_path):
    good = load_tasks(None)[5].to_row()
    other = load_tasks(None)[6]
    broken = {**other.to_row(), "FAIL_TO_PASS": json.dumps(other.fail_to_pass + ["tests/test_version.py::test_nope"])}
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps(good) + "\n" + json.dumps(broken) + "\n")
    done = agentgym_cli("swe", "validate", str(rows), "--runs", "1", "--sandbox", bwrap_backend, cwd=tmp_path)
    results = {json.loads(line)["instance_id"]: json.loads(line) for line in done.stdout.splitlines()}
    assert done.returncode == 1 and f"1/2 tasks valid; invalid: {other.instance_id}" in done.stderr
    assert results[good["instance_id"]]["valid"] and results[good["instance_id"]]["empty"] == ["unresolved"]
    assert not results[other.instance_id]["valid"] and results[other.instance_id]["gold"] == ["unresolved"]
    bad = agentgym_cli("swe", "validate", str(tmp_path / "none.jsonl"), cwd=tmp_path)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


async def test_export_predictions_read_by_swebench(bwrap_backend, tmp_path):
    from swebench.harness.utils import get_predictions_from_file

    run_dir = tmp_path / "run"
    await agentgym.arun("swe/tasks", OraclePolicy(), episodes=2, concurrency=2, out=run_dir,
                        env_kwargs={"sandbox": bwrap_backend}, progress=False)
    done = agentgym_cli("swe", "export-predictions", str(run_dir), "--model", "oracle", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    preds = get_predictions_from_file(str(run_dir / "predictions.jsonl"), "unused", "test")
    tasks = {t.instance_id: t for t in load_tasks(None)}
    assert [p["instance_id"] for p in preds] == ["semverlite-1", "semverlite-2"]
    for p in preds:
        assert p["model_name_or_path"] == "oracle" and p["model_patch"] == tasks[p["instance_id"]].patch
