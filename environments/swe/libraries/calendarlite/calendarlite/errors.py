"""Errors raised by calendarlite."""


class CalendarError(ValueError):
    """Base class of calendarlite's errors."""


class InvalidDate(CalendarError):
    """A date that does not exist or text that is not an ISO 8601 date."""


class InvalidDuration(CalendarError):
    """Text that is not an ISO 8601 duration."""
