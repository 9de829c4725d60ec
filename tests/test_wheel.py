"""The wheel is complete: installed outside the repo, it lists envs, shows one (info), runs an eval and finds its data.

Builds the wheel from a copy of the source tree, installs it into a new venv (its
dependencies come from the test's own environment through a path entry, so nothing is
downloaded), and runs the CLI from a directory that is not the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".git", ".venv*", "runs", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis")


SOURCES = {"agentgym": "agentgym", "environments": "agentgym/environments", "sandboxes": "agentgym/sandboxes",
           "trainers": "agentgym/trainers", "configs": "agentgym/configs", "docker": "agentgym/dockerfiles"}


def _tracked(*folders: str) -> list[Path]:
    """The files git tracks (under ``folders``); empty outside a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", *folders], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        return []
    return [Path(f) for f in out.split("\0") if f]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    tracked = _tracked()
    if tracked:  # what a clean clone holds (a developer's untracked files do not reach the wheel)
        for rel in tracked:
            if (ROOT / rel).is_file():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
        subprocess.run(["git", "init", "-q"], cwd=src, check=True)  # so setup.py lists the tracked folders
        subprocess.run(["git", "add", "-A"], cwd=src, check=True)
    else:
        shutil.copytree(ROOT, src, ignore=SKIP)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("agentgym-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = Path(subprocess.run([str(env_dir / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    # Dependencies from this interpreter's site-packages; a plain path line does not run that
    # directory's .pth files, so the repo's editable install stays out of the new venv.
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install", "-q",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=300)
    return env_dir


def run(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AGENTGYM_DOCKER_DIR")}
    return subprocess.run([str(env_dir / "bin" / args[0]), *args[1:]], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_installed_wheel_is_the_one_imported(wheel_venv: Path, tmp_path: Path) -> None:
    r = run(wheel_venv, "python", "-c", "import agentgym; print(agentgym.__file__)", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert str(wheel_venv) in r.stdout and str(ROOT) not in r.stdout


def test_list_and_oracle_eval_outside_the_repo(wheel_venv: Path, tmp_path: Path) -> None:
    listed = run(wheel_venv, "agentgym", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "toy/maze" in listed.stdout and "demo/lamps" in listed.stdout
    info = run(wheel_venv, "agentgym", "info", "toy/maze", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "size (int) = 4" in info.stdout and "move: Move one cell." in info.stdout and "[user]" in info.stdout
    out = tmp_path / "run"
    r = run(wheel_venv, "agentgym", "eval", "toy/maze", "--policy", "oracle", "--episodes", "2", "--out", str(out),
            cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((out / "summary.json").read_text())["success_rate"] == 1.0


def test_configs_and_dockerfiles_ship_as_package_data(wheel_venv: Path, tmp_path: Path) -> None:
    code = ("from agentgym.trainers.config import resolve_config_path\n"
            "from agentgym.sandboxes.images import docker_dir, IMAGES\n"
            "p = resolve_config_path('maze-grpo-cpu'); print(p)\n"
            "d = docker_dir(); print(d)\n"
            "assert all((d / s.dockerfile).is_file() for s in IMAGES)\n"
            "assert (d / 'bootstrap-base.sh').is_file() and (d / 'apt-mirror.sh').is_file()\n")
    r = run(wheel_venv, "python", "-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config_path, dockerdir = r.stdout.split()
    assert config_path.startswith(str(wheel_venv)) and config_path.endswith("maze-grpo-cpu.yaml")
    assert dockerdir.startswith(str(wheel_venv))


def test_wheel_carries_the_license(wheel_venv: Path, tmp_path: Path) -> None:
    r = run(wheel_venv, "python", "-c", "from importlib import metadata; print(metadata.metadata('agentgym')['License-Expression'] or '');"
            "print([str(f) for f in metadata.files('agentgym') if 'LICENSE' in str(f)])", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Apache-2.0" in r.stdout and "LICENSE" in r.stdout


def _source_files() -> set[str]:
    """The files of the source folders as the wheel names them: those git tracks (the test's copy of the
    tree has them all), or every file outside a git checkout."""
    paths = [p for p in _tracked(*SOURCES) if (ROOT / p).is_file()]
    if not paths:
        paths = [p.relative_to(ROOT) for folder in SOURCES for p in (ROOT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return {f"{SOURCES[p.parts[0]]}/{Path(*p.parts[1:]).as_posix()}" for p in paths}


def test_every_source_file_ships_in_the_wheel_and_nothing_else(wheel_venv: Path, tmp_path: Path) -> None:
    """Data files in subfolders (web/data/example_tasks.json, the web/tasks default, was left out) and
    modules alike: the installed wheel holds exactly the files of the source folders."""
    r = run(wheel_venv, "python", "-c", "from importlib import metadata; print('\\n'.join(str(f) for f in "
            "metadata.files('agentgym')))", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shipped = {f for f in r.stdout.split() if f.startswith("agentgym/") and "__pycache__" not in f}
    expected = _source_files()
    assert sorted(expected - shipped) == []
    assert sorted(shipped - expected) == []
