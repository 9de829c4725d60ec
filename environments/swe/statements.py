"""Problem statements for generated bugs, written from the failing behaviour (no LLM needed).

    text = problem_statement(failing, failure_details(log), "semverlite")
    text = await rewrite_statement(text, OpenAIPolicy("gpt-4o-mini"))   # optional: an issue in a user's words

The statement names the tests that fail and what pytest reported for them (the ``E`` lines of
each failure: assertion introspection and exception messages), never the mutated code, its
file or function.
"""

from __future__ import annotations

import re
from typing import Any

MAX_LISTED = 5
MAX_DETAIL_LINES = 6
_SECTION = re.compile(r"^_{3,} (\S.*?) _{3,}$")
REWRITE_PROMPT = (
    "Rewrite the following automatically written bug report as a concise GitHub issue by a user of the library. "
    "Keep every concrete example of the wrong behaviour and the names of the failing tests. Do not guess where the "
    "bug is or how to fix it. Reply with the issue text only (a title line, a blank line, the body)."
)


def failure_details(log: str) -> dict[str, list[str]]:
    """Test name (as in pytest's failure headers, e.g. ``test_x`` or ``TestY.test_x``) -> its ``E`` lines."""
    details: dict[str, list[str]] = {}
    current: str | None = None
    for line in log.split("\n"):
        header = _SECTION.match(line)
        if header:
            current = header.group(1).strip()
            details.setdefault(current, [])
            continue
        if line.startswith(("= ", "==")):
            current = None
        elif current is not None and line.startswith("E ") and len(details[current]) < MAX_DETAIL_LINES:
            text = line[1:].strip()
            if text:
                details[current].append(text[:300])
    return details


def _detail(test_id: str, details: dict[str, list[str]]) -> list[str]:
    name = test_id.split("::", 1)[-1].replace("::", ".")
    return details.get(name) or details.get(name.split(".")[-1]) or []


def _words(test_id: str) -> str:
    name = test_id.split("::")[-1].split("[")[0]
    return re.sub(r"^test_?", "", name).replace("_", " ").strip() or name


def problem_statement(failing: list[str], details: dict[str, list[str]], library: str) -> str:
    """An issue-style report: title, the failing tests with what they observed, what is expected."""
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    lines = [f"{library}: \"{_words(failing[0])}\" no longer holds{more}", "",
             f"With the current code, {len(failing)} test(s) of the {library} test suite fail:"]
    for test_id in failing[:MAX_LISTED]:
        lines.append(f"\n- `{test_id}`")
        observed = _detail(test_id, details)
        if observed:
            lines.append("  ```")
            lines += [f"  {text}" for text in observed]
            lines.append("  ```")
    if len(failing) > MAX_LISTED:
        lines.append(f"\n- ... and {len(failing) - MAX_LISTED} more: "
                     + ", ".join(f"`{t}`" for t in failing[MAX_LISTED:MAX_LISTED + 10]))
    lines += ["", "The tests are correct and describe the intended behaviour; the library code is wrong. "
              "Fix the library so that these tests pass again without breaking the others."]
    return "\n".join(lines)


async def rewrite_statement(statement: str, policy: Any) -> str:
    """``statement`` rewritten by any agentgym Policy (e.g. OpenAIPolicy); the original if the reply is empty."""
    from agentgym.types import Message

    reply = await policy.act([Message.system(REWRITE_PROMPT), Message.user(statement)], [])
    text = (reply.content or "").strip()
    return text or statement


__all__ = ["failure_details", "problem_statement", "rewrite_statement"]
