"""Quotes: a product's rate table and the assessment's risk level (as anchored on-chain) give
a premium and conditions, or a decline with its reason (standard §6.5 Table 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from contracts.enums import ReportKind
from contracts.records import UnderwritingStatus
from service.api.deps import Anyone, GatewayDep, Principal, SessionDep, require
from service.api.routes.assessments import visible
from service.api.schemas import Strict
from service.assessment import anchor_fields
from service.assessment.anchoring import report_anchor_id
from service.db import models as m
from service.errors import Conflict, NotFound

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])
Quoter = Annotated[Principal, Depends(require("underwriter", "distributor"))]


class QuoteIn(Strict):
    product_id: Annotated[int, Field(ge=1, le=2**32 - 1)]
    assessment_id: Annotated[str, Field(max_length=32)]


class QuoteOut(BaseModel):
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


YEAR = 365 * 86400
MIN_COVER = 60  # the policies route's shortest cover


def premium_floor(product: m.Product, limit: int, cover_seconds: int) -> int:
    """PolicyBook's floor: min_premium, and min_rate_ppm a year on the limit pro rata (rounded up)."""
    by_rate = -(-limit * product.min_rate_ppm * cover_seconds // (10**6 * YEAR))
    return max(product.min_premium, by_rate)


def longest_cover(product: m.Product, premium: int, limit: int) -> int:
    """The longest cover whose premium floor `premium` meets (0: none)."""
    if premium < product.min_premium:
        return 0
    if product.min_rate_ppm == 0:
        return product.max_cover_seconds
    return min(product.max_cover_seconds, premium * 10**6 * YEAR // (limit * product.min_rate_ppm))


def decide(level: str, product: m.Product, terms: m.ProductTerms) -> dict[str, Any]:
    if level == "high":
        return {"decision": "decline", "reason": "risk level high: Table 6 advises declining cover"}
    premium = terms.rates.get(level)
    if premium is None:
        return {"decision": "decline", "reason": f"the product has no rate for risk level {level}"}
    conditions: list[str] = []
    limit = product.policy_limit
    if level == "medium":
        if product.medium_limit == 0:
            return {"decision": "decline", "reason": "the product declines medium-risk reports (medium_limit 0)"}
        limit = product.medium_limit
        conditions = [f"sub-limit {limit} ({limit * 100 / product.policy_limit:g}% of the product limit): "
                      "medium risk", "remediate the hardening list of the assessment report before renewal"]
    longest = longest_cover(product, premium, limit)
    if longest < MIN_COVER:
        return {"decision": "decline", "reason": f"the premium {premium} is below the product's premium floor "
                f"for any cover of at least {MIN_COVER} s"}
    return {"decision": "offer", "premium": premium, "limit": limit, "max_cover_seconds": longest,
            "conditions": conditions}


@router.post("", status_code=201, response_model=QuoteOut)
def create_quote(body: QuoteIn, session: SessionDep, gw: GatewayDep, principal: Quoter) -> m.Quote:
    assessment = visible(session, principal, body.assessment_id)
    product = session.get(m.Product, body.product_id)
    terms = session.get(m.ProductTerms, body.product_id)
    if product is None or terms is None:
        raise NotFound(f"no product {body.product_id} with pricing")
    if not product.active:
        raise Conflict(f"product {product.id} is not active", type="product_inactive")
    status = UnderwritingStatus.decode(gw.registry.functions.underwritingStatus(
        report_anchor_id(assessment.report), anchor_fields(assessment.report)["subject"]).call())
    if not status.live or status.kind is not ReportKind.PRE_UNDERWRITING:
        raise Conflict("the assessment report is not anchored as a live pre-underwriting report: anchor it first",
                       type="report_not_underwritable")
    level = status.risk_level.label
    quote = m.Quote(tenant_id=assessment.tenant_id, product_id=product.id, assessment_id=assessment.id,
                    report_hash=assessment.report_hash, risk_level=level,
                    **{"conditions": [], **decide(level, product, terms)})
    session.add(quote)
    session.commit()
    return quote


@router.get("/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: str, session: SessionDep, principal: Anyone) -> m.Quote:
    q = session.get(m.Quote, quote_id)
    if q is None or not principal.can_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    return q
