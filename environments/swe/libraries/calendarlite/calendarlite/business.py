"""Business days: Monday to Friday, minus the holidays you pass."""

from __future__ import annotations

from collections.abc import Iterable

from .date import Date

WEEKEND = (6, 7)


def is_business_day(date: Date, holidays: Iterable[Date] = ()) -> bool:
    return date.weekday() not in WEEKEND and date not in set(holidays)


def add_business_days(date: Date, days: int, holidays: Iterable[Date] = ()) -> Date:
    """The business day ``days`` business days after ``date`` (before it when negative).

    ``days == 0`` rolls a weekend or holiday forward to the next business day.
    """
    off = set(holidays)
    current = date
    if days == 0:
        while not is_business_day(current, off):
            current = current.add_days(1)
        return current
    step = 1 if days > 0 else -1
    remaining = abs(days)
    while remaining > 0:
        current = current.add_days(step)
        if is_business_day(current, off):
            remaining -= 1
    return current


def business_days_between(start: Date, end: Date, holidays: Iterable[Date] = ()) -> int:
    """Business days in [start, end); negative when ``end`` is before ``start``."""
    if end < start:
        return -business_days_between(end, start, holidays)
    off = set(holidays)
    weeks, extra = divmod(end - start, 7)
    count = weeks * 5
    current = start.add_days(weeks * 7)
    for _ in range(extra):
        if current.weekday() not in WEEKEND:
            count += 1
        current = current.add_days(1)
    for holiday in off:
        if start <= holiday < end and holiday.weekday() not in WEEKEND:
            count -= 1
    return count
