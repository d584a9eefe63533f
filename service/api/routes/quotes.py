"""Quotes: a product's rate table and the assessment's risk level (as anchored on-chain) give
a premium and conditions, or a decline with its reason (service.domain.underwriting)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field

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


class QuoteOut(Out):
    id: str
    product_id: int
    assessment_id: str
    report_hash: str
    risk_level: str
    decision: str
    reason: str | None
    premium: int | None
    limit: int | None
    max_cover_seconds: int | None = Field(description="The longest cover a policy from this quote may have: the "
                                          "product's maximum, or less where the premium would fall below the "
                                          "product's premium floor (min_rate_ppm)")
    conditions: list[str]
    created_at: datetime


@router.post("", status_code=201, response_model=QuoteOut, responses=responses(404, 409))
def create_quote(body: QuoteIn, session: SessionDep, gw: GatewayDep, principal: Quoter) -> QuoteOut:
    assessment = visible(session, principal, body.assessment_id)
    return QuoteOut.of(underwriting.quote(session, gw, assessment, body.product_id))


@router.get("/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: str, session: SessionDep, principal: Anyone) -> QuoteOut:
    q = session.get(m.Quote, quote_id)
    if q is None or not principal.can_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    return QuoteOut.of(q)
