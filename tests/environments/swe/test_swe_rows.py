"""Task rows: SWE-bench's format, every source (jsonl, json, list, datasets), and clear errors naming row and field."""

import json

import pytest

from agentgym.environments.swe.rows import REQUIRED_FIELDS, TaskRowError, load_tasks, validate_row


@pytest.fixture(scope="module")
def bundled():
    return load_tasks(None)


def test_bundled_rows_load_in_swebench_shape(bundled):
    assert len(bundled) >= 50
    row = bundled[0].to_row()
    assert set(REQUIRED_FIELDS) <= set(row)
    assert isinstance(row["FAIL_TO_PASS"], str) and json.loads(row["FAIL_TO_PASS"]) == bundled[0].fail_to_pass
    assert row["patch"].startswith("diff --git")
    assert {t.repo_path for t in bundled} == {"bundled:semverlite", "bundled:calendarlite"}


def test_sources_jsonl_json_list_and_dataset_agree(bundled, tmp_path):
    rows = [t.to_row() for t in bundled[:3]]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "t.json").write_text(json.dumps(rows))
    import datasets

    sources = [tmp_path / "t.jsonl", str(tmp_path / "t.json"), rows, datasets.Dataset.from_list(rows)]
    for source in sources:
        assert [t.instance_id for t in load_tasks(source)] == [r["instance_id"] for r in rows], source


def test_test_lists_may_be_plain_lists(bundled):
    row = bundled[0].to_row()
    row["FAIL_TO_PASS"] = json.loads(row["FAIL_TO_PASS"])
    assert validate_row(row).fail_to_pass == bundled[0].fail_to_pass


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_field_names_row_and_field(bundled, field):
    row = bundled[1].to_row()
    del row[field]
    with pytest.raises(TaskRowError, match=rf"task row 4\b.*missing field\(s\) {field}"):
        load_tasks([bundled[0].to_row(), bundled[2].to_row(), bundled[3].to_row(), bundled[4].to_row(), row])


@pytest.mark.parametrize("value, why", [
    ("not json", "not a JSON list"), ('{"a": 1}', "must be a list"), ("[1, 2]", "must be a list"),
    ("[]", "FAIL_TO_PASS is empty"), ('[""]', "must be a list"),
])
def test_malformed_fail_to_pass_rejected(bundled, value, why):
    row = bundled[0].to_row()
    row["FAIL_TO_PASS"] = value
    with pytest.raises(TaskRowError) as err:
        load_tasks([row])
    assert "semverlite-1" in str(err.value) and "FAIL_TO_PASS" in str(err.value) and why in str(err.value)


def test_other_bad_rows(bundled, tmp_path):
    row = bundled[0].to_row()
    with pytest.raises(TaskRowError, match="duplicate instance_id"):
        load_tasks([row, row])
    with pytest.raises(TaskRowError, match="patch is not a unified diff"):
        load_tasks([{**row, "patch": "fix it"}])
    with pytest.raises(TaskRowError, match="repo_path .* does not exist"):
        load_tasks([{**row, "repo_path": str(tmp_path / "nowhere")}])
    with pytest.raises(TaskRowError, match="neither repo_path nor image"):
        load_tasks([{k: v for k, v in row.items() if k != "repo_path"}])
    with pytest.raises(TaskRowError, match="must be a string"):
        load_tasks([{**row, "base_commit": 12}])
    with pytest.raises(TaskRowError, match="does not exist"):
        load_tasks(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text(json.dumps(row) + "\n{oops\n")
    with pytest.raises(TaskRowError, match="line 2"):
        load_tasks(tmp_path / "bad.jsonl")


def test_bad_rows_fail_at_make_before_anything_runs(bundled):
    import agentgym

    row = bundled[0].to_row()
    del row["test_patch"]
    with pytest.raises(TaskRowError, match="test_patch"):
        agentgym.make("swe/tasks", tasks=[row])


def test_test_targets_default_to_files_of_test_patch(bundled):
    row = bundled[0].to_row()
    row.pop("test_files")
    assert validate_row(row).test_targets() == ["tests/test_version.py"]
    assert bundled[0].test_targets() == ["tests/test_ranges.py", "tests/test_version.py"]
