"""`agentgym sandbox build|doctor|prune` through add_parser on a plain argparse parser."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from agentgym.sandboxes.cli import add_parser


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="agentgym")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sandbox", *argv])


def test_parser_wires_subcommands():
    assert _parse("build", "--only", "python", "--force").only == ["python"]
    assert _parse("prune", "--all").all is True
    assert callable(_parse("doctor").func)


def test_doctor_reports_each_backend(capsys):
    """On this machine (dockerd and bubblewrap run here) every backend is ready: exit 0, auto -> docker."""
    from agentgym.sandboxes.factory import bwrap_status, docker_status

    args = _parse("doctor")
    code = args.func(args)
    out = capsys.readouterr().out
    assert "[ok  ] bwrap" in out and "local" in out
    docker_ok, bwrap_ok = docker_status().ok, bwrap_status().ok
    assert bwrap_ok, "bubblewrap must work on the CI machine"
    assert code == 0
    assert f"make_sandbox('auto') -> {'docker' if docker_ok else 'bwrap'}" in out


def test_doctor_fails_when_no_backend_isolates(capsys, monkeypatch):
    from agentgym.sandboxes import factory

    broken = lambda name: (lambda *a, **k: factory.BackendStatus(name, False, f"{name} is broken here"))  # noqa: E731
    monkeypatch.setattr(factory, "docker_status", broken("docker"))
    monkeypatch.setattr(factory, "bwrap_status", broken("bwrap"))
    args = _parse("doctor")
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "[FAIL] docker  docker is broken here" in out and "[FAIL] bwrap   bwrap is broken here" in out
    assert "make_sandbox('auto') -> refuses (no isolating backend)" in out


def test_prune_runs(capsys):
    args = _parse("prune")
    assert args.func(args) == 0
    assert "item(s) removed" in capsys.readouterr().out


@pytest.mark.docker
def test_build_is_idempotent_when_images_exist(docker_ready):
    done = subprocess.run([sys.executable, "-m", "agentgym.sandboxes.cli", "build"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
