"""Everyday tools without a sandbox: unit conversion and date/time arithmetic.

Both take one string, so they read naturally in tag formats (``<convert>12 km to mi</convert>``)::

    convert("12 km to mi")                 # '12 km = 7.45645430684801 mi'
    convert("100 F to C")                  # '100 F = 37.7777777777778 C'
    dates("2024-01-31 + 1 month")          # '2024-02-29 (Thursday)'
    dates("2024-03-01 - 2023-12-25")       # '67 days (9 weeks and 4 days)'
    dates("18:34:08 to 21:56:11")          # '03:22:03'

Errors raise :class:`ValueError` with a message that says what is accepted.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from .calculator import format_number

# unit -> (dimension, factor to the SI base unit of that dimension)
_UNITS: dict[str, tuple[str, float]] = {}


def _add(dimension: str, factor: float, *names: str) -> None:
    for n in names:
        _UNITS[n.lower()] = (dimension, factor)


_add("length", 1, "m", "meter", "meters", "metre", "metres")
_add("length", 1e3, "km", "kilometer", "kilometers", "kilometre", "kilometres")
_add("length", 1e-2, "cm", "centimeter", "centimeters")
_add("length", 1e-3, "mm", "millimeter", "millimeters")
_add("length", 1e-6, "um", "µm", "micrometer", "micrometers", "micron", "microns")
_add("length", 1e-9, "nm", "nanometer", "nanometers")
_add("length", 1609.344, "mi", "mile", "miles")
_add("length", 0.9144, "yd", "yard", "yards")
_add("length", 0.3048, "ft", "foot", "feet")
_add("length", 0.0254, "in", "inch", "inches")
_add("length", 1852, "nmi", "nautical mile", "nautical miles")
_add("mass", 1, "kg", "kilogram", "kilograms", "kilo", "kilos")
_add("mass", 1e-3, "g", "gram", "grams")
_add("mass", 1e-6, "mg", "milligram", "milligrams")
_add("mass", 1e3, "t", "tonne", "tonnes", "metric ton", "metric tons")
_add("mass", 0.45359237, "lb", "lbs", "pound", "pounds")
_add("mass", 0.028349523125, "oz", "ounce", "ounces")
_add("mass", 6.35029318, "st", "stone", "stones")
_add("time", 1, "s", "sec", "second", "seconds")
_add("time", 1e-3, "ms", "millisecond", "milliseconds")
_add("time", 60, "min", "minute", "minutes")
_add("time", 3600, "h", "hr", "hour", "hours")
_add("time", 86400, "d", "day", "days")
_add("time", 604800, "wk", "week", "weeks")
_add("time", 31557600, "yr", "year", "years")  # Julian year
_add("volume", 1e-3, "l", "liter", "liters", "litre", "litres")
_add("volume", 1e-6, "ml", "milliliter", "milliliters", "cm3", "cc")
_add("volume", 1, "m3", "cubic meter", "cubic meters")
_add("volume", 3.785411784e-3, "gal", "gallon", "gallons")
_add("volume", 9.46352946e-4, "qt", "quart", "quarts")
_add("volume", 4.73176473e-4, "pt", "pint", "pints")
_add("volume", 2.365882365e-4, "cup", "cups")
_add("volume", 2.95735295625e-5, "floz", "fl oz", "fluid ounce", "fluid ounces")
_add("volume", 1.478676478125e-5, "tbsp", "tablespoon", "tablespoons")
_add("volume", 4.92892159375e-6, "tsp", "teaspoon", "teaspoons")
_add("area", 1, "m2", "square meter", "square meters", "sq m")
_add("area", 1e6, "km2", "square kilometer", "square kilometers", "sq km")
_add("area", 1e-4, "cm2", "square centimeter", "square centimeters")
_add("area", 1e4, "ha", "hectare", "hectares")
_add("area", 4046.8564224, "acre", "acres")
_add("area", 0.09290304, "ft2", "sq ft", "square foot", "square feet")
_add("area", 2589988.110336, "mi2", "sq mi", "square mile", "square miles")
_add("speed", 1, "m/s", "mps", "meters per second")
_add("speed", 1 / 3.6, "km/h", "kph", "kmh", "kilometers per hour")
_add("speed", 0.44704, "mph", "miles per hour")
_add("speed", 1852 / 3600, "kn", "knot", "knots")
_add("speed", 0.3048, "ft/s", "fps", "feet per second")
_add("energy", 1, "j", "joule", "joules")
_add("energy", 1e3, "kj", "kilojoule", "kilojoules")
_add("energy", 4.184, "cal", "calorie", "calories")
_add("energy", 4184, "kcal", "kilocalorie", "kilocalories")
_add("energy", 3600, "wh", "watt hour", "watt hours")
_add("energy", 3.6e6, "kwh", "kilowatt hour", "kilowatt hours")
_add("energy", 1.602176634e-19, "ev", "electronvolt", "electronvolts")
_add("energy", 1055.05585262, "btu")
_add("pressure", 1, "pa", "pascal", "pascals")
_add("pressure", 1e3, "kpa", "kilopascal", "kilopascals")
_add("pressure", 1e5, "bar", "bars")
_add("pressure", 101325, "atm", "atmosphere", "atmospheres")
_add("pressure", 6894.757293168, "psi")
_add("pressure", 133.322387415, "mmhg")
_add("data", 1, "b", "byte", "bytes")
_add("data", 1 / 8, "bit", "bits")
for _i, _p in enumerate(("k", "m", "g", "t"), start=1):
    _add("data", 1000.0**_i, f"{_p}b")
    _add("data", 1024.0**_i, f"{_p}ib")
_add("data", 1e3, "kilobyte", "kilobytes")
_add("data", 1e6, "megabyte", "megabytes")
_add("data", 1e9, "gigabyte", "gigabytes")
_add("data", 1e12, "terabyte", "terabytes")

_TEMPERATURE = {
    "c": "C", "°c": "C", "celsius": "C", "degc": "C",
    "f": "F", "°f": "F", "fahrenheit": "F", "degf": "F",
    "k": "K", "kelvin": "K",
}
_CONVERT_RE = re.compile(r"^\s*([-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)\s*(.+?)\s+(?:to|in|into|->|as)\s+(.+?)\s*\??$", re.I)


def _to_kelvin(value: float, unit: str) -> float:
    return {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[unit]


def _from_kelvin(value: float, unit: str) -> float:
    return {"C": value - 273.15, "F": (value - 273.15) * 9 / 5 + 32, "K": value}[unit]


def _unit_name(raw: str) -> str:
    return raw.strip().lower().replace("²", "2").replace("³", "3").replace("degrees ", "").replace("degree ", "")


def convert(query: str) -> str:
    """Converts ``"<number> <unit> to <unit>"``; raises ValueError with what is accepted."""
    m = _CONVERT_RE.match(query or "")
    if not m:
        raise ValueError("write the conversion as '<number> <unit> to <unit>', e.g. '12 km to mi' or '100 F to C'")
    value = float(m.group(1).replace(",", ""))
    src, dst = _unit_name(m.group(2)), _unit_name(m.group(3))
    if src in _TEMPERATURE or dst in _TEMPERATURE:
        if src not in _TEMPERATURE or dst not in _TEMPERATURE:
            raise ValueError(f"cannot convert between `{m.group(2)}` and `{m.group(3)}`: temperatures convert among C, F and K")
        a, b = _TEMPERATURE[src], _TEMPERATURE[dst]
        result = _from_kelvin(_to_kelvin(value, a), b)
        return f"{format_number(value)} {a} = {format_number(round(result, 12))} {b}"
    for raw, name in ((m.group(2), src), (m.group(3), dst)):
        if name not in _UNITS:
            raise ValueError(f"unknown unit `{raw.strip()[:40]}`; known units include: " + ", ".join(sorted(
                {k for k in _UNITS if len(k) <= 5})))
    (dim_a, fa), (dim_b, fb) = _UNITS[src], _UNITS[dst]
    if dim_a != dim_b:
        raise ValueError(f"cannot convert {dim_a} (`{m.group(2).strip()}`) to {dim_b} (`{m.group(3).strip()}`)")
    result = value * fa / fb
    return f"{format_number(value)} {m.group(2).strip()} = {format_number(float(f'{result:.15g}'))} {m.group(3).strip()}"


# ------------------------------------------------------------------------------------ dates
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%m/%d/%Y")
_TIME_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_DELTA_RE = re.compile(r"([+-])\s*(\d+)\s*(day|days|week|weeks|month|months|year|years)\b", re.I)


def parse_date(text: str) -> dt.date:
    """A date from ISO (``2024-03-01``) or English (``March 1, 2024``, ``1 March 2024``)."""
    t = " ".join(text.strip().rstrip(".").split())
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"cannot read the date `{text.strip()[:40]}`; use YYYY-MM-DD (e.g. 2024-03-01) or 'March 1, 2024'")


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise ValueError("the resulting date is outside years 1-9999")
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _describe(day: dt.date) -> str:
    return f"{day.isoformat()} ({day.strftime('%A')})"


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.split(":")]
    h, m, s = (parts + [0])[:3]
    if m > 59 or s > 59 or h > 23:
        raise ValueError(f"`{text}` is not a valid time of day (HH:MM or HH:MM:SS)")
    return h * 3600 + m * 60 + s


def dates(expression: str) -> str:
    """Date arithmetic: ``DATE`` (weekday), ``DATE + 3 weeks - 2 days``, ``DATE - DATE``,
    ``DATE to DATE`` (days between), ``HH:MM:SS to HH:MM:SS`` (duration, next day if earlier)."""
    text = " ".join((expression or "").strip().split())
    if not text:
        raise ValueError("the expression is empty; e.g. '2024-03-01 + 45 days' or '2024-03-01 - 2023-12-25'")
    if re.search(r"\b(today|now|yesterday|tomorrow)\b", text, re.I):
        raise ValueError("relative words like 'today' are not supported; give explicit dates (YYYY-MM-DD)")
    text = re.sub(r"^(weekday|day of week)( of)?\s+", "", text, flags=re.I)
    pair = re.split(r"\s+(?:to|until|and)\s+|\s+-\s+(?=\d{4}-|\d{1,2}:|[A-Za-z])", text, maxsplit=1)
    if len(pair) == 2 and not _DELTA_RE.search(text):
        a, b = pair
        if _TIME_RE.match(a.strip()) and _TIME_RE.match(b.strip()):
            secs = (_seconds(b.strip()) - _seconds(a.strip())) % 86400
            return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        d1, d2 = parse_date(a), parse_date(b)
        days = (d2 - d1).days if " - " not in text else (d1 - d2).days
        weeks, rest = divmod(abs(days), 7)
        return f"{days} days ({'-' if days < 0 else ''}{weeks} weeks and {rest} days)"
    m = _DELTA_RE.search(text)
    base_text = text[: m.start()] if m else text
    day = parse_date(base_text)
    rest = text[len(base_text):]
    for sign, amount, unit in _DELTA_RE.findall(rest):
        n = int(amount) * (1 if sign == "+" else -1)
        unit = unit.lower().rstrip("s")
        try:
            if unit in ("day", "week"):
                day = day + dt.timedelta(days=n * (7 if unit == "week" else 1))
            else:
                day = _add_months(day, n * (12 if unit == "year" else 1))
        except OverflowError:
            raise ValueError("the resulting date is outside years 1-9999") from None
    leftover = _DELTA_RE.sub("", rest).strip()
    if leftover:
        raise ValueError(f"cannot read `{leftover[:40]}`; add or subtract like '+ 3 days', '- 2 weeks', '+ 1 month'")
    return _describe(day) + (f", day {day.timetuple().tm_yday} of {day.year}" if not m else "")


__all__ = ["convert", "dates", "parse_date"]
