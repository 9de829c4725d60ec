import json
import subprocess
import sys

import pytest

from agentgym.cli import main, parse_env_args
from agentgym.errors import ConfigError
from agentgym.testing import StubOpenAIServer


def test_eval_oracle_and_random_write_run_dirs(tmp_path, capsys):
    assert main(["eval", "toy/maze", "--policy", "oracle", "--episodes", "4", "--out", str(tmp_path / "o"),
                 "--no-progress", "--env-arg", "size=3"]) == 0
    out = capsys.readouterr().out
    assert "success           1.000" in out
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["success_rate"] == 1.0 and s["model"] == "oracle"
    assert main(["eval", "toy/maze", "--policy", "random", "--episodes", "3", "--out", str(tmp_path / "r"),
                 "--no-progress", "--format", "tags", "--max-turns", "4"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["mean_turns"] == 4 and s["errors"] == 0


def test_eval_model_through_openai_endpoint(tmp_path, capsys):
    with StubOpenAIServer() as server:
        rc = main(["eval", "toy/maze", "--model", "stub", "--base-url", server.url, "--episodes", "2",
                   "--max-turns", "3", "--out", str(tmp_path), "--no-progress", "--temperature", "0.5"])
    assert rc == 0
    assert server.requests[0]["temperature"] == 0.5 and server.requests[0]["model"] == "stub"


@pytest.mark.parametrize("argv, message", [
    (["eval", "toy/mazee", "--policy", "oracle"], "Did you mean 'toy/maze'"),
    (["eval", "toy/maze", "--policy", "oracle", "--env-arg", "size"], "key=value"),
    (["eval", "toy/maze", "--model", "m", "--api-key-env", "NO_SUCH_KEY_VAR"], "NO_SUCH_KEY_VAR"),
    (["eval", "toy/maze", "--policy", "oracle", "--env-arg", "sise=3"], "no argument 'sise'. Did you mean 'size'?"),
])
def test_bad_input_exits_2_with_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # failed before anything was written


def test_unreachable_endpoint_is_refused_before_the_run(tmp_path, capsys):
    from agentgym.testing import free_port

    out = tmp_path / "run"
    args = ["eval", "toy/maze", "--model", "m", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--episodes", "2",
            "--out", str(out), "--no-progress", "--max-turns", "2"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "cannot connect to" in err and "connection refused" in err and "Is the server running" in err
    assert "APITimeoutError" not in err and "event loop" not in err and "Unclosed" not in err
    assert not out.exists()


def test_parse_env_args():
    assert parse_env_args(["size=5", "name=bob", 'opts={"a": [1]}', "flag=true"]) == \
        {"size": 5, "name": "bob", "opts": {"a": [1]}, "flag": True}
    with pytest.raises(ConfigError):
        parse_env_args(["=3"])


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "agentgym.cli", "--help"], capture_output=True, text=True)
    assert "eval" in out.stdout and "list" in out.stdout
