import subprocess
import sys
import textwrap

import pytest

import agentgym
from agentgym import EnvNotFoundError, RegistrationError
from agentgym.registry import _unregister


def test_make_passes_defaults_and_overrides():
    agentgym.register("test/maze-big", "agentgym.envs.maze:MazeEnv", kwargs={"size": 6}, max_turns=7)
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


# ---------------------------------------------------------------------------- factories, options, errors
class Described(agentgym.ToolEnv):
    """An env with a constructor argument named like a registry option."""

    def __init__(self, description: str = "plain"):
        self.description = description

    async def _reset(self, *, seed, task):
        return f"A {self.description} room."


class NoInit(agentgym.ToolEnv):
    """The README's pattern: no __init__ of its own."""

    async def _reset(self, *, seed, task):
        return "Go."


def test_factories_are_keyed_by_id_two_lambdas_and_a_partial():
    import functools

    from agentgym.envs.maze import MazeEnv

    agentgym.register("test/small", lambda: MazeEnv(size=2), override=True)
    agentgym.register("test/large", lambda: MazeEnv(size=9), override=True)
    agentgym.register("test/partial", functools.partial(MazeEnv, size=3), override=True)
    try:
        assert agentgym.make("test/small").size == 2 and agentgym.make("test/large").size == 9
        assert agentgym.make("test/partial").size == 3 and agentgym.make("test/partial", size=5).size == 5
        assert "functools.partial(agentgym.envs.maze:MazeEnv, size=3)" == agentgym.spec("test/partial").entry_point
        with pytest.raises(agentgym.ConfigError, match="test/partial takes no argument 'bogus'"):
            agentgym.make("test/partial", bogus=1)
    finally:
        for env_id in ("test/small", "test/large", "test/partial"):
            _unregister(env_id)


def test_env_arguments_are_kept_apart_from_registry_options():
    agentgym.register("test/described", Described, description="registry text", max_turns=4,
                      kwargs={"description": "dusty"}, override=True)
    try:
        env = agentgym.make("test/described")
        assert env.description == "dusty" and env.spec.description == "registry text"
        assert env.spec.max_turns == 4 and env.spec.kwargs == {"description": "dusty"}
        assert agentgym.make("test/described", description="bright", max_turns=2).description == "bright"
    finally:
        _unregister("test/described")
    with pytest.raises(RegistrationError, match=r"kwargs=\{'size': 6\}"):
        agentgym.register("test/old-style", "agentgym.envs.maze:MazeEnv", size=6)


def test_unknown_arguments_are_refused_for_every_env():
    agentgym.register("test/noinit", NoInit, override=True)
    try:
        with pytest.raises(agentgym.ConfigError, match="test/noinit takes no argument 'bogus'.*no arguments"):
            agentgym.make("test/noinit", bogus=1)
    finally:
        _unregister("test/noinit")
    with pytest.raises(agentgym.ConfigError, match="demo/lamps takes no argument 'bogus'"):
        agentgym.make("demo/lamps", bogus=1)
    # envs whose constructor forwards **kwargs name what they take
    with pytest.raises(agentgym.ConfigError, match="textworld/simple takes no argument 'levle'. Did you mean 'level'"):
        agentgym.registry.check_kwargs("textworld/simple", {"levle": 3})
    with pytest.raises(agentgym.ConfigError, match="tools/calc takes no argument 'sandbox_image'"):
        agentgym.make("tools/calc", sandbox_image="x")


def test_make_names_the_env_and_arguments_when_the_constructor_fails():
    with pytest.raises(ValueError, match=r"toy/maze\(size=1\): maze size must be between 2 and 100"):
        agentgym.make("toy/maze", size=1)
    with pytest.raises(agentgym.ConfigError, match="max_turns must be a positive integer"):
        agentgym.make("toy/maze", max_turns=0)


def test_importing_agentgym_registers_nothing_until_first_use():
    code = textwrap.dedent("""
        import agentgym
        from agentgym import registry
        assert registry._REGISTRY == {} and not registry._plugins_loaded, sorted(registry._REGISTRY)
        ids = [s.id for s in agentgym.list_envs()]
        assert "toy/maze" in ids and "tools/calc" in ids, ids
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_reregistering_is_idempotent_only_with_the_same_options():
    agentgym.register("test/twice", "agentgym.envs.maze:MazeEnv", kwargs={"size": 3})
    try:
        agentgym.register("test/twice", "agentgym.envs.maze:MazeEnv", kwargs={"size": 3})  # same: a no-op
        with pytest.raises(RegistrationError, match="already registered"):
            agentgym.register("test/twice", "agentgym.envs.maze:MazeEnv", kwargs={"size": 4})
    finally:
        _unregister("test/twice")
