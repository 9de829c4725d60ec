"""``agentgym serve`` and ``agentgym eval --remote`` / ``--executor ray`` as users type them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx

from pathlib import Path

import uvicorn

from agentgym.cli import main
from agentgym.testing import free_port

AGENTGYM = str(Path(sys.executable).with_name("agentgym"))


def test_eval_remote_against_a_served_env(tmp_path):
    port = free_port()
    server = subprocess.Popen([AGENTGYM, "serve", "toy/maze", "--port", str(port),
                               "--env-arg", "size=3", "--token", "tok"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        env = {"AGENTGYM_SERVER_TOKEN": "tok"}
        out = subprocess.run([AGENTGYM, "eval", "--remote", url, "--policy", "oracle",
                              "--episodes", "4", "--out", str(tmp_path / "run"), "--no-progress"],
                             capture_output=True, text=True, env={**__import__("os").environ, **env}, timeout=120)
        assert out.returncode == 0, out.stderr
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert summary["env"] == "toy/maze" and summary["success_rate"] == 1.0 and summary["episodes"] == 4
        assert httpx.get(url + "/sessions", headers={"Authorization": "Bearer tok"}).json()["sessions"] == 0
    finally:
        server.terminate()
        server.wait(30)


def test_serve_warns_off_loopback_without_token_and_refuses_bad_input(capsys, monkeypatch):
    assert main(["serve", "toy/mazee"]) == 2
    assert "did you mean" in capsys.readouterr().err.lower()
    assert main(["serve", "toy/maze", "--env-arg", "sise=3"]) == 2
    assert "sise" in capsys.readouterr().err
    assert main(["eval", "--policy", "oracle"]) == 2
    assert "--remote" in capsys.readouterr().err
    ran = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))  # never bind off loopback in tests
    assert main(["serve", "toy/maze", "--host", "0.0.0.0"]) == 0
    err = capsys.readouterr().err
    assert "without a token" in err and "--token" in err and ran[0]["host"] == "0.0.0.0"
    assert main(["serve", "toy/maze", "--host", "0.0.0.0", "--token", "t"]) == 0
    assert "without a token" not in capsys.readouterr().err
    assert main(["serve", "toy/maze"]) == 0 and ran[-1]["host"] == "127.0.0.1"
    assert ran[-1]["ws_per_message_deflate"] is False  # per-frame compression costs CPU on every step
    assert main(["serve", "toy/maze", "--ws-compression"]) == 0 and ran[-1]["ws_per_message_deflate"] is True
