"""The content-addressed game cache and the ``agentgym textworld`` / ``agentgym alfworld`` commands."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.environments.textworld.cache import GameCache, content_key


def test_content_key_ignores_order_and_sees_values():
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})


def test_concurrent_builders_share_one_entry(tmp_path):
    cache = GameCache(tmp_path)
    calls = []
    gate = threading.Barrier(4)

    def build(d):
        calls.append(d)
        (d / "game.txt").write_text("x")

    def worker(out):
        gate.wait()
        out.append(cache.get_or_create("fam", {"seed": 1}, build))

    results = []
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(calls) == 1 and len(set(results)) == 1 and (results[0] / "game.txt").read_text() == "x"
    assert cache.entries("fam") == [results[0]]


def test_failed_build_leaves_no_entry(tmp_path):
    cache = GameCache(tmp_path)

    def broken(d):
        (d / "half").write_text("1")
        raise RuntimeError("generator crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_create("fam", {"seed": 2}, broken)
    assert cache.lookup("fam", {"seed": 2}) is None and cache.entries("fam") == []
    assert not list((tmp_path / "fam").iterdir())          # no temporary leftovers


BUILD_GAME = """
import sys
from agentgym.environments.textworld.games import GameSettings, ensure_game
ensure_game(GameSettings(challenge="custom", world_size=3, nb_objects=5, quest_length=3), int(sys.argv[1]), "train")
"""


def _textworld_temp_dirs() -> set[Path]:
    return {p for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith(("tw_", "tmp_inform"))}


def test_a_build_killed_midway_leaves_nothing_that_the_next_build_does_not_remove(tmp_path):
    """SIGKILL while TextWorld compiles: its own temp folders were made inside the half-built entry
    (not in /tmp for good), and the next build of any game removes that entry."""
    pytest.importorskip("textworld")
    env = {**os.environ, "AGENTGYM_CACHE": str(tmp_path)}
    before = _textworld_temp_dirs()
    family = tmp_path / "textworld"
    for index in (7, 17, 27):  # a build that finishes before it is caught compiling is tried with another game
        child = subprocess.Popen([sys.executable, "-c", BUILD_GAME, str(index)], env=env)
        deadline = time.time() + 120
        while child.poll() is None and time.time() < deadline and not (family.is_dir() and any(
                p.name.startswith(".") and list(p.glob("tmp_inform*")) for p in family.iterdir())):
            time.sleep(0.02)  # until Inform7 compiles in a folder of its own inside the entry being built
        if child.poll() is None:
            break
    assert child.poll() is None, "three builds finished before one was caught compiling"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    (half,) = [p for p in family.iterdir() if p.name.startswith(".")]
    assert (half / "owner.json").is_file() and list(half.glob("tmp_inform*")), sorted(half.iterdir())
    assert _textworld_temp_dirs() - before == set()
    done = subprocess.run([sys.executable, "-c", BUILD_GAME, "8"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not half.exists()
    assert [p.name for p in family.iterdir() if p.name.startswith(".")] == []
    entries = GameCache(tmp_path).entries("textworld")
    assert entries and all(not (e / "owner.json").exists() and (e / "game.z8").is_file() for e in entries)


def test_cache_root_follows_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "c"))
    assert GameCache().root == tmp_path / "c"


@pytest.mark.textworld
def test_pregen_fills_the_cache_and_reports(textworld_games, capsys):
    assert main(["textworld", "pregen", "--env", "textworld/coin_collector", "--n", "1", "--set", "level=5"]) == 0
    out = capsys.readouterr().out
    assert "textworld/coin_collector train #0" in out and "walkthrough" in out and "game.z8" in out
    assert main(["textworld", "cache"]) == 0
    assert "textworld:" in capsys.readouterr().out


def test_pregen_rejects_bad_input(capsys):
    assert main(["textworld", "pregen", "--env", "toy/maze", "--n", "1"]) == 2
    assert "textworld/* id" in capsys.readouterr().err
    assert main(["textworld", "pregen", "--env", "textworld/cooking", "--set", "take=3"]) == 2
    assert "take (3) must be <= recipe" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["textworld", "pregen", "--env", "textworld/cooking", "--set", "novalue"])


@pytest.mark.textworld
def test_alfworld_commands(capsys, monkeypatch):
    pytest.importorskip("alfworld", reason="alfworld is not installed: pip install 'agentgym[textworld]'")
    monkeypatch.delenv("ALFWORLD_DATA", raising=False)
    assert main(["alfworld", "pregen", "--task", "pick_and_place", "--n", "1"]) == 0
    assert "pick_and_place_simple train #0" in capsys.readouterr().out
    assert main(["alfworld", "status"]) == 0
    out = capsys.readouterr().out
    assert "official data: not found" in out and "generated problems cached" in out
