"""Exact rendering and half-up rounding: the bridge from Fractions to published figures."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from service.assessment import AssessmentError
from service.assessment.numbers import exact_str, format_2dp, parse_decimal, to_bps


@pytest.mark.parametrize(
    ("value", "text"),
    [(Fraction(5, 2), "2.5"), (Fraction(7, 8), "0.875"), (Fraction(7, 9), "7/9"),
     (Fraction(100), "100"), (Fraction(0), "0"), (Fraction(-1, 4), "-0.25"),
     (Fraction(1, 20), "0.05")],
)
def test_exact_str(value: Fraction, text: str) -> None:
    assert exact_str(value) == text
    if "/" not in text:
        assert Fraction(Decimal(text)) == value


@pytest.mark.parametrize(
    ("value", "text", "bps"),
    [(Fraction(250, 3), "83.33", 8333), (Fraction(60005, 1000), "60.01", 6001),
     (Fraction(600049, 10000), "60.00", 6000), (Fraction(100), "100.00", 10000),
     (Fraction(0), "0.00", 0), (Fraction(1, 200), "0.01", 1)],
)
def test_half_up_rounding(value: Fraction, text: str, bps: int) -> None:
    assert format_2dp(value) == text
    assert to_bps(value) == bps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, Fraction(1)), ("0.7", Fraction(7, 10)), (Decimal("0.1"), Fraction(1, 10)),
     (0.7, Fraction(7, 10)), (" 2.50 ", Fraction(5, 2))],
)
def test_parse_decimal(raw: object, expected: Fraction) -> None:
    assert parse_decimal(raw, "w") == expected


@pytest.mark.parametrize(
    "raw", [True, "abc", "inf", Decimal("NaN"), Decimal("1e999999999"), "1e-40", 10**40,
            "1." + "1" * 40, None, [1]],
)
def test_parse_decimal_rejects(raw: object) -> None:
    with pytest.raises(AssessmentError):
        parse_decimal(raw, "w")
