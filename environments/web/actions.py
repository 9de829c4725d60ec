"""BrowserGym's action strings, accepted as plain assistant text so BrowserGym agents run unchanged::

    parse_browsergym("click('12')")                    -> [("click", {"element_id": "12"})]
    parse_browsergym("fill('7', 'mug')\\nclick('9')")  -> [("fill", {...}), ("click", {...})]
    parse_browsergym("send_msg_to_user('$12.99')")     -> [("answer", {"text": "$12.99"})]

Only literal arguments are read (``ast.literal_eval``); nothing is executed.
"""

from __future__ import annotations

import ast
import re

MAX_ACTIONS = 8
_CALL_LINE = re.compile(r"^\s*([a-z_]+)\s*\(.*\)\s*;?\s*$", re.S)
_FENCE = re.compile(r"```(?:python|py)?\s*\n?(.*?)```", re.S)


class ActionParseError(ValueError):
    pass


def _args(call: ast.Call) -> tuple[list, dict]:
    try:
        pos = [ast.literal_eval(a) for a in call.args]
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as e:
        raise ActionParseError(f"arguments must be literals such as '12' or 'text' ({type(e).__name__})") from None
    return pos, kw


def _get(pos: list, kw: dict, i: int, *names: str, default=None):
    if len(pos) > i:
        return pos[i]
    for n in names:
        if n in kw:
            return kw[n]
    if default is not None:
        return default
    raise ActionParseError(f"missing argument `{names[0]}`")


def to_action(name: str, pos: list, kw: dict) -> tuple[str, dict] | None:
    """One BrowserGym (or agentgym) call as an agentgym action; None for ``noop``."""
    bid = lambda: str(_get(pos, kw, 0, "bid", "element_id"))  # noqa: E731
    if name in ("click", "dblclick"):
        return "click", {"element_id": bid()}
    if name in ("hover", "focus", "clear"):
        return name, {"element_id": bid()}
    if name == "fill":
        return "fill", {"element_id": bid(), "text": str(_get(pos, kw, 1, "value", "text"))}
    if name in ("select_option", "select"):
        opt = _get(pos, kw, 1, "options", "option")
        return "select", {"element_id": bid(), "option": str(opt[0] if isinstance(opt, (list, tuple)) and opt else opt)}
    if name == "press":
        if len(pos) >= 2 or "key_comb" in kw:
            return "press", {"element_id": bid(), "key": str(_get(pos, kw, 1, "key_comb", "key"))}
        return "press", {"key": str(_get(pos, kw, 0, "key", "key_comb"))}
    if name in ("keyboard_press",):
        return "press", {"key": str(_get(pos, kw, 0, "key"))}
    if name == "scroll":
        first = _get(pos, kw, 0, "delta_x", "direction")
        if isinstance(first, str):
            return "scroll", {"direction": first}
        dy = _get(pos, kw, 1, "delta_y", default=0)
        dx = float(first) if isinstance(first, (int, float)) else 0.0
        dy = float(dy) if isinstance(dy, (int, float)) else 0.0
        direction = ("down" if dy > 0 else "up") if abs(dy) >= abs(dx) else ("right" if dx > 0 else "left")
        return "scroll", {"direction": direction}
    if name == "goto":
        return "goto", {"url": str(_get(pos, kw, 0, "url"))}
    if name in ("go_back", "go_forward", "close_tab", "tab_close"):
        return ("close_tab" if name == "tab_close" else name), {}
    if name == "new_tab":
        return "new_tab", {"url": str(_get(pos, kw, 0, "url", default="about:blank"))}
    if name in ("tab_focus", "switch_tab"):
        index = _get(pos, kw, 0, "index")
        return "switch_tab", {"index": index if isinstance(index, int) else -1}
    if name in ("send_msg_to_user", "answer", "stop"):
        return "answer", {"text": str(_get(pos, kw, 0, "text", "answer", default=""))}
    if name == "report_infeasible":
        return "answer", {"text": "N/A: " + str(_get(pos, kw, 0, "reason", default=""))}
    if name == "noop":
        return None
    raise ActionParseError(f"unknown action `{name[:40]}`")


def parse_browsergym(text: str) -> list[tuple[str, dict]]:
    """Every action call in ``text`` (inside ``` fences if any), in order."""
    fenced = _FENCE.findall(text or "")
    source = "\n".join(fenced) if fenced else (text or "")
    actions: list[tuple[str, dict]] = []
    found = False
    for line in source.splitlines():
        if not _CALL_LINE.match(line) or len(line) > 20_000:
            continue
        try:
            tree = ast.parse(line.strip().rstrip(";"), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if not isinstance(tree.body, ast.Call) or not isinstance(tree.body.func, ast.Name):
            continue
        found = True
        pos, kw = _args(tree.body)
        action = to_action(tree.body.func.id, pos, kw)
        if action is not None:
            actions.append(action)
        if len(actions) > MAX_ACTIONS:
            raise ActionParseError(f"at most {MAX_ACTIONS} actions per turn")
    if not found:
        raise ActionParseError("no action found")
    return actions
