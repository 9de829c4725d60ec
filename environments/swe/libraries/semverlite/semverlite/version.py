"""The Version type: parsing, formatting, precedence and bumping."""

from __future__ import annotations

import re
from functools import total_ordering

from .errors import InvalidVersion

_NUMBER = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_PATTERN = re.compile(
    rf"^(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$"
)


def _check_prerelease(parts: tuple[str, ...], text: str) -> None:
    for part in parts:
        if part.isdigit() and len(part) > 1 and part.startswith("0"):
            raise InvalidVersion(f"{text!r}: numeric pre-release identifier {part!r} has a leading zero")


def _compare_identifiers(left: str, right: str) -> int:
    """-1, 0 or 1: numeric identifiers compare as numbers and sort before alphanumeric ones."""
    left_num, right_num = left.isdigit(), right.isdigit()
    if left_num and right_num:
        a, b = int(left), int(right)
    elif left_num != right_num:
        return -1 if left_num else 1
    else:
        a, b = left, right
    return (a > b) - (a < b)


def compare_prerelease(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    """-1, 0 or 1 comparing two pre-release tuples; an empty tuple (a release) is the highest."""
    if not left and not right:
        return 0
    if not left:
        return 1
    if not right:
        return -1
    for a, b in zip(left, right):
        order = _compare_identifiers(a, b)
        if order:
            return order
    return (len(left) > len(right)) - (len(left) < len(right))


@total_ordering
class Version:
    """A semantic version: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].

    Build metadata is kept for display but ignored by comparison and equality.
    """

    __slots__ = ("major", "minor", "patch", "prerelease", "build")

    def __init__(self, major: int, minor: int = 0, patch: int = 0, prerelease: tuple[str, ...] = (),
                 build: tuple[str, ...] = ()):
        for name, value in (("major", major), ("minor", minor), ("patch", patch)):
            if not isinstance(value, int) or value < 0:
                raise InvalidVersion(f"{name} must be a non-negative integer, got {value!r}")
        self.major, self.minor, self.patch = major, minor, patch
        self.prerelease = tuple(prerelease)
        self.build = tuple(build)

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``text`` (a leading ``v`` or ``=`` is accepted)."""
        if not isinstance(text, str):
            raise InvalidVersion(f"expected a string, got {type(text).__name__}")
        raw = text.strip()
        if raw[:1] in ("v", "="):
            raw = raw[1:]
        match = _PATTERN.match(raw)
        if match is None:
            raise InvalidVersion(f"{text!r} is not a semantic version (expected MAJOR.MINOR.PATCH)")
        pre = tuple(match["pre"].split(".")) if match["pre"] else ()
        _check_prerelease(pre, text)
        build = tuple(match["build"].split(".")) if match["build"] else ()
        return cls(int(match["major"]), int(match["minor"]), int(match["patch"]), pre, build)

    @classmethod
    def coerce(cls, value: Version | str) -> Version:
        return value if isinstance(value, Version) else cls.parse(value)

    # ------------------------------------------------------------------ display
    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    # ------------------------------------------------------------------ ordering
    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def compare(self, other: Version | str) -> int:
        """-1, 0 or 1 by semver precedence (build metadata ignored)."""
        other = Version.coerce(other)
        if self.release != other.release:
            return -1 if self.release < other.release else 1
        return compare_prerelease(self.prerelease, other.prerelease)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Version.parse(other)
        if not isinstance(other, Version):
            return NotImplemented
        return self.compare(other) == 0

    def __lt__(self, other: Version | str) -> bool:
        return self.compare(other) < 0

    def __hash__(self) -> int:
        return hash((self.release, self.prerelease))

    # ------------------------------------------------------------------ bumping
    def bump_major(self) -> Version:
        """The next major release: 1.4.2 -> 2.0.0 (and 2.0.0-rc.1 -> 2.0.0)."""
        if self.prerelease and self.minor == 0 and self.patch == 0:
            return Version(self.major)
        return Version(self.major + 1)

    def bump_minor(self) -> Version:
        """The next minor release: 1.4.2 -> 1.5.0 (and 1.5.0-rc.1 -> 1.5.0)."""
        if self.prerelease and self.patch == 0:
            return Version(self.major, self.minor)
        return Version(self.major, self.minor + 1, 0)

    def bump_patch(self) -> Version:
        """The next patch release: 1.4.2 -> 1.4.3 (and 1.4.3-rc.1 -> 1.4.3)."""
        if self.prerelease:
            return Version(self.major, self.minor, self.patch)
        return Version(self.major, self.minor, self.patch + 1)

    def bump_prerelease(self, label: str = "rc") -> Version:
        """1.4.2 -> 1.4.3-rc.0; 1.4.3-rc.0 -> 1.4.3-rc.1; 1.4.3-beta -> 1.4.3-beta.0."""
        if not self.prerelease:
            return Version(self.major, self.minor, self.patch + 1, (label, "0"))
        parts = list(self.prerelease)
        if parts[-1].isdigit():
            parts[-1] = str(int(parts[-1]) + 1)
        else:
            parts.append("0")
        return Version(self.major, self.minor, self.patch, tuple(parts))
