import datetime

import pytest

from calendarlite import Date, InvalidDate


def test_parse_extended_and_basic_formats():
    assert Date.parse("2024-02-29") == Date(2024, 2, 29)
    assert Date.parse(" 20240229 ") == Date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "24-01-01", "2024/01/01",
                                  "", "2024-1-1"])
def test_parse_rejects_invalid(text):
    with pytest.raises(InvalidDate):
        Date.parse(text)


def test_constructor_validates():
    with pytest.raises(InvalidDate):
        Date(2023, 2, 29)
    with pytest.raises(InvalidDate):
        Date(0, 1, 1)
    with pytest.raises(InvalidDate):
        Date(2024, 1, True)


def test_str_and_repr():
    assert str(Date(7, 3, 5)) == "0007-03-05"
    assert repr(Date(2024, 3, 5)) == "Date(2024, 3, 5)"


def test_ordering_and_hashing():
    dates = [Date(2024, 3, 1), Date(2023, 12, 31), Date(2024, 2, 29)]
    assert sorted(dates) == [Date(2023, 12, 31), Date(2024, 2, 29), Date(2024, 3, 1)]
    assert Date(2024, 1, 2) > Date(2024, 1, 1) and Date(2024, 1, 1) <= Date(2024, 1, 1)
    assert len({Date(2024, 1, 1), Date.parse("2024-01-01")}) == 1


def test_add_days_crosses_months_and_years():
    assert Date(2023, 12, 31).add_days(1) == Date(2024, 1, 1)
    assert Date(2024, 3, 1).add_days(-1) == Date(2024, 2, 29)
    assert Date(2024, 1, 1).add_days(366) == Date(2025, 1, 1)


def test_add_months_clamps_to_month_end():
    assert Date(2024, 1, 31).add_months(1) == Date(2024, 2, 29)
    assert Date(2023, 1, 31).add_months(1) == Date(2023, 2, 28)
    assert Date(2024, 3, 31).add_months(1) == Date(2024, 4, 30)


def test_add_months_across_years_and_backwards():
    assert Date(2023, 11, 15).add_months(3) == Date(2024, 2, 15)
    assert Date(2024, 1, 15).add_months(-1) == Date(2023, 12, 15)
    assert Date(2024, 3, 31).add_months(-13) == Date(2023, 2, 28)
    assert Date(2024, 5, 10).add_months(0) == Date(2024, 5, 10)


def test_add_months_out_of_range():
    with pytest.raises(InvalidDate):
        Date(9999, 12, 1).add_months(1)


def test_add_years_from_leap_day():
    assert Date(2024, 2, 29).add_years(1) == Date(2025, 2, 28)
    assert Date(2024, 2, 29).add_years(4) == Date(2028, 2, 29)


def test_subtraction_counts_days():
    assert Date(2024, 3, 1) - Date(2024, 2, 1) == 29
    assert Date(2024, 2, 1) - Date(2024, 3, 1) == -29
    assert Date(2024, 1, 1).days_until(Date(2024, 12, 25)) == 359


def test_end_of_month():
    assert Date(2024, 2, 10).end_of_month() == Date(2024, 2, 29)
    assert Date(2023, 12, 1).end_of_month() == Date(2023, 12, 31)


def test_iso_week_matches_the_standard_library():
    start = datetime.date(2019, 12, 20)
    for offset in range(0, 1200, 3):
        day = start + datetime.timedelta(days=offset)
        assert Date(day.year, day.month, day.day).iso_week() == tuple(day.isocalendar())


def test_iso_week_year_boundaries():
    assert Date(2021, 1, 3).iso_week() == (2020, 53, 7)
    assert Date(2024, 12, 30).iso_week() == (2025, 1, 1)


def test_from_iso_week_and_parse_week_dates():
    assert Date.from_iso_week(2020, 53, 7) == Date(2021, 1, 3)
    assert Date.from_iso_week(2025, 1, 1) == Date(2024, 12, 30)
    assert Date.parse("2024-W10-3") == Date(2024, 3, 6)
    assert Date.parse("2024W103") == Date(2024, 3, 6)


def test_from_iso_week_rejects_missing_weeks():
    with pytest.raises(InvalidDate):
        Date.from_iso_week(2021, 53)  # 2021 has 52 ISO weeks
    with pytest.raises(InvalidDate):
        Date.from_iso_week(2024, 0)
    with pytest.raises(InvalidDate):
        Date.from_iso_week(2024, 1, 8)
