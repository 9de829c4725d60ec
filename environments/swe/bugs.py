"""The hand-written bugs of the bundled libraries (``semverlite``, ``calendarlite``).

    from agentgym.environments.swe.bugs import SPECS    # BugSpec(id, library, file, correct, buggy, hidden, statement)

Each spec names a library file, a snippet of the correct code and the buggy code that replaces
it, the tests hidden at ``base_commit`` (``test_patch`` adds them back) and an issue-style
problem statement. :mod:`.bundled` turns them into rows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BugSpec:
    id: str
    library: str
    file: str
    correct: str
    buggy: str
    hidden: tuple[str, ...]  # "tests/test_x.py::test_name" removed at base_commit
    statement: str
    hints: str = ""


SEMVER = "semverlite"
SEMVER_SPECS: tuple[BugSpec, ...] = (
    BugSpec("semverlite-1", SEMVER, "semverlite/version.py",
            "        a, b = int(left), int(right)\n", "        a, b = left, right\n",
            ("tests/test_version.py::test_numeric_prerelease_identifiers_compare_numerically",),
            "Pre-release numbers are compared as text\n\n`Version.parse(\"1.0.0-rc.2\") < Version.parse(\"1.0.0-rc.10\")` "
            "returns False. Per semver 2.0 section 11, identifiers consisting of only digits are compared "
            "numerically, so rc.2 must sort before rc.10."),
    BugSpec("semverlite-2", SEMVER, "semverlite/version.py",
            "    if not left:\n        return 1\n    if not right:\n        return -1\n",
            "    if not left:\n        return -1\n    if not right:\n        return 1\n",
            ("tests/test_version.py::test_prerelease_is_lower_than_release",),
            "Release versions sort below their pre-releases\n\n`Version.parse(\"1.0.0-alpha\") < Version.parse(\"1.0.0\")` "
            "is False, and `sorted()` puts 1.0.0 before 1.0.0-rc.1. A pre-release has lower precedence than the "
            "normal version with the same major, minor and patch."),
    BugSpec("semverlite-3", SEMVER, "semverlite/ranges.py",
            "    if major > 0 or minor is None:\n        high = Version(major + 1)\n",
            "    if major >= 0 or minor is None:\n        high = Version(major + 1)\n",
            ("tests/test_ranges.py::test_caret_zero_major_locks_minor",
             "tests/test_ranges.py::test_caret_zero_minor_locks_patch"),
            "Caret ranges on 0.x versions allow breaking minor upgrades\n\n`satisfies(\"0.3.0\", \"^0.2.3\")` is True "
            "but should be False: for a 0.x version the caret allows only patch-level changes "
            "(^0.2.3 means >=0.2.3 <0.3.0, and ^0.0.3 means >=0.0.3 <0.0.4)."),
    BugSpec("semverlite-4", SEMVER, "semverlite/ranges.py",
            "    high = Version(major + 1) if minor is None else Version(major, minor + 1)\n"
            "    return [Comparator(\">=\", low), Comparator(\"<\", high)]\n\n\ndef _x_range",
            "    high = Version(major + 1)\n"
            "    return [Comparator(\">=\", low), Comparator(\"<\", high)]\n\n\ndef _x_range",
            ("tests/test_ranges.py::test_tilde_allows_patch_changes",),
            "Tilde ranges accept new minor versions\n\n`satisfies(\"1.3.0\", \"~1.2.3\")` returns True. A tilde range "
            "with a minor version must only allow patch-level changes: ~1.2.3 means >=1.2.3 <1.3.0."),
    BugSpec("semverlite-5", SEMVER, "semverlite/version.py",
            "        return Version(self.major, self.minor + 1, 0)\n",
            "        return Version(self.major, self.minor + 1, self.patch)\n",
            ("tests/test_version.py::test_bump_minor_resets_patch",),
            "bump_minor keeps the patch number\n\n`Version.parse(\"1.4.2\").bump_minor()` gives 1.5.2; the next minor "
            "release of 1.4.2 is 1.5.0."),
    BugSpec("semverlite-6", SEMVER, "semverlite/version.py",
            "        pre = tuple(match[\"pre\"].split(\".\")) if match[\"pre\"] else ()\n        _check_prerelease(pre, text)\n",
            "        pre = tuple(match[\"pre\"].split(\".\")) if match[\"pre\"] else ()\n",
            ("tests/test_version.py::test_parse_rejects_leading_zero_in_numeric_prerelease",),
            "Leading zeros accepted in numeric pre-release identifiers\n\n`Version.parse(\"1.2.3-rc.01\")` succeeds. "
            "Semver forbids leading zeros in numeric identifiers, so it should raise InvalidVersion "
            "(alphanumeric identifiers such as `0a` stay valid)."),
    BugSpec("semverlite-7", SEMVER, "semverlite/version.py",
            "        return hash((self.release, self.prerelease))\n",
            "        return hash((self.release, self.prerelease, self.build))\n",
            ("tests/test_version.py::test_build_metadata_ignored_in_equality_and_hash",),
            "Equal versions hash differently\n\n`Version.parse(\"1.0.0+one\") == Version.parse(\"1.0.0+two\")` is True, "
            "but a set of the two holds two elements. Build metadata does not take part in precedence, so equal "
            "versions must have equal hashes."),
    BugSpec("semverlite-8", SEMVER, "semverlite/ranges.py",
            "version > best[0]", "version < best[0]",
            ("tests/test_ranges.py::test_max_satisfying_picks_highest",
             "tests/test_ranges.py::test_max_satisfying_returns_input_spelling"),
            "max_satisfying returns the lowest match\n\n`max_satisfying([\"1.2.3\", \"1.9.0\", \"1.4.0\"], \"^1.2.0\")` "
            "returns '1.2.3'; it should return the highest version in the range, '1.9.0'."),
    BugSpec("semverlite-9", SEMVER, "semverlite/ranges.py",
            "\"<=\": [Comparator(\"<\", ceiling)]", "\"<=\": [Comparator(\"<=\", floor)]",
            ("tests/test_ranges.py::test_partial_less_than_or_equal",
             "tests/test_ranges.py::test_hyphen_range_partial_upper_bound"),
            "<= with a partial version excludes most of that version\n\n`satisfies(\"1.2.9\", \"<=1.2\")` is False. "
            "A partial version stands for all its patch releases, so <=1.2 must accept every 1.2.x "
            "(it means <1.3.0). Hyphen ranges with a partial upper bound (\"1.2 - 2.3\") have the same problem."),
    BugSpec("semverlite-10", SEMVER, "semverlite/ranges.py",
            "c.version.release == version.release", "c.version.major == version.major",
            ("tests/test_ranges.py::test_prerelease_allowed_when_named",),
            "Pre-releases of other versions slip into ranges\n\n`satisfies(\"1.2.4-rc.1\", \">=1.2.3-rc.1 <2.0.0\")` "
            "is True. A pre-release should only match when a comparator names a pre-release of the same "
            "major.minor.patch (here 1.2.3)."),
    BugSpec("semverlite-11", SEMVER, "semverlite/version.py",
            "            text += \"+\" + \".\".join(self.build)\n",
            "            text += \"-\" + \".\".join(self.build)\n",
            ("tests/test_version.py::test_str_round_trip",),
            "str() loses build metadata separator\n\n`str(Version.parse(\"1.2.3+exp.sha.5114f85\"))` gives "
            "'1.2.3-exp.sha.5114f85', which is a different (pre-release) version. Build metadata must be "
            "written after a '+'."),
    BugSpec("semverlite-12", SEMVER, "semverlite/version.py",
            "            parts[-1] = str(int(parts[-1]) + 1)\n",
            "            parts[-1] = parts[-1] + \"1\"\n",
            ("tests/test_version.py::test_bump_prerelease",),
            "bump_prerelease appends digits instead of incrementing\n\n`Version.parse(\"1.4.3-rc.0\").bump_prerelease()` "
            "gives 1.4.3-rc.01 (which is not even a valid version); it should give 1.4.3-rc.1."),
)

CALENDAR = "calendarlite"
CALENDAR_SPECS: tuple[BugSpec, ...] = (
    BugSpec("calendarlite-1", CALENDAR, "calendarlite/core.py",
            "    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
            "    return year % 4 == 0 and year % 100 != 0\n",
            ("tests/test_core.py::test_leap_years_follow_the_gregorian_rule",),
            "is_leap(2000) is False\n\n`calendarlite.is_leap(2000)` returns False, so `Date(2000, 2, 29)` raises "
            "InvalidDate. Century years are leap years when they are divisible by 400 (2000 and 2400 are, 1900 and "
            "2100 are not)."),
    BugSpec("calendarlite-2", CALENDAR, "calendarlite/date.py",
            "        return Date(year, month, min(self.day, core.days_in_month(year, month)))\n",
            "        return Date(year, month, self.day)\n",
            ("tests/test_date.py::test_add_months_clamps_to_month_end",),
            "add_months fails from the 31st\n\n`Date(2024, 1, 31).add_months(1)` raises `InvalidDate: day must be "
            "in 1..29 for 2024-02, got 31`. Adding months should land on the last day of the target month when it is "
            "shorter: 2024-01-31 + 1 month is 2024-02-29, 2024-03-31 + 1 month is 2024-04-30."),
    BugSpec("calendarlite-3", CALENDAR, "calendarlite/date.py",
            "        return thursday.year, (thursday.day_of_year() - 1) // 7 + 1, wd\n",
            "        return self.year, (thursday.day_of_year() - 1) // 7 + 1, wd\n",
            ("tests/test_date.py::test_iso_week_year_boundaries",),
            "iso_week gives the wrong year around New Year\n\n`Date(2021, 1, 3).iso_week()` returns (2021, 53, 7) "
            "but 2021-01-03 is the Sunday of ISO week 53 of 2020, and `Date(2024, 12, 30).iso_week()` should be "
            "(2025, 1, 1). The ISO year is not always the calendar year (compare `datetime.date.isocalendar()`)."),
    BugSpec("calendarlite-4", CALENDAR, "calendarlite/durations.py",
            "        parts[\"days\"] = parts.get(\"days\", 0) + 7 * weeks\n",
            "        parts[\"days\"] = parts.get(\"days\", 0) + weeks\n",
            ("tests/test_durations.py::test_weeks_become_days",),
            "Weeks in durations count as days\n\n`Duration.parse(\"P2W\").days` is 2; two weeks are 14 days. "
            "`P1W3D` should likewise be 10 days."),
    BugSpec("calendarlite-5", CALENDAR, "calendarlite/business.py",
            "        if start <= holiday < end and holiday.weekday() not in WEEKEND:\n",
            "        if start <= holiday < end:\n",
            ("tests/test_business.py::test_business_days_between_subtracts_weekday_holidays_in_range",),
            "Holidays on a weekend are subtracted twice\n\n`business_days_between(Date(2024, 5, 6), Date(2024, 5, 13), "
            "holidays=[Date(2024, 5, 8), Date(2024, 5, 11)])` returns 3. The Saturday 2024-05-11 was never a business "
            "day, so only the Wednesday holiday should be taken off: the answer is 4."),
    BugSpec("calendarlite-6", CALENDAR, "calendarlite/durations.py",
            "        if self.is_zero():\n            return \"PT0S\"\n",
            "",
            ("tests/test_durations.py::test_str_is_canonical",),
            "A zero duration prints as \"P\"\n\n`str(Duration.parse(\"P0D\"))` gives 'P', which is not a valid ISO "
            "8601 duration (`Duration.parse(\"P\")` rejects it). Zero should be written as 'PT0S'."),
    BugSpec("calendarlite-7", CALENDAR, "calendarlite/business.py",
            "    if days == 0:\n        while not is_business_day(current, off):\n            current = current.add_days(1)\n"
            "        return current\n",
            "    if days == 0:\n        return current\n",
            ("tests/test_business.py::test_zero_business_days_rolls_forward",),
            "add_business_days(date, 0) can return a weekend\n\n`add_business_days(Date(2024, 5, 4), 0)` returns the "
            "Saturday itself. As documented, adding zero business days rolls a weekend or holiday forward to the next "
            "business day (here Monday 2024-05-06)."),
    BugSpec("calendarlite-8", CALENDAR, "calendarlite/date.py",
            "        match = _EXTENDED.match(raw) or _BASIC.match(raw)\n",
            "        match = _EXTENDED.match(raw)\n",
            ("tests/test_date.py::test_parse_extended_and_basic_formats",),
            "Date.parse rejects the basic format\n\n`Date.parse(\"20240229\")` raises InvalidDate. ISO 8601's basic "
            "format YYYYMMDD is documented as accepted, as is surrounding whitespace."),
)
SPECS: tuple[BugSpec, ...] = SEMVER_SPECS + CALENDAR_SPECS
