"""Answer scoring shared by the tools and search families.

SQuAD normalization (lowercase, drop punctuation and articles, squeeze spaces), exact
match, token F1, numeric comparison with tolerance, and ``\\boxed{...}`` stripping (ARPO
answers ``<answer>\\boxed{42}</answer>``)::

    exact_match("The Glass Orchard.", ["glass orchard"])    # 1.0
    f1_score("Veloria city", ["Veloria"])                   # 0.666...
    numeric_match("3.14159", "3.1416", rel_tol=1e-4)        # True
    score_answer("\\boxed{42}", "42")                       # 1.0 (exact, then numeric)
"""

from __future__ import annotations

import collections
import math
import re
import string
from typing import Iterable, Literal

ScoreMode = Literal["auto", "exact", "numeric", "f1"]

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def strip_boxed(text: str) -> str:
    r"""The content of the last ``\boxed{...}`` (or ``\fbox{...}``) in ``text``, braces balanced;
    ``text`` itself when there is none. ``$...$`` around the whole answer is removed too."""
    text = (text or "").strip()
    for marker in ("\\boxed{", "\\fbox{"):
        start = text.rfind(marker)
        if start < 0:
            continue
        i, depth = start + len(marker), 1
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        inner = text[start + len(marker): i - 1] if depth == 0 else text[start + len(marker):]
        return inner.strip()
    if len(text) >= 2 and text.startswith("$") and text.endswith("$") and text.count("$") == 2:
        return text[1:-1].strip()
    return text


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lowercase, no punctuation, no articles, single spaces."""
    text = (text or "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _golds(gold: str | Iterable[str]) -> list[str]:
    return [gold] if isinstance(gold, str) else [str(g) for g in gold]


def exact_match(prediction: str, gold: str | Iterable[str]) -> float:
    """1.0 when the normalized prediction equals any normalized gold answer."""
    pred = normalize_answer(strip_boxed(prediction))
    return float(any(pred == normalize_answer(g) for g in _golds(gold)))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, gold: str | Iterable[str]) -> float:
    """SQuAD token F1, the best over the gold answers."""
    pred = normalize_answer(strip_boxed(prediction)).split()
    return max((_f1(pred, normalize_answer(g).split()) for g in _golds(gold)), default=0.0)


_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def parse_number(text: str) -> float | None:
    """A float from ``text`` ("1,234.5", "-3", "2/3", "50%", "$12") or None."""
    t = strip_boxed(text).strip().replace(",", "").replace("$", "").replace("\\%", "%").rstrip(".")
    percent = t.endswith("%")
    t = t.rstrip("%").strip()
    if re.fullmatch(r"[-+]?\d+\s*/\s*[-+]?\d+", t):
        num, den = (float(p) for p in t.split("/"))
        return None if den == 0 else num / den
    if not _NUMBER.match(t):
        return None
    value = float(t)
    if not math.isfinite(value):
        return None
    return value / 100 if percent else value


def numeric_match(prediction: str, gold: str, *, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Both parse as numbers and agree within the tolerances."""
    p, g = parse_number(prediction), parse_number(gold)
    return p is not None and g is not None and math.isclose(p, g, rel_tol=rel_tol, abs_tol=abs_tol)


def score_answer(prediction: str, gold: str | Iterable[str], mode: ScoreMode = "auto", *, rel_tol: float = 1e-6) -> float:
    """Correctness in [0, 1].

    ``exact``: normalized exact match. ``numeric``: numbers within ``rel_tol``. ``f1``: token
    F1. ``auto``: exact match, else numeric match when the gold is a number, else 0.
    """
    golds = _golds(gold)
    if mode == "f1":
        return f1_score(prediction, golds)
    if mode in ("exact", "auto") and exact_match(prediction, golds):
        return 1.0
    if mode in ("numeric", "auto"):
        return float(any(numeric_match(prediction, g, rel_tol=rel_tol) for g in golds))
    return 0.0


__all__ = ["strip_boxed", "normalize_answer", "exact_match", "f1_score", "parse_number", "numeric_match", "score_answer"]
