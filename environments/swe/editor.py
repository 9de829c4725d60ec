"""``str_replace_editor``: view, create, str_replace, insert and undo_edit on files in the sandbox.

    editor = Editor(sandbox)
    await editor.run("view", "semverlite/version.py", view_range=[1, 20])
    await editor.run("str_replace", "semverlite/version.py", old_str="a < b", new_str="a <= b")
    await editor.run("undo_edit", "semverlite/version.py")

The semantics agents know from SWE-agent and OpenHands: ``view`` numbers lines (``cat -n``) and
lists directories two levels deep; ``create`` refuses to overwrite; ``str_replace`` needs
exactly one match and otherwise says how many (and on which lines); ``insert`` adds text after
``insert_line`` (0 = the top); ``undo_edit`` restores the file as it was before its last edit.
Paths are relative to the repository (/workspace) or absolute inside it; ``.git`` and paths
outside the repository are refused, and so are binary files. Every mistake raises
:class:`~agentgym.env.ToolError` with a message for the model.
"""

from __future__ import annotations

import posixpath
import shlex

from agentgym.env import ToolError
from agentgym.sandboxes import Sandbox, SandboxError

from .checkout import WORKDIR

MAX_FILE_BYTES = 1 << 20
SNIPPET_LINES = 4


def number_lines(text: str, start: int = 1) -> str:
    return "\n".join(f"{i:6}\t{line}" for i, line in enumerate(text.split("\n"), start=start))


class Editor:
    """The editor over one sandbox's workspace, with a per-file undo history."""

    def __init__(self, sandbox: Sandbox, max_output_chars: int = 16000):
        self.sandbox = sandbox
        self.max_output_chars = max_output_chars
        self.history: dict[str, list[str | None]] = {}

    # ------------------------------------------------------------------ paths and files
    def relative(self, path: str) -> str:
        """The path relative to the repository; ToolError for paths outside it or inside .git."""
        if not isinstance(path, str) or not path.strip():
            raise ToolError("`path` is empty; give a file path such as semverlite/version.py")
        if "\x00" in path:
            raise ToolError("`path` contains a NUL byte")
        raw = path.strip()
        full = posixpath.normpath(raw if raw.startswith("/") else posixpath.join(WORKDIR, raw))
        if full != WORKDIR and not full.startswith(WORKDIR + "/"):
            raise ToolError(f"{path} is outside the repository; paths must be inside {WORKDIR}")
        rel = full[len(WORKDIR) + 1:] if full != WORKDIR else ""
        if rel == ".git" or rel.startswith(".git/"):
            raise ToolError(f"{path} is inside .git; edit the working tree, not git's internals")
        return rel

    async def kind(self, rel: str) -> str:
        """'file', 'dir' or 'missing'."""
        target = shlex.quote(f"{WORKDIR}/{rel}" if rel else WORKDIR)
        result = await self.sandbox.exec(["sh", "-c", f"if [ -L {target} ]; then echo link; elif [ -d {target} ]; "
                                                      f"then echo dir; elif [ -f {target} ]; then echo file; "
                                                      "elif [ -e {target} ]; then echo other; else echo missing; fi"],
                                         timeout=30)
        return result.stdout.strip() or "missing"

    async def read(self, rel: str, display: str) -> str:
        try:
            data = await self.sandbox.read_file(rel, max_bytes=MAX_FILE_BYTES)
        except FileNotFoundError:
            raise ToolError(f"the file {display} does not exist") from None
        except SandboxError as exc:
            raise ToolError(f"cannot read {display}: {exc}") from None
        if b"\x00" in data:
            raise ToolError(f"{display} is a binary file; the editor works on text files only")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolError(f"{display} is not UTF-8 text; the editor works on text files only") from None

    async def write(self, rel: str, text: str, display: str) -> None:
        try:
            await self.sandbox.write_file(rel, text)
        except SandboxError as exc:
            raise ToolError(f"cannot write {display}: {exc}") from None

    def _clip(self, text: str) -> str:
        if len(text) <= self.max_output_chars:
            return text
        cut = len(text) - self.max_output_chars
        return (text[: self.max_output_chars] + f"\n[output truncated: {cut} of {len(text)} characters cut; "
                "use view_range to see a part]")

    # ------------------------------------------------------------------ commands
    async def run(self, command: str, path: str, *, file_text: str | None = None, old_str: str | None = None,
                  new_str: str | None = None, insert_line: int | None = None,
                  view_range: list[int] | None = None) -> str:
        rel = self.relative(path)
        display = f"{WORKDIR}/{rel}" if rel else WORKDIR
        if command == "view":
            return await self.view(rel, display, view_range)
        if command == "create":
            if file_text is None:
                raise ToolError("`file_text` is required for create")
            kind = await self.kind(rel)
            if kind != "missing":
                raise ToolError(f"{display} already exists; create does not overwrite (use str_replace to edit)")
            await self.write(rel, file_text, display)
            self.history.setdefault(rel, []).append(None)
            return f"File created successfully at: {display}"
        if command == "str_replace":
            return await self.str_replace(rel, display, old_str, new_str)
        if command == "insert":
            return await self.insert(rel, display, insert_line, new_str)
        if command == "undo_edit":
            return await self.undo(rel, display)
        raise ToolError(f"unknown command {command!r}; use view, create, str_replace, insert or undo_edit")

    async def view(self, rel: str, display: str, view_range: list[int] | None) -> str:
        kind = await self.kind(rel)
        if kind == "dir":
            if view_range:
                raise ToolError("view_range applies to files, not directories")
            target = shlex.quote(f"{WORKDIR}/{rel}" if rel else WORKDIR)
            result = await self.sandbox.exec(["sh", "-c", f"find {target} -maxdepth 2 -not -path '*/.*' | sort"],
                                             timeout=30)
            return self._clip(f"Files and directories up to 2 levels deep in {display}, hidden items excluded:\n"
                              + result.stdout.rstrip())
        if kind == "missing":
            raise ToolError(f"the path {display} does not exist")
        if kind not in ("file", "link"):
            raise ToolError(f"{display} is not a regular file or directory")
        text = await self.read(rel, display)
        lines = text.split("\n")
        start = 1
        if view_range is not None:
            if len(view_range) != 2 or not all(isinstance(n, int) and not isinstance(n, bool) for n in view_range):
                raise ToolError("view_range must be two integers [start, end] (end -1 = to the end of the file)")
            first, last = view_range
            if not 1 <= first <= len(lines):
                raise ToolError(f"view_range start {first} is outside the file's lines [1, {len(lines)}]")
            if last != -1 and not first <= last <= len(lines):
                raise ToolError(f"view_range end {last} must be -1 or within [{first}, {len(lines)}]")
            lines = lines[first - 1:] if last == -1 else lines[first - 1:last]
            start = first
        return self._clip(f"Here's the result of running `cat -n` on {display}:\n"
                          + number_lines("\n".join(lines), start))

    def _snippet(self, text: str, line: int, extra: int) -> str:
        lines = text.split("\n")
        first = max(0, line - SNIPPET_LINES)
        last = min(len(lines), line + extra + SNIPPET_LINES)
        return number_lines("\n".join(lines[first:last]), first + 1)

    async def str_replace(self, rel: str, display: str, old_str: str | None, new_str: str | None) -> str:
        if old_str is None or old_str == "":
            raise ToolError("`old_str` is required for str_replace and must not be empty")
        text = await self.read(rel, display)
        count = text.count(old_str)
        if count == 0:
            raise ToolError(f"No replacement was performed: old_str did not appear verbatim in {display} "
                            "(check whitespace and indentation; view the file first)")
        if count > 1:
            lines = [i + 1 for i, _ in enumerate(text.split("\n")) if old_str.split("\n")[0] in _]
            raise ToolError(f"No replacement was performed: old_str occurs {count} times in {display} (lines "
                            f"{lines[:20]}); include more surrounding lines to make it unique")
        new_str = new_str or ""
        updated = text.replace(old_str, new_str)
        await self.write(rel, updated, display)
        self.history.setdefault(rel, []).append(text)
        line = text.split(old_str)[0].count("\n")
        return (f"The file {display} has been edited. Here's the result of running `cat -n` on a snippet:\n"
                f"{self._snippet(updated, line, new_str.count(chr(10)))}\nReview the changes and edit again if needed.")

    async def insert(self, rel: str, display: str, insert_line: int | None, new_str: str | None) -> str:
        if insert_line is None or new_str is None:
            raise ToolError("insert needs `insert_line` (0 = top of the file) and `new_str`")
        text = await self.read(rel, display)
        lines = text.split("\n")
        if not 0 <= insert_line <= len(lines):
            raise ToolError(f"insert_line {insert_line} is outside [0, {len(lines)}]")
        updated = "\n".join(lines[:insert_line] + new_str.split("\n") + lines[insert_line:])
        await self.write(rel, updated, display)
        self.history.setdefault(rel, []).append(text)
        return (f"The file {display} has been edited. Here's the result of running `cat -n` on a snippet:\n"
                f"{self._snippet(updated, insert_line, new_str.count(chr(10)) + 1)}\n"
                "Review the changes (indentation, duplicates) and edit again if needed.")

    async def undo(self, rel: str, display: str) -> str:
        history = self.history.get(rel)
        if not history:
            raise ToolError(f"no edit to undo for {display}")
        previous = history.pop()
        if previous is None:  # the file was created by the editor
            await self.sandbox.exec(["rm", "-f", "--", f"{WORKDIR}/{rel}"], timeout=30)
            return f"Undid the creation of {display} (the file was removed)."
        await self.write(rel, previous, display)
        return f"Last edit to {display} undone. Its content now:\n{self._clip(number_lines(previous))}"
