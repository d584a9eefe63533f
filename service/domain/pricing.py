"""Exposure pricing: an annual rate per risk level, in parts per million of the limit, adjusted
by the assessment's score within its level, times the cover length, with a minimum premium.

Every step is an integer and rounds up (towards the insurer), so the price never falls below
PolicyBook's on-chain floor (`_checkPremium`: `minRatePpm` a year on the limit pro rata, rounded
up, and `minPremium`), which the rate and the minimum here are both bounded by:

    adjustment_bps = ceil(x × (lo + hi − 2·s) / (hi − lo))      (+x at the level's lowest score,
                                                                  −x at its highest; 0 when x = 0)
    rate_ppm       = max(min_rate_ppm, ceil(base_ppm × (10⁴ + adjustment_bps) / 10⁴))
    raw            = ceil(limit × rate_ppm × cover_seconds / (10⁶ × 365 days))
    premium        = max(min_premium, raw)

`s` is the anchored score in basis points (0..10,000), clamped into its level's band [lo, hi]
of Table 6 (service.assessment.levels: Medium 6,001..8,000, Lower 8,001..9,000, Low
9,001..10,000), `x` the product's `score_adjustment_bps` (≤ 5,000). A better score never costs
more: the adjustment falls as `s` rises, and every later step is monotone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from service.assessment.levels import TABLE_6, RiskLevel

YEAR = 365 * 86400  # PolicyBook's YEAR: the floor's rate is per 365 days
PPM = 10**6
BPS = 10**4
MAX_SCORE_ADJUSTMENT_BPS = 5_000  # ±50 % of the level's rate
ROUNDING = "every step rounds up to the next integer (token minor units; ppm; bps)"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def band_bps(level: RiskLevel) -> tuple[int, int]:
    """The level's lowest and highest score in basis points, both inclusive (Table 6 bounds are
    inclusive at the top, so a level starts one basis point above the band below it)."""
    uppers = [b.upper for b in TABLE_6]  # ascending: high, medium, lower, low
    i = next(k for k, b in enumerate(TABLE_6) if b.level is level)
    lo = 0 if i == 0 else int(uppers[i - 1] * 100) + 1
    return lo, int(uppers[i] * 100)


@dataclass(frozen=True)
class ProductPricing:
    """What a price needs of a product: its annual rates (off-chain) and its floor (on-chain)."""

    rates: Mapping[str, int]  # risk level label → ppm of the limit per year
    score_adjustment_bps: int
    min_premium: int
    min_rate_ppm: int


@dataclass(frozen=True)
class Price:
    premium: int
    level: str
    base_rate_ppm: int  # the product's annual rate for the level
    score_bps: int  # the anchored score, as priced (clamped into the level's band)
    score_band_bps: tuple[int, int]
    score_adjustment_bps: int  # signed, applied to base_rate_ppm: + dearer, − cheaper
    rate_ppm: int  # the annual rate charged (adjusted, rounded up, at least min_rate_ppm)
    limit: int
    cover_seconds: int
    raw_premium: int  # ceil(limit × rate_ppm × cover_seconds / (10⁶ × YEAR))
    min_premium: int
    minimum_applied: bool  # premium is min_premium, not raw_premium
    rounding: str = ROUNDING

    def breakdown(self) -> dict[str, Any]:
        return {**asdict(self), "score_band_bps": list(self.score_band_bps), "year_seconds": YEAR}


def score_adjustment_bps(level: RiskLevel, score_bps: int, x: int) -> int:
    """Linear from +x at the level's lowest score to −x at its highest, rounded up."""
    lo, hi = band_bps(level)
    s = min(max(score_bps, lo), hi)
    return _ceil_div(x * (lo + hi - 2 * s), hi - lo)


def price(terms: ProductPricing, level: RiskLevel, score_bps: int, limit: int, cover_seconds: int) -> Price:
    """The premium for `limit` over `cover_seconds` at `level` and `score_bps`. The caller checks
    that the level has a rate (`KeyError` otherwise) and that limit and cover are within the product."""
    if limit < 0 or cover_seconds < 0 or not 0 <= terms.score_adjustment_bps <= MAX_SCORE_ADJUSTMENT_BPS:
        raise ValueError("limit, cover_seconds and score_adjustment_bps must be in range")
    base = terms.rates[level.value]
    lo, hi = band_bps(level)
    adj = score_adjustment_bps(level, score_bps, terms.score_adjustment_bps)
    rate = max(terms.min_rate_ppm, _ceil_div(base * (BPS + adj), BPS))
    raw = _ceil_div(limit * rate * cover_seconds, PPM * YEAR)
    premium = max(terms.min_premium, raw)
    return Price(premium=premium, level=level.value, base_rate_ppm=base, score_bps=min(max(score_bps, lo), hi),
                 score_band_bps=(lo, hi), score_adjustment_bps=adj, rate_ppm=rate, limit=limit,
                 cover_seconds=cover_seconds, raw_premium=raw, min_premium=terms.min_premium,
                 minimum_applied=premium > raw)

