"""The README's tour, run as written in one working directory, in README order: list/info, the eval
commands (against tiny models served on 127.0.0.1 under the names the README uses), the Python eval
snippet, serving a tiny model and evaluating it, and the dataset snippet. See readme_blocks.py."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_blocks import block, check, run_python, run_shell, shell_env, with_port  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow]
pytest.importorskip("transformers", reason="the tour serves a tiny model: pip install 'agentgym[hf]'")

CONTEXT = 300  # the first maze prompt is ~275 tokens: one short turn, then the episode ends as context_length


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """The newcomer's working directory, shared by the tour's steps."""
    return tmp_path_factory.mktemp("tour")


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory):
    """``gpt-4.1-mini`` (reached through OPENAI_BASE_URL, as the OpenAI API would be) and ``qwen`` (the
    README's `--base-url http://127.0.0.1:8000/v1`), both a small random-weight tiny model."""
    from agentgym.models import init_tiny
    from agentgym.models.server import ModelServer

    path = init_tiny(tmp_path_factory.mktemp("served") / "m", hidden_size=64, layers=2, heads=4, kv_heads=2,
                     corpus_episodes=8)
    with ModelServer(path, model_name="gpt-4.1-mini", max_model_len=CONTEXT) as gpt, \
            ModelServer(path, model_name="qwen", max_model_len=CONTEXT) as qwen:
        yield {"gpt": gpt, "qwen": qwen}


def test_list_and_info(tour):
    out = check(run_shell(block("A 5-minute tour", 0).code, tour, shell_env()), "agentgym list / info")
    assert "toy/maze" in out and "textworld/cooking" in out
    assert "size (int) = 4" in out and "move: Move one cell." in out and "example first observation" in out


def test_evaluate_from_the_command_line(tour, endpoints):
    code = with_port(block("Evaluate a model", 0).code, endpoints["qwen"].port)
    env = shell_env(OPENAI_BASE_URL=endpoints["gpt"].url)  # where "the OpenAI API" is, for this test
    out = check(run_shell(code, tour, env, timeout=600), "the eval commands")
    gpt = json.loads((tour / "runs/maze-gpt/summary.json").read_text())
    assert gpt["episodes"] == 50 and gpt["errors"] == 0 and gpt["model"] == "gpt-4.1-mini"
    oracle = json.loads((tour / "runs/maze-oracle/summary.json").read_text())
    assert oracle["episodes"] == 20 and oracle["success_rate"] == 1.0
    runs = {p.name.split("-qwen-")[0]: p for p in (tour / "runs").iterdir() if "-qwen-" in p.name}
    assert set(runs) == {"search-kb", "textworld-cooking"}, sorted(p.name for p in (tour / "runs").iterdir())
    for run in runs.values():
        summary = json.loads((run / "summary.json").read_text())
        assert summary["errors"] == 0 and summary["episodes"] in (4, 10), summary
    assert out.count("95% CI") == 4


def test_evaluate_from_python(tour, endpoints):
    env = shell_env(OPENAI_BASE_URL=endpoints["gpt"].url, OPENAI_API_KEY="sk-local")
    out = check(run_python(block("Evaluate a model", 1).code, tour, env), "the Python eval snippet")
    assert "success" in out and "95% CI" in out and out.strip().splitlines()[-1].startswith("(True, ")
    summary = json.loads((tour / "runs/maze/summary.json").read_text())
    assert summary["episodes"] == 32 and summary["errors"] == 0


def test_serve_a_local_model_and_evaluate_it(tour):
    from agentgym.testing import free_port

    code = block("Evaluate a model", 2).code
    assert "agentgym serve-model runs/tiny --port 8000 &" in code and "--retry-connrefused" in code
    t0 = time.perf_counter()
    out = check(run_shell(with_port(code, free_port()), tour, shell_env(), timeout=600), "serve-model + eval")
    assert (tour / "runs/tiny/config.json").exists()
    assert re.search(r"^episodes +8$", out, re.M) and re.search(r"^errors +0$", out, re.M) and "8 max_turns" in out, out
    print(f"serve block: {time.perf_counter() - t0:.1f} s")


def test_runs_become_datasets(tour):
    code = block("Evaluate a model", 3).code + "print(len(ds), type(ds[0]['tools']).__name__, len(text))\n"
    out = check(run_python(code, tour, shell_env()), "the dataset snippet")
    rows, tools_type, chars = out.split()[-3:]
    assert int(rows) == 20 and tools_type == "list" and int(chars) > 500


def test_look_at_the_results(tour):
    import urllib.request

    from readme_blocks import start_server

    lines = [ln for ln in block("Look at the results", 0).code.splitlines() if ln.strip()]
    batch = "\n".join(ln for ln in lines if not ln.startswith("agentgym view"))
    check(run_shell(batch, tour, shell_env()), "agentgym report")
    for page in ("report.html", "cmp.html"):
        html = (tour / page).read_text()
        assert "maze-gpt" in html or "gpt-4.1-mini" in html
    (view,) = [ln for ln in lines if ln.startswith("agentgym view")]
    with start_server(view, tour, shell_env(), r"http://127\.0\.0\.1:\d+\S*") as url:
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and b"<html" in r.read(2000).lower()
