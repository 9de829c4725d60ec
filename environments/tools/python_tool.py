"""The ``python`` tool: run a code cell in a sandbox and describe what happened as text.

Code never runs in the env's process. Each cell is a fresh ``python3`` in the env's sandbox
(bubblewrap by default, Docker optional); files written by one cell stay visible to the
next until the episode ends. A final bare expression's value is reported like a notebook::

    runner = PythonRunner(sandbox="bwrap", timeout=5)
    out = await runner.run("x = 6 * 7\\nx")
    out.text        # '[result] 42'
    out.ok          # True
    await runner.close()

Timeouts, crashes, memory exhaustion and huge outputs come back as clear text with
``ok=False``; they never raise.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

RESULT_MARK = "\x00agentgym-result\x00"
ERROR_MARK = "\x00agentgym-error\x00"
MAX_REPR_CHARS = 2000

# Runs inside the sandbox: decodes the cell from argv, executes it, reports the last
# expression's value and a traceback trimmed to the user's own frames.
RUNNER = r"""
import ast, base64, os, sys
src = base64.b64decode(sys.argv[1]).decode("utf-8", "replace")
if len(sys.argv) > 2 and sys.argv[2] == "fresh":  # a new episode: remove files left by earlier cells
    import shutil
    for name in os.listdir("."):
        try:
            shutil.rmtree(name) if os.path.isdir(name) and not os.path.islink(name) else os.remove(name)
        except OSError:
            pass
g = {"__name__": "__main__", "__builtins__": __builtins__}
main_pid = os.getpid()
try:
    tree = ast.parse(src, "<cell>", "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, "<cell>", "exec"), g)
    if last is not None:
        value = eval(compile(last, "<cell>", "eval"), g)
        if value is not None:
            try:
                text = repr(value)
            except Exception as e:
                text = "<unprintable %s: %s>" % (type(value).__name__, e)
            sys.stdout.flush()
            sys.stdout.write("%s%s" % (MARK_R, text[:LIMIT]))
except SystemExit:
    raise
except BaseException as e:
    if os.getpid() != main_pid:  # a forked child: stay quiet
        os._exit(1)
    import traceback
    tb = e.__traceback__.tb_next if e.__traceback__ is not None else None
    if isinstance(e, SyntaxError):
        lines = traceback.format_exception_only(type(e), e)
    else:
        lines = ["Traceback (most recent call last):\n"] + traceback.format_tb(tb) + traceback.format_exception_only(type(e), e)
    sys.stdout.flush()
    sys.stderr.write("".join(lines)[-4000:])
    sys.stderr.write("%s%s: %s" % (MARK_E, type(e).__name__, str(e)[:500]))
    sys.stderr.flush()
    sys.exit(1)
""".replace("MARK_R", repr(RESULT_MARK)).replace("MARK_E", repr(ERROR_MARK)).replace("LIMIT", str(MAX_REPR_CHARS))


@dataclass
class CellOutcome:
    """What one cell did. ``text`` is what the model sees; ``ok`` is False on any failure."""

    text: str
    ok: bool
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: str | None = None
    exit_code: int | None = None
    timed_out: bool = False
    truncated: bool = False
    duration: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def _split_mark(text: str, mark: str) -> tuple[str, str | None]:
    if mark in text:
        before, _, after = text.rpartition(mark)
        return before, after
    return text, None


def describe(exit_code: int | None, stdout: str, stderr: str, *, timed_out: bool, truncated: bool, timeout: float,
             memory_mb: int | None, duration: float = 0.0) -> CellOutcome:
    """Turns a raw execution into the text the model sees."""
    stdout, result = _split_mark(stdout or "", RESULT_MARK)
    stderr, error = _split_mark(stderr or "", ERROR_MARK)
    parts: list[str] = []
    if stdout.strip():
        parts.append(f"[stdout]\n{stdout.rstrip()}")
    if stderr.strip():
        parts.append(f"[stderr]\n{stderr.rstrip()}")
    if result is not None:
        parts.append(f"[result] {result}")
    killed = exit_code is not None and (exit_code < 0 or exit_code in (137, 139)) and not timed_out
    if timed_out:
        parts.append(f"[error] Timeout: the code ran for more than {timeout:g} s and was stopped. "
                     "Look for infinite loops or do less work per call.")
    elif killed:
        mem = f" of {memory_mb} MB" if memory_mb else ""
        parts.append(f"[error] The process was killed (exit code {exit_code}); it probably exceeded the memory "
                     f"limit{mem} or the process limit. Use less memory and do not spawn processes.")
    elif error is not None:
        parts.append(f"[error] {error}")
    elif exit_code not in (0, None):
        parts.append(f"[error] The process exited with code {exit_code}.")
    if truncated:
        parts.append("[note] The output was too long and was truncated; print less (e.g. a summary or a slice).")
    if not parts:
        parts.append("(no output: print() something or end the cell with an expression to see its value)")
    ok = exit_code == 0 and not timed_out
    return CellOutcome(text="\n".join(parts), ok=ok, stdout=stdout, stderr=stderr, result=result, error=error,
                       exit_code=exit_code, timed_out=timed_out, truncated=truncated, duration=duration)


def strip_fences(code: str) -> str:
    """Removes a Markdown fence around the whole cell (```python … ```), which models often add."""
    stripped = code.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) > 6:
        body = stripped[3:-3]
        first, _, rest = body.partition("\n")
        return rest if first.strip().isidentifier() or not first.strip() else body
    return code


class PythonRunner:
    """Runs code cells in one lazily started sandbox (``bwrap`` | ``docker`` | ``auto``).

    Args:
        sandbox: sandbox kind passed to ``agentgym.sandboxes.make_sandbox``.
        timeout: seconds per cell.
        memory_mb: memory limit of the sandbox.
        output_bytes: stdout/stderr cap per cell.
        python: interpreter inside the sandbox (``python3``: the sandbox's, stdlib only on a bare host; pass
            e.g. ``sys.executable`` with bwrap to offer agentgym's own environment, numpy/sympy included).
    """

    def __init__(self, sandbox: str = "bwrap", *, timeout: float = 10.0, memory_mb: int = 512,
                 output_bytes: int = 16_384, python: str = "python3", **sandbox_kwargs: Any):
        if sandbox == "local" and not sandbox_kwargs.get("allow_local"):
            raise ValueError("sandbox='local' runs model code on this machine unconfined; "
                             "pass allow_local=True if you really mean it, or use 'bwrap'/'docker'")
        self.kind, self.timeout, self.memory_mb, self.output_bytes = sandbox, float(timeout), memory_mb, output_bytes
        self.python = python
        self.sandbox_kwargs = sandbox_kwargs
        self._sandbox: Any = None
        self._dirty = False  # cells ran since the last clear()
        self._fresh = False  # the next cell starts by emptying the workspace

    async def _ensure(self) -> Any:
        if self._sandbox is None:
            from agentgym.sandboxes import Limits, make_sandbox

            limits = Limits(timeout=self.timeout, memory_mb=self.memory_mb, cpus=1.0, pids=64, file_size_mb=64,
                            output_bytes=self.output_bytes)
            sandbox = make_sandbox(self.kind, limits=limits, **self.sandbox_kwargs)
            await sandbox.start()
            self._sandbox = sandbox
        return self._sandbox

    async def run(self, code: str) -> CellOutcome:
        """Executes one cell; every failure becomes a :class:`CellOutcome` with ``ok=False``."""
        if not isinstance(code, str) or not code.strip():
            return CellOutcome(text="[error] The code is empty; send Python source, e.g. print(6 * 7).", ok=False)
        sandbox = await self._ensure()
        from agentgym.sandboxes import SandboxError

        encoded = base64.b64encode(strip_fences(code).encode("utf-8", "replace")).decode()
        argv = [self.python, "-I", "-c", RUNNER, encoded] + (["fresh"] if self._fresh else [])
        self._dirty, self._fresh = True, False
        try:
            r = await sandbox.exec(argv, timeout=self.timeout)
        except SandboxError as e:
            return CellOutcome(text=f"[error] The sandbox failed to run the code: {e}", ok=False,
                               info={"sandbox_error": str(e)})
        out = describe(r.exit_code, r.stdout, r.stderr, timed_out=r.timed_out, truncated=r.truncated,
                       timeout=self.timeout, memory_mb=self.memory_mb, duration=r.duration)
        return out

    async def clear(self) -> None:
        """Forgets files left by earlier cells (between episodes); done by the next cell, no extra exec."""
        if self._dirty:
            self._fresh, self._dirty = True, False

    async def close(self) -> None:
        if self._sandbox is not None:
            sandbox, self._sandbox = self._sandbox, None
            await sandbox.close()


__all__ = ["PythonRunner", "CellOutcome", "describe", "strip_fences", "RUNNER"]
