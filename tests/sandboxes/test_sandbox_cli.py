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
    args = _parse("doctor")
    code = args.func(args)
    out = capsys.readouterr().out
    assert "docker" in out and "bwrap" in out and "local" in out
    assert "make_sandbox('auto') ->" in out
    assert code in (0, 1)


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
