import datetime

import pytest

from calendarlite import InvalidDate, day_of_year, days_in_month, from_ordinal, is_leap, to_ordinal, weekday


def test_leap_years_follow_the_gregorian_rule():
    assert [y for y in (1900, 1996, 2000, 2023, 2024, 2100, 2400) if is_leap(y)] == [1996, 2000, 2024, 2400]


def test_days_in_month_including_february():
    assert [days_in_month(2023, m) for m in range(1, 13)] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert days_in_month(2024, 2) == 29 and days_in_month(1900, 2) == 28 and days_in_month(2000, 2) == 29


def test_days_in_month_rejects_bad_months():
    for month in (0, 13):
        with pytest.raises(InvalidDate):
            days_in_month(2024, month)


def test_day_of_year():
    assert day_of_year(2023, 1, 1) == 1
    assert day_of_year(2023, 12, 31) == 365 and day_of_year(2024, 12, 31) == 366
    assert day_of_year(2024, 3, 1) == 61 and day_of_year(2023, 3, 1) == 60


def test_ordinals_match_the_standard_library():
    for y, m, d in [(1, 1, 1), (1970, 1, 1), (1999, 12, 31), (2000, 2, 29), (2000, 3, 1), (2024, 7, 15),
                    (9999, 12, 31)]:
        assert to_ordinal(y, m, d) == datetime.date(y, m, d).toordinal()


def test_from_ordinal_round_trips_every_day_of_four_centuries_edges():
    for n in list(range(1, 800)) + list(range(730000, 731500)) + [3652059]:
        expected = datetime.date.fromordinal(n)
        assert from_ordinal(n) == (expected.year, expected.month, expected.day)


def test_from_ordinal_rejects_out_of_range():
    for n in (0, -5, 3652060):
        with pytest.raises(InvalidDate):
            from_ordinal(n)


def test_weekday_is_iso():
    assert weekday(2024, 1, 1) == 1  # a Monday
    assert weekday(2023, 12, 31) == 7
    for offset in range(14):
        day = datetime.date(2024, 2, 20) + datetime.timedelta(days=offset)
        assert weekday(day.year, day.month, day.day) == day.isoweekday()
