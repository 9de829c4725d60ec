import pytest

from calendarlite import Date, add_business_days, business_days_between, is_business_day

FRIDAY, SATURDAY, MONDAY = Date(2024, 5, 3), Date(2024, 5, 4), Date(2024, 5, 6)


def test_weekends_and_holidays_are_not_business_days():
    assert is_business_day(FRIDAY) and is_business_day(MONDAY)
    assert not is_business_day(SATURDAY) and not is_business_day(Date(2024, 5, 5))
    assert not is_business_day(MONDAY, holidays=[MONDAY])


def test_add_business_days_skips_the_weekend():
    assert add_business_days(FRIDAY, 1) == MONDAY
    assert add_business_days(FRIDAY, 5) == Date(2024, 5, 10)
    assert add_business_days(Date(2024, 5, 1), 2) == FRIDAY


def test_add_business_days_backwards():
    assert add_business_days(MONDAY, -1) == FRIDAY
    assert add_business_days(MONDAY, -6) == Date(2024, 4, 26)


def test_add_business_days_skips_holidays():
    assert add_business_days(FRIDAY, 1, holidays=[MONDAY]) == Date(2024, 5, 7)
    assert add_business_days(Date(2024, 12, 24), 1, holidays=[Date(2024, 12, 25), Date(2024, 12, 26)]) == \
        Date(2024, 12, 27)


def test_zero_business_days_rolls_forward():
    assert add_business_days(SATURDAY, 0) == MONDAY
    assert add_business_days(FRIDAY, 0) == FRIDAY


def test_business_days_between_counts_half_open_interval():
    assert business_days_between(MONDAY, Date(2024, 5, 13)) == 5
    assert business_days_between(FRIDAY, MONDAY) == 1
    assert business_days_between(MONDAY, MONDAY) == 0


def test_business_days_between_long_spans_match_a_day_by_day_count():
    start = Date(2023, 12, 20)
    for length in (0, 1, 6, 7, 8, 30, 61, 400):
        end = start.add_days(length)
        slow = sum(1 for i in range(length) if is_business_day(start.add_days(i)))
        assert business_days_between(start, end) == slow, length


def test_business_days_between_subtracts_weekday_holidays_in_range():
    holidays = [Date(2024, 5, 8), Date(2024, 5, 11), Date(2024, 5, 20)]  # a Wednesday, a Saturday, out of range
    assert business_days_between(MONDAY, Date(2024, 5, 13), holidays) == 4


def test_business_days_between_reversed_is_negative():
    assert business_days_between(Date(2024, 5, 13), MONDAY) == -5


@pytest.mark.parametrize("days", [1, 3, 10, 25])
def test_adding_then_counting_agree(days):
    end = add_business_days(MONDAY, days)
    assert business_days_between(MONDAY, end) == days
