"""`agentgym model init-tiny` and `agentgym serve-model` as users run them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from agentgym.cli import main

pytestmark = pytest.mark.train


def test_init_tiny_command(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["model", "init-tiny", str(out), "--hidden-size", "32", "--layers", "1", "--heads", "2",
                 "--kv-heads", "1", "--arch", "llama"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["path"] == str(out) and info["parameters"] > 0
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"
    assert main(["model", "init-tiny", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["model", "init-tiny", str(tmp_path / "bad"), "--hidden-size", "30"]) == 2
    assert "divisible by heads" in capsys.readouterr().err


def test_serve_model_command(tiny_path, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MY_KEY": "k1"}
    cmd = [sys.executable, "-m", "agentgym.cli", "serve-model", str(tiny_path), "--port", str(port),
           "--model-name", "tiny", "--api-key-env", "MY_KEY"]
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 180  # generous: a loaded CI machine imports torch slowly
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"serve-model did not come up (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", headers={"Authorization": "Bearer k1"},
                       json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
                       timeout=60)
        assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] <= 4
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 401
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_model_rejects_a_non_model_dir(tmp_path, capsys):
    assert main(["serve-model", str(tmp_path)]) == 2
    assert "not a model directory" in capsys.readouterr().err
