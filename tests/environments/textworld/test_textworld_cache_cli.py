"""The content-addressed game cache and the ``agentgym textworld`` / ``agentgym alfworld`` commands."""

import threading

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
