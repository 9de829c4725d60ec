"""Version ranges in the npm style: comparators, caret, tilde, x-ranges, hyphen ranges and ``||``.

    Range.parse(">=1.2.0 <2.0.0").contains("1.5.3")      # True
    Range.parse("^0.2.3")        # >=0.2.3 <0.3.0
    Range.parse("~1.2")          # >=1.2.0 <1.3.0
    Range.parse("1.x || >=3.1")  # either side

Pre-release versions only satisfy a range when one of its comparators names a
pre-release of the same MAJOR.MINOR.PATCH (npm's rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .errors import InvalidRange, InvalidVersion
from .version import Version

_OPERATORS = ("<=", ">=", "<", ">", "=")
_PARTIAL = re.compile(r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?"
                      r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Comparator:
    """One ``<op><version>`` test."""

    operator: str
    version: Version

    def test(self, version: Version) -> bool:
        order = version.compare(self.version)
        return {
            "<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0, "=": order == 0,
        }[self.operator]

    def __str__(self) -> str:
        return f"{self.operator}{self.version}"


def _wild(part: str | None) -> bool:
    return part is None or part in ("x", "X", "*")


def _partial(text: str) -> tuple[int | None, int | None, int | None, tuple[str, ...]]:
    match = _PARTIAL.match(text)
    if match is None:
        raise InvalidRange(f"{text!r} is not a version or partial version")
    major = None if _wild(match["major"]) else int(match["major"])
    minor = None if major is None or _wild(match["minor"]) else int(match["minor"])
    patch = None if minor is None or _wild(match["patch"]) else int(match["patch"])
    pre = tuple(match["pre"].split(".")) if match["pre"] and patch is not None else ()
    return major, minor, patch, pre


def _caret(text: str) -> list[Comparator]:
    """^1.2.3 := >=1.2.3 <2.0.0; ^0.2.3 := >=0.2.3 <0.3.0; ^0.0.3 := >=0.0.3 <0.0.4."""
    major, minor, patch, pre = _partial(text)
    if major is None:
        return []
    low = Version(major, minor or 0, patch or 0, pre)
    if major > 0 or minor is None:
        high = Version(major + 1)
    elif minor > 0 or patch is None:
        high = Version(0, minor + 1)
    else:
        high = Version(0, 0, patch + 1)
    return [Comparator(">=", low), Comparator("<", high)]


def _tilde(text: str) -> list[Comparator]:
    """~1.2.3 := >=1.2.3 <1.3.0; ~1.2 := >=1.2.0 <1.3.0; ~1 := >=1.0.0 <2.0.0."""
    major, minor, patch, pre = _partial(text)
    if major is None:
        return []
    low = Version(major, minor or 0, patch or 0, pre)
    high = Version(major + 1) if minor is None else Version(major, minor + 1)
    return [Comparator(">=", low), Comparator("<", high)]


def _x_range(text: str) -> list[Comparator]:
    """1.2.x := >=1.2.0 <1.3.0; 1.x := >=1.0.0 <2.0.0; * := any; 1.2.3 := =1.2.3."""
    major, minor, patch, pre = _partial(text)
    if major is None:
        return []
    if minor is None:
        return [Comparator(">=", Version(major)), Comparator("<", Version(major + 1))]
    if patch is None:
        return [Comparator(">=", Version(major, minor)), Comparator("<", Version(major, minor + 1))]
    return [Comparator("=", Version(major, minor, patch, pre))]


def _with_operator(op: str, text: str) -> list[Comparator]:
    """<1.2 := <1.2.0; <=1.2 := <1.3.0; >1.2 := >=1.3.0; >=1.2 := >=1.2.0."""
    major, minor, patch, pre = _partial(text)
    if major is None:
        return [Comparator("<", Version(0, 0, 0, ("0",)))] if op in ("<", ">") else []
    if patch is not None:
        return [Comparator(op, Version(major, minor, patch, pre))]
    floor = Version(major, minor or 0)
    ceiling = Version(major + 1) if minor is None else Version(major, minor + 1)
    return {
        "<": [Comparator("<", floor)], "<=": [Comparator("<", ceiling)],
        ">": [Comparator(">=", ceiling)], ">=": [Comparator(">=", floor)], "=": _x_range(text),
    }[op]


def _hyphen(low: str, high: str) -> list[Comparator]:
    """1.2.3 - 2.3.4 := >=1.2.3 <=2.3.4; a partial upper bound is exclusive of the next one."""
    comparators = _with_operator(">=", low)
    major, minor, patch, pre = _partial(high)
    if major is None:
        return comparators
    if patch is not None:
        return comparators + [Comparator("<=", Version(major, minor, patch, pre))]
    return comparators + _with_operator("<=", high)


def _comparator_set(text: str) -> list[Comparator]:
    text = re.sub(r"(<=|>=|<|>|=|\^|~)\s+", r"\1", text.strip())
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        return _hyphen(hyphen[1], hyphen[2])
    comparators: list[Comparator] = []
    for token in text.split():
        if token.startswith("^"):
            comparators += _caret(token[1:])
        elif token.startswith("~"):
            comparators += _tilde(token[1:].lstrip(">"))
        else:
            op = next((o for o in _OPERATORS if token.startswith(o)), "")
            comparators += _with_operator(op, token[len(op):]) if op else _x_range(token)
    return comparators


class Range:
    """A union (``||``) of comparator sets; a version matches when every comparator of one set does."""

    def __init__(self, sets: list[list[Comparator]], text: str = ""):
        self.sets = sets
        self.text = text

    @classmethod
    def parse(cls, text: str) -> Range:
        if not isinstance(text, str):
            raise InvalidRange(f"expected a string, got {type(text).__name__}")
        parts = text.split("||")
        try:
            sets = [_comparator_set(part) for part in parts]
        except InvalidVersion as exc:
            raise InvalidRange(f"{text!r}: {exc}") from None
        if any(not part.strip() for part in parts) and len(parts) > 1:
            raise InvalidRange(f"{text!r}: empty alternative around '||'")
        return cls(sets, text)

    def contains(self, version: Version | str) -> bool:
        version = Version.coerce(version)
        return any(self._set_contains(comparators, version) for comparators in self.sets)

    __contains__ = contains

    @staticmethod
    def _set_contains(comparators: list[Comparator], version: Version) -> bool:
        if not all(c.test(version) for c in comparators):
            return False
        if not version.is_prerelease:
            return True
        return any(c.version.is_prerelease and c.version.release == version.release for c in comparators)

    def max_satisfying(self, versions: Iterable[Version | str]) -> str | None:
        """The highest of ``versions`` in this range (as given), or None."""
        best: tuple[Version, Version | str] | None = None
        for item in versions:
            version = Version.coerce(item)
            if self.contains(version) and (best is None or version > best[0]):
                best = (version, item)
        return None if best is None else str(best[1])

    def __str__(self) -> str:
        return " || ".join(" ".join(str(c) for c in comparators) or "*" for comparators in self.sets)

    def __repr__(self) -> str:
        return f"Range({self.text!r})"


def satisfies(version: Version | str, range_text: str) -> bool:
    """True when ``version`` is in the range ``range_text``."""
    return Range.parse(range_text).contains(version)


def max_satisfying(versions: Iterable[Version | str], range_text: str) -> str | None:
    """The highest of ``versions`` that satisfies ``range_text``, or None."""
    return Range.parse(range_text).max_satisfying(versions)
