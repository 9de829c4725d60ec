"""The oracle: the gold patch turned into ``str_replace_editor`` calls.

    edits = await gold_edits(row, editor)    # [{"command": "str_replace", "path": ..., "old_str": ..., "new_str": ...}, ...]

Each hunk becomes one ``str_replace`` whose old text (context and removed lines) is unique in
the file at that point; new files become ``create``. A patch that cannot be written that way
(an ambiguous hunk, more than ``MAX_HUNKS`` hunks in a file, a deleted file) raises ValueError. The base files are read from the host copy of the tree (the agent's sandbox is not
needed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .rows import SWETask

MAX_HUNKS = 10
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


def parse_patch(patch: str) -> list[dict[str, Any]]:
    """Files of a git diff: ``{"path", "new", "deleted", "hunks": [(old_lines, new_lines)]}``."""
    files: list[dict[str, Any]] = []
    for block in re.split(r"^diff --git ", patch, flags=re.M)[1:]:
        lines = block.split("\n")
        match = re.match(r"a/(\S+) b/(\S+)", lines[0])
        if not match:
            continue
        entry: dict[str, Any] = {"path": match.group(2), "new": False, "deleted": False, "hunks": []}
        hunk: tuple[list[str], list[str]] | None = None
        for line in lines[1:]:
            if hunk is None and line.startswith("new file mode"):
                entry["new"] = True
            elif hunk is None and line.startswith("deleted file mode"):
                entry["deleted"] = True
            if _HUNK.match(line):
                hunk = ([], [])
                entry["hunks"].append(hunk)
            elif hunk is not None and line[:1] in (" ", "-", "+"):
                if line[0] in (" ", "-"):
                    hunk[0].append(line[1:])
                if line[0] in (" ", "+"):
                    hunk[1].append(line[1:])
        files.append(entry)
    return files


def _apply(text: str, hunks: list[tuple[list[str], list[str]]]) -> tuple[str, list[tuple[str, str]]] | None:
    """(new text, [(old_str, new_str)]) when every hunk's old text is unique in turn; else None."""
    replacements = []
    for old_lines, new_lines in hunks:
        old, new = "\n".join(old_lines), "\n".join(new_lines)
        if not old.strip() or text.count(old) != 1:
            return None
        text = text.replace(old, new)
        replacements.append((old, new))
    return text, replacements


async def gold_edits(row: SWETask, tree_dir: Path | None = None) -> list[dict[str, Any]]:
    """Editor arguments that turn the base checkout into base + gold patch."""
    from .repos import task_tree

    tree = tree_dir or task_tree(row)
    edits: list[dict[str, Any]] = []
    for entry in parse_patch(row.patch):
        path = entry["path"]
        if entry["new"]:
            text = "\n".join(line for old, new in entry["hunks"] for line in new)
            edits.append({"command": "create", "path": path, "file_text": text + "\n"})
            continue
        if entry["deleted"]:
            raise ValueError(f"{row.instance_id}: the gold patch deletes {path}; the editor cannot delete files")
        base = (tree / path).read_text(encoding="utf-8")
        done = _apply(base, entry["hunks"]) if len(entry["hunks"]) <= MAX_HUNKS else None
        if done is None:
            raise ValueError(f"{row.instance_id}: cannot express the gold patch of {path} as unique replacements")
        for old, new in done[1]:
            edits.append({"command": "str_replace", "path": path, "old_str": old, "new_str": new})
    return edits
