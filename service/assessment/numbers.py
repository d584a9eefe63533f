"""Exact arithmetic helpers: parse decimals, round half-up, render without floats.

Scores are computed with Fraction so the anchored basis points never depend on binary
floating point; only these functions turn exact values into text or integers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from service.assessment.errors import AssessmentError

# Bounds on parsed numbers: exact arithmetic on 1e999999999 would never finish.
_MAX_DIGITS = 30
_MAX_ABS = 10**_MAX_DIGITS


def parse_decimal(value: object, what: str) -> Fraction:
    """An int, a Decimal (what json.loads(parse_float=Decimal) yields) or a decimal string."""
    if isinstance(value, bool):  # bool is an int subclass: `true` is not a weight
        raise AssessmentError(f"{what}: expected a number, got a boolean")
    if isinstance(value, int | Fraction):
        if abs(value) >= _MAX_ABS or Fraction(value).denominator >= _MAX_ABS:
            raise AssessmentError(f"{what}: number out of range")
        return Fraction(value)
    if isinstance(value, float):
        # Through repr so 0.7 means 7/10, not the nearest binary double.
        value = Decimal(repr(value))
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise AssessmentError(f"{what}: {value!r} is not a decimal number") from None
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AssessmentError(f"{what}: {value} is not a finite number")
        if len(value.as_tuple().digits) > _MAX_DIGITS or abs(value.adjusted()) > _MAX_DIGITS:
            raise AssessmentError(f"{what}: number out of range")
        return Fraction(value)
    kind = type(value).__name__
    raise AssessmentError(f"{what}: expected a number or a decimal string, got {kind}")


def round_half_up(value: Fraction) -> int:
    """Nearest integer, ties away from zero (the convention insurers and auditors expect)."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def to_bps(score: Fraction) -> int:
    """Score 0..100 to basis points 0..10000, the unit the chain stores."""
    return round_half_up(score * 100)


def format_2dp(value: Fraction) -> str:
    """Two decimals, half-up: "83.33". Derived from to_bps so text and integer always agree."""
    hundredths = round_half_up(value * 100)
    sign = "-" if hundredths < 0 else ""
    hundredths = abs(hundredths)
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def exact_str(value: Fraction) -> str:
    """Exact text: a finite decimal when one exists ("0.875", "2.5"), else "n/d" ("7/9")."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    if places == 0:
        return str(value.numerator)
    scaled = abs(value.numerator) * (10**places // value.denominator)
    sign = "-" if value < 0 else ""
    digits = str(scaled).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"
