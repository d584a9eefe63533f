"""Exposure pricing as exact arithmetic (service.domain.pricing).

Properties: the premium is max(min_premium, ceil(limit × rate × cover / (10⁶ × 365 d))) with the
rate its level's, moved by the score rule and rounded up, never below min_rate_ppm (checked
against an independent Fraction model); it always meets PolicyBook._checkPremium's floor (a
mirror below), for the quoted cover and any shorter one the chain may start later; it is
monotone in limit, cover and (within a level) score; 365 days cost 365/30 of 30 days and twice
the limit twice as much, exactly when the figures divide evenly and within the rounding bound
(one unit per rounded amount) otherwise.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.assessment.levels import RiskLevel
from service.domain.pricing import YEAR, ProductPricing, band_bps, price, score_adjustment_bps
from tests.chain import USD

DAY = 86400
LEVELS = (RiskLevel.LOW, RiskLevel.LOWER, RiskLevel.MEDIUM)


def terms(rate: int = 20_000, x: int = 0, min_premium: int = 0, min_rate_ppm: int = 0) -> ProductPricing:
    return ProductPricing({"low": rate, "lower": rate, "medium": rate}, x, min_premium, min_rate_ppm)


def floor_on_chain(min_premium: int, min_rate_ppm: int, limit: int, cover_seconds: int) -> int:
    """PolicyBook._checkPremium, line for line: (limit × minRatePpm × coverSeconds + 1e6 × YEAR − 1)
    / (1e6 × YEAR), raised to minPremium."""
    floor = (limit * min_rate_ppm * cover_seconds + 10**6 * YEAR - 1) // (10**6 * YEAR)
    return max(floor, min_premium)


def model(t: ProductPricing, level: RiskLevel, score_bps: int, limit: int, cover: int) -> int:
    """The stated rule in Fractions and math.ceil, independent of the implementation's integer steps."""
    lo, hi = {RiskLevel.MEDIUM: (6001, 8000), RiskLevel.LOWER: (8001, 9000), RiskLevel.LOW: (9001, 10_000)}[level]
    s = min(max(score_bps, lo), hi)
    adj = math.ceil(t.score_adjustment_bps * (1 - Fraction(2 * (s - lo), hi - lo)))
    rate = max(t.min_rate_ppm, math.ceil(t.rates[level.value] * (1 + Fraction(adj, 10_000))))
    return max(t.min_premium, math.ceil(Fraction(limit * rate * cover, 10**6 * YEAR)))


# --- hand-computed cases ---------------------------------------------------------------------

def test_a_year_at_two_percent_is_two_percent_of_the_limit() -> None:
    p = price(terms(20_000), RiskLevel.LOW, 9500, 1_000 * USD, YEAR)
    assert (p.premium, p.raw_premium, p.rate_ppm, p.minimum_applied) == (20 * USD, 20 * USD, 20_000, False)
    b = p.breakdown()
    assert (b["limit"], b["cover_seconds"], b["base_rate_ppm"], b["year_seconds"]) == (1_000 * USD, YEAR, 20_000, YEAR)


def test_rounding_is_up_to_the_next_minor_unit() -> None:
    # 500 USD at 5 % a year for 30 days: 5e8 × 50,000 × 2,592,000 / 3.1536e13 = 2,054,794.52…
    p = price(terms(50_000), RiskLevel.LOW, 9500, 500 * USD, 30 * DAY)
    assert p.premium == p.raw_premium == 2_054_795
    # 1 ppm a year of 1 USD for one second is 3.2e-8 units: still one unit, never zero.
    assert price(terms(1), RiskLevel.LOW, 9500, USD, 1).premium == 1
    assert price(terms(0), RiskLevel.LOW, 9500, USD, YEAR).premium == 0  # a zero rate is free


def test_minimum_premium_applies_below_it_and_not_above() -> None:
    p = price(terms(50_000, min_premium=3 * USD), RiskLevel.LOW, 9500, 500 * USD, 30 * DAY)
    assert (p.premium, p.raw_premium, p.minimum_applied) == (3 * USD, 2_054_795, True)
    p = price(terms(50_000, min_premium=2_054_795), RiskLevel.LOW, 9500, 500 * USD, 30 * DAY)
    assert (p.premium, p.minimum_applied) == (2_054_795, False)  # equal: the rate's figure, not the minimum


def test_the_level_bands_are_table_6_in_basis_points() -> None:
    assert [band_bps(level) for level in (RiskLevel.HIGH, RiskLevel.MEDIUM, RiskLevel.LOWER, RiskLevel.LOW)] == [
        (0, 6000), (6001, 8000), (8001, 9000), (9001, 10_000)]


@pytest.mark.parametrize(("level", "score", "adj", "rate"), [
    (RiskLevel.LOW, 9001, 1_000, 22_000),  # the level's lowest score: +10 %
    (RiskLevel.LOW, 10_000, -1_000, 18_000),  # its highest: −10 %
    (RiskLevel.LOW, 9500, 2, 20_004),  # ceil(1000 × 1 / 999) = 2 bps: the middle is 9500.5
    (RiskLevel.LOW, 9501, -1, 19_998),  # ceil(−1000 / 999) = −1
    (RiskLevel.LOWER, 8001, 1_000, 22_000),
    (RiskLevel.LOWER, 9000, -1_000, 18_000),
    (RiskLevel.MEDIUM, 6001, 1_000, 22_000),
    (RiskLevel.MEDIUM, 8000, -1_000, 18_000),
    (RiskLevel.MEDIUM, 7000, 1, 20_002),  # ceil(1000 × 1 / 1999) = 1: ceil(20,000 × 1.0001) = 20,002
    (RiskLevel.LOW, 5000, 1_000, 22_000),  # a score outside its level's band is clamped into it
])
def test_score_adjustment_at_band_edges(level: RiskLevel, score: int, adj: int, rate: int) -> None:
    assert score_adjustment_bps(level, score, 1_000) == adj
    p = price(terms(20_000, x=1_000), level, score, 1_000 * USD, YEAR)
    assert (p.score_adjustment_bps, p.rate_ppm, p.premium) == (adj, rate, rate * 1_000 * USD // 10**6)


def test_the_rate_never_goes_below_min_rate_ppm() -> None:
    p = price(terms(20_000, x=5_000, min_rate_ppm=15_000), RiskLevel.LOW, 10_000, 1_000 * USD, YEAR)
    assert (p.score_adjustment_bps, p.rate_ppm, p.premium) == (-5_000, 15_000, 15 * USD)


def test_365_days_cost_365_30ths_of_30_days_and_twice_the_limit_twice() -> None:
    t = terms(36_500)  # 0.3 % per 30 days: 1,000 USD → 3 USD, exactly
    month = price(t, RiskLevel.LOW, 9500, 1_000 * USD, 30 * DAY).premium
    year = price(t, RiskLevel.LOW, 9500, 1_000 * USD, 365 * DAY).premium
    assert (month, year) == (3 * USD, 3 * USD * 365 // 30)
    assert year * 30 == month * 365
    assert price(t, RiskLevel.LOW, 9500, 2_000 * USD, 30 * DAY).premium == 2 * month


# --- properties ------------------------------------------------------------------------------

rates = st.integers(0, 2 * 10**6)
limits = st.integers(1, 10**15)
covers = st.integers(60, 10 * 366 * DAY)
scores = st.integers(0, 10_000)
xs = st.integers(0, 5_000)


@st.composite
def products(draw: st.DrawFn) -> ProductPricing:
    return ProductPricing({"low": draw(rates), "lower": draw(rates), "medium": draw(rates)}, draw(xs),
                          draw(st.integers(0, 10**9)), draw(st.integers(0, 2 * 10**6)))


@given(products(), st.sampled_from(LEVELS), scores, limits, covers, st.integers(0, 10 * 366 * DAY))
@settings(max_examples=400, deadline=None)
def test_price_is_the_model_and_meets_the_on_chain_floor(t: ProductPricing, level: RiskLevel, score: int,
                                                         limit: int, cover: int, later: int) -> None:
    p = price(t, level, score, limit, cover)
    assert p.premium == model(t, level, score, limit, cover)
    assert p.premium >= floor_on_chain(t.min_premium, t.min_rate_ppm, limit, cover)
    # The chain starts the cover at the issuing block, later than the quote's clock: a shorter cover.
    assert p.premium >= floor_on_chain(t.min_premium, t.min_rate_ppm, limit, max(0, cover - later))
    assert p.minimum_applied == (p.raw_premium < t.min_premium)


@given(products(), st.sampled_from(LEVELS), scores, limits, limits, covers, covers)
@settings(max_examples=300, deadline=None)
def test_premium_is_monotone_in_limit_and_cover(t: ProductPricing, level: RiskLevel, score: int, a: int, b: int,
                                                c: int, d: int) -> None:
    (a, b), (c, d) = sorted((a, b)), sorted((c, d))
    assert price(t, level, score, a, c).premium <= price(t, level, score, b, c).premium
    assert price(t, level, score, a, c).premium <= price(t, level, score, a, d).premium


@given(products(), st.sampled_from(LEVELS), scores, scores, limits, covers)
@settings(max_examples=300, deadline=None)
def test_a_better_score_never_costs_more(t: ProductPricing, level: RiskLevel, s1: int, s2: int, limit: int,
                                         cover: int) -> None:
    lo, hi = sorted((s1, s2))
    worse, better = price(t, level, lo, limit, cover), price(t, level, hi, limit, cover)
    assert better.premium <= worse.premium
    assert better.score_adjustment_bps <= worse.score_adjustment_bps


@given(rates, xs, scores, st.sampled_from(LEVELS), limits, st.integers(1, 10**6))
@settings(max_examples=300, deadline=None)
def test_proportionality_within_the_rounding(rate: int, x: int, score: int, level: RiskLevel, limit: int,
                                            k: int) -> None:
    """P(365 d) = E₃₆₅ + e₁ and P(30 d) = E₃₀ + e₂ with 30·E₃₆₅ = 365·E₃₀ and e ∈ [0, 1) (one
    rounding up each): 30·P(365 d) − 365·P(30 d) ∈ (−365, 30). Likewise 2·P(L) − P(2L) ∈ {0, 1}.
    Exact (0) when the figures divide evenly: a limit that is a multiple of 10⁶ × 365 × 86400 /
    gcd(…) with the rate — here, when limit × rate × 30 days divides by 10⁶ × 365 days."""
    t = terms(rate, x)
    month = price(t, level, score, limit, 30 * DAY)
    year = price(t, level, score, limit, 365 * DAY)
    assert -365 < 30 * year.premium - 365 * month.premium < 30
    if (limit * month.rate_ppm * 30 * DAY) % (10**6 * YEAR) == 0:
        assert 30 * year.premium == 365 * month.premium
    double = price(t, level, score, 2 * limit, 30 * DAY)
    assert 2 * month.premium - double.premium in (0, 1)
    # A whole number of 30-day periods' worth: exact by construction.
    even = terms(36_500 * k)
    assert 30 * price(even, level, 9500, 1_000 * USD, YEAR).premium == 365 * price(
        even, level, 9500, 1_000 * USD, 30 * DAY).premium


def test_bad_terms_are_refused() -> None:
    with pytest.raises(ValueError):
        price(terms(x=5_001), RiskLevel.LOW, 9500, USD, DAY)
    with pytest.raises(KeyError):
        price(ProductPricing({"low": 1}, 0, 0, 0), RiskLevel.MEDIUM, 7000, USD, DAY)
