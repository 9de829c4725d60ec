"""The Date type: parsing, formatting, ordering, day and month arithmetic, ISO weeks."""

from __future__ import annotations

import re
from functools import total_ordering

from . import core
from .errors import InvalidDate

_EXTENDED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{2})-?([1-7])$")


@total_ordering
class Date:
    """A calendar date, immutable and hashable."""

    __slots__ = ("year", "month", "day")

    def __init__(self, year: int, month: int, day: int):
        core.check_date(year, month, day)
        self.year, self.month, self.day = year, month, day

    # -- constructors
    @classmethod
    def parse(cls, text: str) -> Date:
        """``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO week date ``YYYY-Www-D``."""
        if not isinstance(text, str):
            raise InvalidDate(f"expected a string, got {type(text).__name__}")
        raw = text.strip()
        match = _EXTENDED.match(raw) or _BASIC.match(raw)
        if match:
            return cls(int(match[1]), int(match[2]), int(match[3]))
        week = _WEEK.match(raw)
        if week:
            return cls.from_iso_week(int(week[1]), int(week[2]), int(week[3]))
        raise InvalidDate(f"{text!r} is not an ISO 8601 date (expected YYYY-MM-DD)")

    @classmethod
    def from_ordinal(cls, n: int) -> Date:
        return cls(*core.from_ordinal(n))

    @classmethod
    def from_iso_week(cls, year: int, week: int, day: int = 1) -> Date:
        """The date of ISO ``year``, ``week`` (1..52 or 53) and weekday ``day`` (1 = Monday)."""
        if not 1 <= day <= 7:
            raise InvalidDate(f"ISO weekday must be in 1..7, got {day}")
        weeks = iso_weeks_in_year(year)
        if not 1 <= week <= weeks:
            raise InvalidDate(f"ISO year {year} has weeks 1..{weeks}, got {week}")
        jan4 = cls(year, 1, 4)
        monday = jan4.add_days(1 - jan4.weekday())
        return monday.add_days((week - 1) * 7 + day - 1)

    # -- views
    def ordinal(self) -> int:
        return core.to_ordinal(self.year, self.month, self.day)

    def weekday(self) -> int:
        """1 = Monday ... 7 = Sunday."""
        return core.weekday(self.year, self.month, self.day)

    def day_of_year(self) -> int:
        return core.day_of_year(self.year, self.month, self.day)

    def iso_week(self) -> tuple[int, int, int]:
        """(ISO year, week number, weekday): week 1 is the week holding the year's first Thursday."""
        wd = self.weekday()
        thursday = self.add_days(4 - wd)
        return thursday.year, (thursday.day_of_year() - 1) // 7 + 1, wd

    def end_of_month(self) -> Date:
        return Date(self.year, self.month, core.days_in_month(self.year, self.month))

    # -- arithmetic
    def add_days(self, days: int) -> Date:
        return Date.from_ordinal(self.ordinal() + days)

    def add_months(self, months: int) -> Date:
        """Same day ``months`` later (or earlier); a day past the target month's end becomes its last day."""
        total = self.year * 12 + self.month - 1 + months
        year, month = divmod(total, 12)
        month += 1
        if not core.MIN_YEAR <= year <= core.MAX_YEAR:
            raise InvalidDate(f"{self} {months:+d} months is outside years {core.MIN_YEAR}..{core.MAX_YEAR}")
        return Date(year, month, min(self.day, core.days_in_month(year, month)))

    def add_years(self, years: int) -> Date:
        """February 29 becomes February 28 in a common year."""
        return self.add_months(12 * years)

    def days_until(self, other: Date) -> int:
        """Days from this date to ``other`` (negative when ``other`` is earlier)."""
        return other.ordinal() - self.ordinal()

    def __sub__(self, other: object) -> int:
        if isinstance(other, Date):
            return other.days_until(self)
        return NotImplemented

    def __add__(self, other: object) -> Date:
        from .durations import Duration

        if isinstance(other, Duration):
            return other.add_to(self)
        return NotImplemented

    # -- comparison and display
    def _key(self) -> tuple[int, int, int]:
        return self.year, self.month, self.day

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Date):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Date):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def __repr__(self) -> str:
        return f"Date({self.year}, {self.month}, {self.day})"


def iso_weeks_in_year(year: int) -> int:
    """52 or 53: December 28 is always in the year's last ISO week."""
    return Date(year, 12, 28).iso_week()[1]
