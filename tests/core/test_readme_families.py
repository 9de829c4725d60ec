"""README.md's family commands, run as written: filling the caches, the sandbox commands, and the
env server with an eval against it and a Ray-executor eval. Uses the default cache
(~/.cache/agentgym, as the README's commands do): a cold cache makes the first run slower."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block, check, run_shell, shell_env, start_server, with_port  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.textworld
def test_fill_the_caches(tmp_path):
    pytest.importorskip("textworld", reason="textworld is not installed: pip install 'agentgym[textworld]'")
    out = check(run_shell(block("Environments", 0).code, tmp_path, shell_env(), timeout=900), "the pregen commands")
    assert out.count("textworld/cooking train #") == 8 and "[12/12]" in out
    assert '"seconds"' in out or "documents" in out.lower()  # build-kb reports what it built or found


@pytest.mark.docker
def test_sandbox_commands(tmp_path):
    out = check(run_shell(block("Sandboxes", 0).code, tmp_path, shell_env(), timeout=900), "the sandbox commands")
    assert "make_sandbox('auto') ->" in out and "ready: agentgym/python" in out and "item(s) removed" in out


@pytest.mark.textworld
def test_env_server_and_scale(tmp_path):
    pytest.importorskip("ray", reason="the README's --executor ray line needs ray: pip install 'agentgym[ray]'")
    from agentgym.testing import free_port

    port = free_port()
    serve, *evals = [ln for ln in with_port(block("Env server and scale", 0).code, port).splitlines() if ln.strip()]
    assert serve.startswith("agentgym serve ")
    with start_server(serve, tmp_path, shell_env(), health=f"http://127.0.0.1:{port}/health", timeout=300):
        out = check(run_shell("\n".join(evals), tmp_path, shell_env(), timeout=900), "the eval commands")
    assert len(re.findall(r"^success +1\.000", out, re.M)) == 2, out
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/summary.json")]
    assert sorted(s["episodes"] for s in summaries) == [10, 20] and all(s["errors"] == 0 for s in summaries)
