import subprocess
import sys
import textwrap

import pytest

import agentgym
from agentgym import EnvNotFoundError, RegistrationError
from agentgym.registry import _unregister


def test_make_passes_defaults_and_overrides():
    agentgym.register("test/maze-big", "agentgym.envs.maze:MazeEnv", size=6, max_turns=7)
    try:
        env = agentgym.make("test/maze-big")
        assert env.size == 6 and env.spec.max_turns == 7
        assert agentgym.make("test/maze-big", size=3, max_turns=2).size == 3
        assert "test/maze-big" in [s.id for s in agentgym.list_envs("test")]
    finally:
        _unregister("test/maze-big")


def test_unknown_id_suggests_close_matches():
    with pytest.raises(EnvNotFoundError) as e:
        agentgym.make("toy/maz")
    assert "Did you mean 'toy/maze'" in str(e.value) and "agentgym list" in str(e.value)


def test_unknown_constructor_argument_names_the_accepted_ones():
    with pytest.raises(agentgym.ConfigError, match=r"toy/maze takes no argument 'sise'\. Did you mean 'size'\? It takes: size"):
        agentgym.make("toy/maze", sise=3)
    agentgym.registry.check_kwargs("toy/maze", {"size": 3, "max_turns": 4})  # accepted: no error


def test_register_validates_ids_and_conflicts():
    with pytest.raises(RegistrationError, match="namespaced"):
        agentgym.register("maze", "x:y")
    with pytest.raises(RegistrationError, match="already registered"):
        agentgym.register("toy/maze", "other.module:Env")


def test_bad_entry_point_is_a_clear_error():
    agentgym.register("test/broken", "no_such_module_xyz:Env")
    try:
        with pytest.raises(RegistrationError, match="cannot import 'no_such_module_xyz'"):
            agentgym.make("test/broken")
    finally:
        _unregister("test/broken")


PLUGIN = '''
import agentgym
from agentgym import ToolEnv, ToolResult, tool

class Echo(ToolEnv):
    async def _reset(self, *, seed, task):
        self.word = ["alpha", "beta"][(seed or 0) % 2]
        return f"Say {self.word}."

    @tool
    def say(self, word: str) -> ToolResult:
        """Say a word.

        Args:
            word: the word.
        """
        ok = word == self.word
        return ToolResult(content="right" if ok else "wrong", done=True, success=ok, reward=float(ok))

def register_envs():
    agentgym.register("plugin/echo", "echo_plugin:Echo", description="an installed third-party env", max_turns=2)
'''


def test_entry_point_plugin_package(tmp_path):
    """A real installed distribution (dist-info with entry_points.txt) on sys.path registers its env."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "echo_plugin.py").write_text(PLUGIN)
    dist = site / "echo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentgym.environments]\necho = echo_plugin:register_envs\n")
    code = textwrap.dedent("""
        import agentgym, json
        from agentgym.policies.simple import NoopPolicy
        env = agentgym.make("plugin/echo")
        print(env.spec.description)
    """)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "an installed third-party env" in out.stdout
    listing = subprocess.run([sys.executable, "-m", "agentgym.cli", "list"], capture_output=True, text=True, env=env)
    assert "plugin/echo" in listing.stdout
