import pytest

from calendarlite import CalendarError, Date, Duration, InvalidDuration


def test_parse_all_fields():
    d = Duration.parse("P1Y2M10DT2H30M15S")
    assert d.as_tuple() == (1, 2, 10, 2, 30, 15)


def test_months_and_minutes_are_told_apart():
    assert Duration.parse("P1M").as_tuple() == (0, 1, 0, 0, 0, 0)
    assert Duration.parse("PT1M").as_tuple() == (0, 0, 0, 0, 1, 0)


def test_weeks_become_days():
    assert Duration.parse("P2W").days == 14
    assert Duration.parse("P1W3D").days == 10


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "1D", "P1H", "PT1D", "P-1D", "P1.5D", "", "P1Y1Y"])
def test_parse_rejects_invalid(text):
    with pytest.raises(InvalidDuration):
        Duration.parse(text)


def test_str_is_canonical():
    assert str(Duration.parse("P0D")) == "PT0S"
    assert str(Duration(days=3, minutes=5)) == "P3DT5M"
    assert str(Duration.parse("p1y2m10dt2h30m")) == "P1Y2M10DT2H30M"
    assert str(Duration(hours=1)) == "PT1H"


def test_total_seconds():
    assert Duration.parse("P1DT1H1M1S").total_seconds() == 90061
    assert Duration.parse("PT90M").total_seconds() == 5400


def test_total_seconds_refuses_calendar_units():
    with pytest.raises(CalendarError):
        Duration.parse("P1M").total_seconds()


def test_normalized_carries_units():
    assert Duration(seconds=3725).normalized() == Duration(hours=1, minutes=2, seconds=5)
    assert Duration(hours=50, months=14).normalized() == Duration(years=1, months=2, days=2, hours=2)


def test_sum_and_equality():
    total = Duration.parse("P1M") + Duration.parse("P1MT30M")
    assert total == Duration(months=2, minutes=30)
    assert len({Duration.parse("P7D"), Duration.parse("P1W")}) == 1


def test_add_to_date_months_first_then_days():
    assert Date(2024, 1, 31) + Duration.parse("P1M1D") == Date(2024, 3, 1)
    assert Date(2024, 3, 1) + Duration.parse("P1M10D") == Date(2024, 4, 11)
    assert Date(2024, 2, 29) + Duration.parse("P1Y") == Date(2025, 2, 28)


def test_add_to_date_counts_whole_days_of_hours():
    assert Date(2024, 1, 1) + Duration.parse("PT47H") == Date(2024, 1, 2)
    assert Date(2024, 1, 1) + Duration.parse("PT48H") == Date(2024, 1, 3)


def test_constructor_rejects_negative_and_non_integers():
    with pytest.raises(InvalidDuration):
        Duration(days=-1)
    with pytest.raises(InvalidDuration):
        Duration(hours=1.5)
