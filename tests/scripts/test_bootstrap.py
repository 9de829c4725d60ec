"""The bootstrap's apt-mirror detection, against every layout apt sources can take.

A new Debian machine may hold its sources only in deb822 form (sources.list.d/*.sources),
only in one-line form (sources.list, *.list), in both, or not at all; each must give the
mirror or a message saying what to set, never a silent exit.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRROR_SH = ROOT / "docker" / "apt-mirror.sh"

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
"""


def detect(etc: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("DEBIAN_MIRROR",)}
    full.update(APT_ETC=str(etc), **env)
    return subprocess.run(["bash", str(MIRROR_SH)], capture_output=True, text=True, env=full, timeout=30)


def layout(tmp_path: Path, files: dict[str, str]) -> Path:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (etc / name).write_text(text)
    return etc


@pytest.mark.parametrize("files, expected", [
    ({"sources.list.d/debian.sources": DEB822}, "http://deb.debian.org/debian"),
    ({"sources.list": "deb http://ftp.de.debian.org/debian bookworm main\n"
                      "deb http://security.debian.org/debian-security bookworm-security main\n"},
     "http://ftp.de.debian.org/debian"),
    ({"sources.list": "# a comment\ndeb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian/ bookworm main\n"},
     "http://mirror.example/debian"),
    ({"sources.list.d/extra.list": "deb http://other.example/debian bookworm main\n"}, "http://other.example/debian"),
    ({"sources.list.d/multi.sources": "Types: deb\nuris: http://a.example/debian-security http://b.example/debian\n"
                                      "Suites: bookworm\n"}, "http://b.example/debian"),
    ({"sources.list.d/debian.sources": DEB822, "sources.list": "deb http://ftp.de.debian.org/debian bookworm main\n"},
     "http://deb.debian.org/debian"),
], ids=["deb822-only", "one-line-only", "one-line-options", "list-d", "deb822-multi-uri", "both"])
def test_mirror_found_in_every_layout(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    r = detect(layout(tmp_path, files))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == expected


@pytest.mark.parametrize("files", [
    {},
    {"sources.list.d/debian.sources": "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"},
    {"sources.list.d/node.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n"},
], ids=["nothing", "security-only", "third-party-only"])
def test_no_mirror_says_what_to_set(tmp_path: Path, files: dict[str, str]) -> None:
    r = detect(layout(tmp_path, files))
    assert r.returncode == 1
    assert "DEBIAN_MIRROR" in r.stderr and r.stdout == ""


def test_base_image_script_stops_with_the_reason_when_no_mirror(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DEBIAN_MIRROR"}
    env.update(APT_ETC=str(layout(tmp_path, {})), BASE_TAG="agentgym-test/never-built:1",
               AGENTGYM_ROOTFS_CACHE=str(tmp_path / "cache"))
    r = subprocess.run(["bash", str(ROOT / "docker" / "bootstrap-base.sh")], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 1
    assert "DEBIAN_MIRROR" in r.stderr and "without a Debian mirror" in r.stderr
    assert not (tmp_path / "cache").exists()


def test_bootstrap_rejects_an_unknown_profile() -> None:
    r = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "everything"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "demo|test" in r.stderr


def test_demo_profile_installs_no_docker_or_browser() -> None:
    text = (ROOT / "scripts" / "bootstrap.sh").read_text()
    demo_line = next(line for line in text.splitlines() if line.strip().startswith("demo)"))
    assert 'APT_PACKAGES=""' in demo_line and "train" in demo_line
    make = (ROOT / "Makefile").read_text()
    assert "scripts/bootstrap.sh demo" in make.split("demo:", 1)[1].split("\n\n", 1)[0]
