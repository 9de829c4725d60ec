"""Answer scoring: SQuAD normalization, EM, F1, numbers, \\boxed{} stripping."""

import pytest
from hypothesis import given, strategies as st

from agentgym.environments.tools.scoring import (
    exact_match, f1_score, normalize_answer, numeric_match, parse_number, score_answer, strip_boxed,
)


@pytest.mark.parametrize("text,expected", [
    ("The Glass Orchard.", "glass orchard"),
    ("  An   apple, a PEAR! ", "apple pear"),
    ("Théâtre-d'Or", "théâtredor"),
    ("", ""),
])
def test_normalize_answer_follows_squad(text, expected):
    assert normalize_answer(text) == expected


@given(st.text(max_size=40))
def test_normalization_is_idempotent(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@pytest.mark.parametrize("text,expected", [
    (r"\boxed{42}", "42"),
    (r"The answer is \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
    (r"\boxed{a} then \boxed{b}", "b"),
    (r"\boxed{unclosed", "unclosed"),
    ("$244/607$", "244/607"),
    ("plain", "plain"),
    (r"\fbox{7}", "7"),
])
def test_strip_boxed(text, expected):
    assert strip_boxed(text) == expected


def test_exact_match_and_f1():
    assert exact_match("the Glass Orchard", ["Glass Orchard", "x"]) == 1.0
    assert exact_match("Glass", "Glass Orchard") == 0.0
    assert f1_score("Glass", "Glass Orchard") == pytest.approx(2 / 3)
    assert f1_score("completely different", "Glass Orchard") == 0.0
    assert f1_score(r"\boxed{Glass Orchard}", ["nope", "glass orchard"]) == 1.0
    assert f1_score("", "") == 1.0 and f1_score("x", "") == 0.0


@pytest.mark.parametrize("text,value", [
    ("1,234.5", 1234.5), ("-3", -3.0), ("2/3", 2 / 3), ("50%", 0.5), ("$12", 12.0), (r"\boxed{7}", 7.0),
    ("1e3", 1000.0), ("abc", None), ("1/0", None), ("inf", None), ("", None), ("3.", 3.0),
])
def test_parse_number(text, value):
    got = parse_number(text)
    assert (got is None and value is None) or got == pytest.approx(value)


def test_numeric_match_tolerance():
    assert numeric_match("3.14159", "3.1416", rel_tol=1e-4)
    assert not numeric_match("3.14159", "3.1416", rel_tol=1e-7)
    assert not numeric_match("three", "3")


def test_score_answer_modes():
    assert score_answer(r"\boxed{42}", "42") == 1.0
    assert score_answer("42.0", "42") == 1.0            # numeric fallback in auto mode
    assert score_answer("42.0", "42", "exact") == 0.0
    assert score_answer("41", "42") == 0.0
    assert score_answer("Glass", "Glass Orchard", "f1") == pytest.approx(2 / 3)
