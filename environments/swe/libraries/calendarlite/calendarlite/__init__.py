"""Dates, ISO weeks, ISO 8601 durations and business days in the proleptic Gregorian calendar."""

from .business import add_business_days, business_days_between, is_business_day
from .core import day_of_year, days_in_month, from_ordinal, is_leap, to_ordinal, weekday
from .date import Date
from .durations import Duration
from .errors import CalendarError, InvalidDate, InvalidDuration

__all__ = ["Date", "Duration", "CalendarError", "InvalidDate", "InvalidDuration", "add_business_days",
           "business_days_between", "is_business_day", "day_of_year", "days_in_month", "from_ordinal", "is_leap",
           "to_ordinal", "weekday"]
