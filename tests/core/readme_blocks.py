"""README.md's fenced code blocks, and how the README tests run them (a helper, not a test module).

Every ``bash``, ``python`` and ``toml`` block is listed in :data:`CLAIMS` with the test that
executes it as written, or the reason it is not executed here (and where it is exercised
instead). ``test_readme.py::test_every_block_is_run_or_accounted_for`` fails when a block is
added, removed or moved without updating this list, so the README cannot drift unnoticed.

What "as written" allows: port 8000 of a command becomes a free port (the machine is shared;
another process may hold 8000; `agentgym serve`, 8000 by default, gets `--port`); a ``&`` server is stopped (by process group) after its block;
a command that serves in the foreground until stopped (``agentgym serve``, ``agentgym view``)
is started on its own, used, then stopped. Nothing else in a command is changed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
RUN = "run"

# (section heading, index of the block within the section) -> test that runs it, or "skip: why"
CLAIMS: dict[tuple[str, int], str] = {
    ("Quick start", 0): "skip: `make demo` is the demo pipeline (tests/trainers/test_demo.py runs it small); "
                        "`make test` is this suite itself (.ci/run calls it)",
    ("A 5-minute tour", 0): "test_readme_tour.py::test_list_and_info",
    ("Evaluate a model", 0): "test_readme_tour.py::test_evaluate_from_the_command_line",
    ("Evaluate a model", 1): "test_readme_tour.py::test_evaluate_from_python",
    ("Evaluate a model", 2): "test_readme_tour.py::test_serve_a_local_model_and_evaluate_it",
    ("Evaluate a model", 3): "test_readme_tour.py::test_runs_become_datasets",
    ("Look at the results", 0): "test_readme_tour.py::test_look_at_the_results",
    ("Train on CPU", 0): "skip: training runs for minutes; `make demo` = tests/trainers/test_demo.py (small sizes), "
                         "`agentgym train CONFIG --set ... --resume` = tests/trainers/test_config_cli.py::"
                         "test_cli_trains_resumes_and_writes_the_run_directory, configs/maze-grpo-cpu.yaml = "
                         "test_every_example_config_validates and tests/test_wheel.py (found by name)",
    ("Add an environment", 0): "test_readme.py::test_add_an_environment",
    ("Add an environment", 1): "test_readme.py::test_add_an_environment",
    ("Add an environment", 2): "test_readme.py::test_add_an_environment",
    ("Add an environment", 3): "test_readme.py::test_the_entry_point_way",
    ("Environments", 0): "test_readme_families.py::test_fill_the_caches",
    ("Sandboxes", 0): "test_readme_families.py::test_sandbox_commands",
    ("Sandboxes", 1): "test_readme.py::test_sandbox_snippet",
    ("Env server and scale", 0): "test_readme_families.py::test_env_server_and_scale",
}


@dataclass(frozen=True)
class Block:
    section: str
    index: int
    lang: str
    code: str
    line: int


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block with a language, keyed by its nearest heading and its index under it."""
    text = README.read_text() if text is None else text
    out: list[Block] = []
    section, counts = "", {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"#{2,3} (.+)", line)
        if heading:
            section = heading.group(1).strip()
        fence = re.match(r"```(\w+)\s*$", line)
        if fence:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            n = counts.get(section, 0)
            counts[section] = n + 1
            out.append(Block(section, n, fence.group(1), "\n".join(lines[i + 1:j]) + "\n", i + 1))
            i = j
        i += 1
    return [b for b in out if b.lang in ("bash", "python", "toml")]


def block(section: str, index: int) -> Block:
    found = [b for b in blocks() if b.section == section and b.index == index]
    assert found, f"README.md has no block {index} under '{section}': update tests/core/readme_blocks.py"
    return found[0]


def shell_env(**extra: str) -> dict[str, str]:
    """A clean environment for README commands: the venv's ``agentgym`` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update({"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra})
    return env


def with_port(code: str, port: int) -> str:
    """The block with port 8000 replaced by ``port``; ``agentgym serve`` (8000 by default) gets ``--port``."""
    code = re.sub(r"(127\.0\.0\.1:|--port )8000\b", lambda m: f"{m.group(1)}{port}", code)
    return re.sub(r"^(agentgym serve (?!.*--port)[^#\n]*?)(\s*(#.*)?)$", lambda m: f"{m.group(1)} --port {port}{m.group(2)}",
                  code, flags=re.M)


def run_shell(code: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs a block with ``bash -euo pipefail``; anything it left in the background is stopped afterwards.

    Output goes to files, not pipes: a background server keeps a pipe open long after the block ends.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", code], cwd=cwd, env=env, text=True,
                                stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out.seek(0), err.seek(0)
            raise AssertionError(f"README block timed out after {timeout} s\n{out.read()[-3000:]}\n{err.read()[-3000:]}")
        finally:
            stop_group(proc.pid)
        out.seek(0), err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


def stop_group(pgid: int) -> None:
    """SIGTERM, then SIGKILL, to the process group this helper started (a README `&` server)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def run_python(code: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs a block as a script (``python -c``) in ``cwd``, as a user pasting it into a file would."""
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, text=True, capture_output=True,
                         timeout=timeout)
    return out


def check(result: subprocess.CompletedProcess, what: str) -> str:
    assert result.returncode == 0, f"{what} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}" \
                                   f"\n--- stderr\n{result.stderr[-4000:]}"
    return result.stdout


@contextlib.contextmanager
def start_server(command: str, cwd: Path, env: dict[str, str], ready: str | None = None,
                 health: str | None = None, timeout: float = 120):
    """Starts a foreground server command on its own and waits until it is ready: the first match of
    the regex ``ready`` in its output (yielded), or ``health`` answering 200 (yielded). Its whole
    process group is stopped on exit."""
    import urllib.request

    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", command], cwd=cwd, env=env, text=True,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                text = Path(log.name).read_text()
                found = re.search(ready, text) if ready else None
                if found:
                    value = found.group(0)
                    break
                if health:
                    try:
                        with urllib.request.urlopen(health, timeout=2) as r:
                            if r.status == 200:
                                value = health
                                break
                    except OSError:
                        pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"`{command}` did not get ready (exit {proc.returncode}):\n{text[-3000:]}")
                time.sleep(0.3)
            yield value
        finally:
            stop_group(proc.pid)
            proc.wait()
