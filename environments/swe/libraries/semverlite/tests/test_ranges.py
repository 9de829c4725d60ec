import pytest

from semverlite import InvalidRange, Range, max_satisfying, satisfies


def test_exact_version():
    assert satisfies("1.2.3", "1.2.3")
    assert not satisfies("1.2.4", "1.2.3")


def test_comparators_and_intersection():
    r = Range.parse(">=1.2.0 <2.0.0")
    assert r.contains("1.2.0") and r.contains("1.99.99")
    assert not r.contains("2.0.0") and not r.contains("1.1.9")


def test_greater_than_is_exclusive():
    assert not satisfies("1.2.3", ">1.2.3")
    assert satisfies("1.2.4", ">1.2.3")


def test_less_than_or_equal_is_inclusive():
    assert satisfies("1.2.3", "<=1.2.3")
    assert not satisfies("1.2.4", "<=1.2.3")


def test_caret_major():
    assert satisfies("1.9.9", "^1.2.3")
    assert not satisfies("2.0.0", "^1.2.3")
    assert not satisfies("1.2.2", "^1.2.3")


def test_caret_zero_major_locks_minor():
    assert satisfies("0.2.9", "^0.2.3")
    assert not satisfies("0.3.0", "^0.2.3")


def test_caret_zero_minor_locks_patch():
    assert satisfies("0.0.3", "^0.0.3")
    assert not satisfies("0.0.4", "^0.0.3")


def test_tilde_allows_patch_changes():
    assert satisfies("1.2.9", "~1.2.3")
    assert not satisfies("1.3.0", "~1.2.3")
    assert not satisfies("1.2.2", "~1.2.3")


def test_tilde_major_only():
    assert satisfies("1.9.0", "~1")
    assert not satisfies("2.0.0", "~1")


def test_x_ranges():
    assert satisfies("1.2.7", "1.2.x")
    assert not satisfies("1.3.0", "1.2.x")
    assert satisfies("1.9.0", "1.x")
    assert not satisfies("2.0.0", "1.X")


def test_star_matches_any_release():
    assert satisfies("0.0.1", "*")
    assert satisfies("99.0.0", "")


def test_partial_less_than_or_equal():
    assert satisfies("1.2.9", "<=1.2")
    assert not satisfies("1.3.0", "<=1.2")


def test_partial_greater_than():
    assert not satisfies("1.2.9", ">1.2")
    assert satisfies("1.3.0", ">1.2")


def test_hyphen_range_is_inclusive():
    r = Range.parse("1.2.3 - 2.3.4")
    assert r.contains("1.2.3") and r.contains("2.3.4")
    assert not r.contains("2.3.5")


def test_hyphen_range_partial_upper_bound():
    r = Range.parse("1.2 - 2.3")
    assert r.contains("2.3.9")
    assert not r.contains("2.4.0")


def test_union():
    r = Range.parse("1.x || >=3.1.0")
    assert r.contains("1.5.0") and r.contains("3.1.0")
    assert not r.contains("2.5.0")


def test_prerelease_excluded_by_default():
    assert not satisfies("1.3.0-rc.1", "^1.2.0")


def test_prerelease_allowed_when_named():
    assert satisfies("1.2.3-rc.2", ">=1.2.3-rc.1 <2.0.0")
    assert not satisfies("1.2.4-rc.1", ">=1.2.3-rc.1 <2.0.0")


def test_max_satisfying_picks_highest():
    assert max_satisfying(["1.2.3", "1.9.0", "1.4.0", "2.0.0"], "^1.2.0") == "1.9.0"


def test_max_satisfying_none_when_nothing_matches():
    assert max_satisfying(["0.1.0", "3.0.0"], "^1.2.0") is None


def test_max_satisfying_returns_input_spelling():
    assert max_satisfying(["v1.2.3", "v1.2.4"], "~1.2") == "v1.2.4"


def test_spaces_after_operators_are_allowed():
    assert satisfies("1.5.0", ">= 1.2.0 < 2.0.0")


def test_range_str():
    assert str(Range.parse("^1.2.3")) == ">=1.2.3 <2.0.0"
    assert str(Range.parse("~1.2 || 3.x")) == ">=1.2.0 <1.3.0 || >=3.0.0 <4.0.0"


@pytest.mark.parametrize("text", ["1.2.3||", ">=a.b", "^1.2.3.4"])
def test_invalid_ranges_raise(text):
    with pytest.raises(InvalidRange):
        Range.parse(text)
