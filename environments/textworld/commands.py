"""Checking a model's game command before it reaches a text-game engine.

The engines are C and grammar code that trust their input: a NUL byte segfaults Jericho's
frotz (the whole process dies), a line starting with ``\\`` is a dumb-frotz meta-command that
loops forever, a lone surrogate cannot be encoded (TextWorld escapes it to ``\\udXXX``, which
then starts with ``\\``), and Jericho silently cuts anything past 198 UTF-8 bytes. So a command
is normalised, then either accepted or turned into a short message for the model that names
what was wrong (characters shown as ``U+XXXX``, so the message itself is always valid text).

    command = normalize_command("  > 'open fridge' ")      # -> "open fridge"
    problem = command_problem("open door\\x00")            # -> ("control", "... U+0000 ...")
"""

from __future__ import annotations

import re
import unicodedata

# Jericho's INPUT_BUFFER_SIZE: longer commands are truncated by the interpreter.
MAX_COMMAND_BYTES = 198
_SPACES = re.compile(r"[ \t]+")
# Characters that are never part of a game command: C0/C1 controls (NUL, ESC, DEL, ...) and
# lone surrogates. Other Unicode (accents, emoji) reaches the game, whose parser answers it.
_BAD_CATEGORIES = {"Cc": "a control character", "Cs": "a lone surrogate"}


def normalize_command(command: str) -> str:
    """Strips whitespace, a leading ``>`` prompt and surrounding quotes; collapses spaces and tabs."""
    command = command.strip()
    if command.startswith(">"):
        command = command[1:].strip()
    if len(command) >= 2 and command[0] == command[-1] and command[0] in "'\"`":
        command = command[1:-1].strip()
    return _SPACES.sub(" ", command)


def code_point(ch: str) -> str:
    """``U+0000``-style name of one character (safe to show whatever the character is)."""
    return f"U+{ord(ch):04X}"


def command_problem(command: str, max_bytes: int = MAX_COMMAND_BYTES) -> tuple[str, str] | None:
    """``(error kind, message for the model)`` if ``command`` (already normalised) must not reach
    the engine, else None. Kinds: ``empty``, ``multiline``, ``bad_character``, ``meta_command``,
    ``too_long``."""
    if not command:
        return "empty", "the command is empty. Reply with one game command, e.g. 'look' or 'go north'."
    if len(command.splitlines()) > 1:
        return "multiline", "send exactly one command per turn (your reply has several lines)."
    for ch in command:
        kind = _BAD_CATEGORIES.get(unicodedata.category(ch))
        if kind:
            return "bad_character", (f"the command contains {kind} ({code_point(ch)}); game commands are plain "
                                     "words, e.g. 'open door'. Send it again without that character.")
    if command.startswith("\\"):
        return "meta_command", "game commands cannot start with a backslash; send plain words, e.g. 'look'."
    size = len(command.encode("utf-8"))
    if size > max_bytes:
        return "too_long", (f"the command is {len(command)} characters long ({size} bytes in UTF-8); game commands "
                            f"are short (at most {max_bytes} bytes), e.g. 'take key'.")
    return None


__all__ = ["normalize_command", "command_problem", "code_point", "MAX_COMMAND_BYTES"]
