"""ISO 8601 durations (``P1Y2M10DT2H30M``): parsing, canonical text, sums, fixed lengths, adding to dates."""

from __future__ import annotations

import re

from .errors import CalendarError, InvalidDuration

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
FIELDS = ("years", "months", "days", "hours", "minutes", "seconds")


class Duration:
    """A duration in calendar units (years, months) and exact units (days and below); weeks become days."""

    __slots__ = FIELDS

    def __init__(self, years: int = 0, months: int = 0, days: int = 0, hours: int = 0, minutes: int = 0,
                 seconds: int = 0):
        values = (years, months, days, hours, minutes, seconds)
        for name, value in zip(FIELDS, values):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidDuration(f"{name} must be a non-negative integer, got {value!r}")
        self.years, self.months, self.days, self.hours, self.minutes, self.seconds = values

    @classmethod
    def parse(cls, text: str) -> Duration:
        if not isinstance(text, str):
            raise InvalidDuration(f"expected a string, got {type(text).__name__}")
        match = _PATTERN.match(text.strip().upper())
        if match is None or text.strip().upper().endswith("T"):
            raise InvalidDuration(f"{text!r} is not an ISO 8601 duration (e.g. P1Y2M10DT2H30M)")
        parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        weeks = parts.pop("weeks", 0)
        parts["days"] = parts.get("days", 0) + 7 * weeks
        return cls(**parts)

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return self.years, self.months, self.days, self.hours, self.minutes, self.seconds

    def is_zero(self) -> bool:
        return not any(self.as_tuple())

    def total_seconds(self) -> int:
        """The exact length; durations with years or months have none (their length depends on the date)."""
        if self.years or self.months:
            raise CalendarError(f"{self} has no fixed length: years and months vary")
        return ((self.days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds

    def normalized(self) -> Duration:
        """Seconds carried into minutes, minutes into hours, hours into days (months into years)."""
        minutes, seconds = divmod(self.seconds, 60)
        hours, minutes = divmod(self.minutes + minutes, 60)
        days, hours = divmod(self.hours + hours, 24)
        years, months = divmod(self.months, 12)
        return Duration(self.years + years, months, self.days + days, hours, minutes, seconds)

    def add_to(self, date):
        """``date`` moved by the calendar part first (months, clamped), then by whole days of the rest."""
        moved = date.add_months(self.years * 12 + self.months)
        whole_days = self.days + (self.hours * 3600 + self.minutes * 60 + self.seconds) // 86400
        return moved.add_days(whole_days)

    def __add__(self, other: object) -> Duration:
        if not isinstance(other, Duration):
            return NotImplemented
        return Duration(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple())))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Duration):
            return NotImplemented
        return self.as_tuple() == other.as_tuple()

    def __hash__(self) -> int:
        return hash(self.as_tuple())

    def __str__(self) -> str:
        if self.is_zero():
            return "PT0S"
        text = "P"
        for value, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D")):
            if value:
                text += f"{value}{unit}"
        if self.hours or self.minutes or self.seconds:
            text += "T"
            for value, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S")):
                if value:
                    text += f"{value}{unit}"
        return text

    def __repr__(self) -> str:
        return f"Duration.parse({str(self)!r})"
