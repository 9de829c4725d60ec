"""WebArena-style evaluators, all deterministic (no LLM judge).

A task's ``eval`` block::

    {"eval_types": ["string_match", "url_match", "program_html", "db_state"],
     "reference_answers": {"exact_match": "42"} | {"must_include": ["$12.99"]} | {"fuzzy_match": [...]},
     "reference_url": "__SHOP__/search?q=mug |OR| __SHOP__/search?q=mugs",
     "url_note": "GOLD in PRED",
     "program_html": [{"url": "last" | "__SHOP__/cart", "locator": "document.querySelector('main').innerText",
                       "required_contents": {"must_include": ["Teapot"]} | {"exact_match": "3"}}],
     "db_state": [{"site": "shop", "sql": "SELECT qty FROM cart_items WHERE ...", "expected": [[2]]}]}

``fuzzy_match`` is decided by rules, not a model: after normalisation (case, punctuation,
articles, thousands separators, ``$``), every reference item must appear in the answer, a number
must match numerically, and ``"N/A"`` matches answers that say the thing does not exist. Every
check must pass (WebArena multiplies the scores).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
NOT_FOUND_WORDS = ("n/a", "not found", "does not exist", "no such", "none", "there is no", "cannot find", "unachievable")


def normalize(text: str) -> str:
    text = str(text).lower().replace(",", "").replace("$", "")
    text = "".join(ch for ch in text if ch not in set(string.punctuation) - {".", "-", "/", ":"})
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split()).strip(" .")


def exact_match(pred: str, ref: str) -> bool:
    return normalize(pred) == normalize(ref)


def must_include(pred: str, ref: str) -> bool:
    return normalize(ref) in normalize(pred)


def fuzzy_match(pred: str, refs: list[str] | str) -> bool:
    """Rule-based stand-in for WebArena's LLM fuzzy match (see the module docstring)."""
    refs = [refs] if isinstance(refs, str) else list(refs)
    p = normalize(pred)
    for ref in refs:
        r = normalize(ref)
        if r in ("n/a", "na"):
            if not any(w in pred.lower() for w in NOT_FOUND_WORDS):
                return False
            continue
        nums_r = _NUMBER.findall(r)
        if nums_r and _NUMBER.fullmatch(r):
            if not any(abs(float(x) - float(r)) < 1e-6 for x in _NUMBER.findall(p)):
                return False
        elif r not in p:
            return False
    return True


def url_match(pred: str, ref: str, rule: str = "GOLD in PRED") -> bool:
    """WebArena's rule: same path (ignoring a trailing slash), and every reference query argument
    present with one of its values; ``|OR|`` separates alternatives; ``EXACT`` compares whole URLs."""
    for alt in ref.split(" |OR| "):
        alt = alt.strip()
        if rule.upper() == "EXACT":
            if pred.rstrip("/") == alt.rstrip("/"):
                return True
            continue
        p, r = urlsplit(pred), urlsplit(alt)
        if (p.netloc and r.netloc and p.netloc != r.netloc) or p.path.rstrip("/") != r.path.rstrip("/"):
            continue
        pq, rq = parse_qs(p.query), parse_qs(r.query)
        if all(any(v in pq.get(k, []) for v in vals) for k, vals in rq.items()):
            return True
    return False


@dataclass
class EvalResult:
    score: float
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.score >= 1.0


def check_contents(value: str, required: dict[str, Any]) -> bool:
    if "exact_match" in required:
        return exact_match(value, required["exact_match"])
    if "must_include" in required:
        return all(any(must_include(value, alt) for alt in str(item).split(" |OR| "))
                   for item in required["must_include"])
    if "must_exclude" in required:
        return not any(must_include(value, item) for item in required["must_exclude"])
    if "fuzzy_match" in required:
        return fuzzy_match(value, required["fuzzy_match"])
    raise ValueError(f"unknown required_contents {sorted(required)}")


async def evaluate(ev: dict[str, Any], *, answer: str | None, url: str, resolve: Callable[[str], str],
                   read_page: Callable[[str, str], Awaitable[str]],
                   query_db: Callable[[str, str], Awaitable[list[list[Any]]]],
                   requests: list[tuple[str, str, str]] | None = None) -> EvalResult:
    """Scores one finished episode. ``resolve`` turns ``__SITE__`` placeholders into URLs,
    ``read_page(url, locator)`` evaluates a locator in the episode's browser, ``query_db(site, sql)``
    queries the episode's own database."""
    checks: list[dict[str, Any]] = []
    types = ev.get("eval_types") or []
    pred = answer or ""
    for kind in types:
        if kind == "string_match":
            refs = ev.get("reference_answers") or {}
            ok = True
            if "exact_match" in refs:
                ok &= exact_match(pred, refs["exact_match"])
            if "must_include" in refs:
                ok &= all(any(must_include(pred, alt) for alt in str(item).split(" |OR| "))
                          for item in refs["must_include"])
            if "fuzzy_match" in refs:
                ok &= fuzzy_match(pred, refs["fuzzy_match"])
            checks.append({"type": kind, "ok": bool(ok), "answer": pred[:200]})
        elif kind == "url_match":
            ok = url_match(url, resolve(ev.get("reference_url") or ""), ev.get("url_note") or "GOLD in PRED")
            checks.append({"type": kind, "ok": ok, "url": url})
        elif kind == "program_html":
            for item in ev.get("program_html") or []:
                target = url if item.get("url") in ("last", "", None) else resolve(item["url"])
                try:
                    value = await read_page(target, item.get("locator") or "")
                    ok = check_contents(value, item.get("required_contents") or {})
                except ValueError as e:
                    value, ok = str(e), False
                checks.append({"type": kind, "ok": ok, "url": target, "value": value[:200]})
        elif kind == "db_state":
            for item in ev.get("db_state") or []:
                rows = await query_db(item["site"], item["sql"])
                ok = [list(r) for r in rows] == [list(r) for r in item["expected"]]
                checks.append({"type": kind, "ok": ok, "sql": item["sql"][:200], "rows": rows[:5]})
        elif kind == "agent_response":
            ok, why = agent_response_ok(pred, ev.get("agent_response") or {})
            checks.append({"type": kind, "ok": ok, "why": why})
        elif kind == "network_event":
            for item in ev.get("network_events") or []:
                ok = any(network_event_ok(r, item, resolve) for r in requests or [])
                checks.append({"type": kind, "ok": ok, "expected": str(item.get("url"))[:200]})
        else:
            checks.append({"type": kind, "ok": False, "error": f"unknown eval type {kind!r}"})
    score = 1.0 if checks and all(c["ok"] for c in checks) else 0.0
    return EvalResult(score=score, checks=checks)


def agent_response_ok(answer: str, expected: dict[str, Any]) -> tuple[bool, str]:
    """WebArena-Verified's answer check: the answer is JSON ``{"task_type", "status", "retrieved_data"}``."""
    import json

    try:
        got = json.loads(answer)
    except (json.JSONDecodeError, RecursionError):
        return False, "the answer is not the JSON object WebArena-Verified expects"
    if not isinstance(got, dict):
        return False, "the answer must be a JSON object"
    if str(got.get("task_type", got.get("performed_operation", ""))).lower() != str(expected.get("task_type", "")).lower():
        return False, "task_type differs"
    if str(got.get("status", "")).upper() != str(expected.get("status", "SUCCESS")).upper():
        return False, "status differs"
    want = expected.get("retrieved_data")
    if want is None:
        return True, ""
    have = got.get("retrieved_data")
    if not isinstance(have, list) or len(have) != len(want):
        return False, "retrieved_data differs in length"
    for h, w in zip(sorted(map(str, have)), sorted(map(str, want))):
        if normalize(h) != normalize(w):
            return False, f"retrieved_data item {h!r} is not {w!r}"
    return True, ""


def network_event_ok(request: tuple[str, str, str], expected: dict[str, Any], resolve: Callable[[str], str]) -> bool:
    """One recorded request against a WebArena-Verified ``NetworkEventEvaluator`` expectation."""
    method, url, body = request
    if expected.get("http_method") and method.upper() != str(expected["http_method"]).upper():
        return False
    urls = expected.get("url")
    urls = urls if isinstance(urls, list) else [urls]
    ignored = set(expected.get("ignored_query_params") or [])
    p = urlsplit(url)
    pq = {k: v for k, v in parse_qs(p.query).items() if k not in ignored}
    for alt in urls:
        r = urlsplit(resolve(str(alt)))
        rq = {k: v for k, v in parse_qs(r.query).items() if k not in ignored}
        rq.update({k: v for k, v in (expected.get("query_params") or {}).items()})
        if p.path.rstrip("/") == r.path.rstrip("/") and all(pq.get(k) == list(v) for k, v in rq.items()):
            break
    else:
        return False
    form = {k: v[0] for k, v in parse_qs(body).items()} if body else {}
    for key, value in (expected.get("post_data") or {}).items():
        leaf = key.split(".")[-1].strip("$[]'\"")
        if not any(k == leaf or k.endswith(f"[{leaf}]") for k in form) or not any(
                normalize(v) == normalize(str(value)) for k, v in form.items() if k == leaf or k.endswith(f"[{leaf}]")):
            if str(value) not in body:
                return False
    return True
