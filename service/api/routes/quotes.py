"""Quotes: a product's annual rates and the assessment's risk level and score (as anchored
on-chain) price one cover — a limit over cover_seconds — with its breakdown and expiry, or
decline it with its reason (service.domain.underwriting, service.domain.pricing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from service.api.deps import Anyone, GatewayDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.routes.assessments import visible
from service.api.schemas import Out, Strict
from service.db import models as m
from service.domain import underwriting
from service.errors import NotFound

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])
Quoter = Annotated[Principal, Depends(require("underwriter", "distributor"))]


class QuoteIn(Strict):
    product_id: Annotated[int, Field(ge=1, le=2**32 - 1)]
    assessment_id: Annotated[str, Field(max_length=32)]
    limit: Annotated[int, Field(ge=1, le=2**96 - 1)] | None = Field(
        None, description="The cover's limit (token minor units): at most the product's policy_limit and, for a "
        "Medium-risk report, its medium_limit (400 otherwise); default: the most the risk level allows")
    cover_seconds: Annotated[int, Field(ge=underwriting.MIN_COVER, le=2**32 - 1)] | None = Field(
        None, description="The cover's length: at least 60 s, at most the product's max_cover_seconds (400 "
        "otherwise); default: 30 days, or the product's maximum if shorter")


class PricingOut(BaseModel):
    """How the premium was reached (service.domain.pricing): every figure an integer, every step
    rounded up."""

    premium: int = Field(description="max(min_premium, raw_premium), token minor units")
    level: str = Field(description="The risk level priced (as anchored)")
    base_rate_ppm: int = Field(description="The product's annual rate for the level, ppm of the limit")
    score_bps: int = Field(description="The anchored score, clamped into the level's band")
    score_band_bps: list[int] = Field(description="The level's lowest and highest score (Table 6), inclusive")
    score_adjustment_bps: int = Field(description="ceil(x × (lo + hi − 2·score) / (hi − lo)), x the product's "
                                      "score_adjustment_bps: + dearer, − cheaper")
    rate_ppm: int = Field(description="max(min_rate_ppm, ceil(base_rate_ppm × (10⁴ + score_adjustment_bps) / 10⁴))")
    limit: int
    cover_seconds: int
    raw_premium: int = Field(description="ceil(limit × rate_ppm × cover_seconds / (10⁶ × year_seconds))")
    min_premium: int
    minimum_applied: bool = Field(description="True when min_premium is above raw_premium")
    rounding: str
    year_seconds: int = Field(description="365 days, as PolicyBook's premium floor counts a year")


class QuoteOut(Out):
    id: str
    product_id: int
    assessment_id: str
    report_hash: str
    risk_level: str
    decision: str = Field(description="offer | decline")
    reason: str | None = Field(description="Why the quote was declined (null for an offer)")
    premium: int | None = Field(description="Token minor units, for the whole cover: max(min_premium, "
                                "ceil(limit × rate_ppm × cover_seconds / (10⁶ × 365 days))); null when declined")
    limit: int | None = Field(description="The cover's limit; null when declined")
    cover_seconds: int | None = Field(description="The cover's length a policy from this quote has")
    pricing: PricingOut | None = Field(description="The premium's breakdown; null when declined")
    expires_at: int | None = Field(description="Chain time (unix seconds) from which the quote is refused (409 "
                                   "quote_expired): the product's quote validity after quoting, or the report's "
                                   "maximum age, whichever comes first")
    conditions: list[str]
    created_at: datetime


@router.post("", status_code=201, response_model=QuoteOut, responses=responses(400, 404, 409))
def create_quote(body: QuoteIn, session: SessionDep, gw: GatewayDep, principal: Quoter) -> QuoteOut:
    assessment = visible(session, principal, body.assessment_id)
    return QuoteOut.of(underwriting.quote(session, gw, assessment, body.product_id, limit=body.limit,
                                          cover_seconds=body.cover_seconds, requested_role=principal.role))


@router.get("/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: str, session: SessionDep, principal: Anyone) -> QuoteOut:
    q = session.get(m.Quote, quote_id)
    if q is None or not principal.can_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    return QuoteOut.of(q)
