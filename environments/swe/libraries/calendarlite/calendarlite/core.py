"""The proleptic Gregorian calendar: leap years, month lengths, day numbers and weekdays.

Day 1 is 0001-01-01 (a Monday), as in :meth:`datetime.date.toordinal`; weekdays are ISO
(1 = Monday ... 7 = Sunday). Years run from 1 to 9999.
"""

from __future__ import annotations

from .errors import InvalidDate

MIN_YEAR, MAX_YEAR = 1, 9999
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_BEFORE_MONTH = tuple(sum(_MONTH_DAYS[:i]) for i in range(12))
MAX_ORDINAL = 3652059  # 9999-12-31


def is_leap(year: int) -> bool:
    """Every fourth year, except centuries not divisible by 400."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise InvalidDate(f"month must be in 1..12, got {month}")
    if month == 2 and is_leap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def days_in_year(year: int) -> int:
    return 366 if is_leap(year) else 365


def check_date(year: int, month: int, day: int) -> None:
    """Raises InvalidDate unless year-month-day exists."""
    for name, value in (("year", year), ("month", month), ("day", day)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidDate(f"{name} must be an integer, got {value!r}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidDate(f"year must be in {MIN_YEAR}..{MAX_YEAR}, got {year}")
    last = days_in_month(year, month)
    if not 1 <= day <= last:
        raise InvalidDate(f"day must be in 1..{last} for {year:04d}-{month:02d}, got {day}")


def days_before_year(year: int) -> int:
    """Days from 0001-01-01 up to (not including) January 1 of ``year``."""
    y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400


def days_before_month(year: int, month: int) -> int:
    """Days of ``year`` before the first of ``month``."""
    return _BEFORE_MONTH[month - 1] + (1 if month > 2 and is_leap(year) else 0)


def day_of_year(year: int, month: int, day: int) -> int:
    """1 for January 1, 365 or 366 for December 31."""
    check_date(year, month, day)
    return days_before_month(year, month) + day


def to_ordinal(year: int, month: int, day: int) -> int:
    """The day number of a date (0001-01-01 is 1)."""
    return days_before_year(year) + day_of_year(year, month, day)


def from_ordinal(n: int) -> tuple[int, int, int]:
    """(year, month, day) of day number ``n``."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_ORDINAL:
        raise InvalidDate(f"day number must be in 1..{MAX_ORDINAL}, got {n!r}")
    year = n * 400 // 146097 + 1
    while days_before_year(year) >= n:
        year -= 1
    while days_before_year(year + 1) < n:
        year += 1
    remaining = n - days_before_year(year)
    month = 1
    while month < 12 and days_before_month(year, month + 1) < remaining:
        month += 1
    return year, month, remaining - days_before_month(year, month)


def weekday(year: int, month: int, day: int) -> int:
    """ISO weekday: 1 = Monday ... 7 = Sunday."""
    return (to_ordinal(year, month, day) - 1) % 7 + 1
