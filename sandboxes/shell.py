"""ShellSession: bash-style commands whose working directory and exported variables persist.

    shell = sb.shell()
    await shell.run("cd src && export MODE=fast")
    r = await shell.run("pwd; echo $MODE")      # /workspace/src, fast
    r.exit_code                                  # exit status of the command itself

Each call is an independent `exec`, so a timeout or crash never wedges the session; the
state (cwd, `export -p`) is saved in the sandbox's /tmp after every command, even one
that calls `exit`. Background processes do not outlive a command on bwrap.
"""

from __future__ import annotations

import shlex
import uuid

from .models import ExecResult

_PROLOGUE = r"""__ag_state={state}
if [ -f "$__ag_state/env" ]; then . "$__ag_state/env" 2>/dev/null; fi
cd "$(cat "$__ag_state/cwd" 2>/dev/null || echo {workdir})" 2>/dev/null || cd {workdir}
__ag_save() {{
  __ag_rc=$?
  mkdir -p "$__ag_state" && pwd > "$__ag_state/cwd"
  export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_)=' > "$__ag_state/env"
  exit $__ag_rc
}}
trap __ag_save EXIT
eval "$1"
"""


class ShellSession:
    """A persistent bash session on top of a Sandbox (needs bash in the sandbox)."""

    def __init__(self, sandbox, *, shell: str = "bash"):
        self.sandbox = sandbox
        self.shell = shell
        self.state_dir = f"/tmp/.agentgym-shell-{uuid.uuid4().hex[:8]}"
        self._script = _PROLOGUE.format(state=shlex.quote(self.state_dir), workdir=shlex.quote(sandbox.workdir))
        if sandbox.backend == "local":  # the local sandbox's /tmp is the host's: keep state in its own tmp
            self.state_dir = str(sandbox.root / "tmp" / self.state_dir.rsplit("/", 1)[1])
            self._script = _PROLOGUE.format(state=shlex.quote(self.state_dir), workdir=shlex.quote(sandbox.workdir))

    async def run(self, command: str, timeout: float | None = None, **kwargs) -> ExecResult:
        """Run one command line in the session; returns its ExecResult."""
        return await self.sandbox.exec([self.shell, "-c", self._script, "agentgym-shell", command], timeout, **kwargs)

    async def cwd(self) -> str:
        """The session's current directory."""
        return (await self.run("pwd")).stdout.strip()
