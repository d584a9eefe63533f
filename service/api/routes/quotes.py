"""Quotes: a product's rate table and the assessment's risk level (as anchored on-chain) give
a premium and conditions, or a decline with its reason (standard §6.5 Table 6)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from contracts.eip712 import RISK_LEVELS
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
    conditions: list[str]
    created_at: datetime


def decide(level: str, product: m.Product, terms: m.ProductTerms) -> dict[str, Any]:
    if level == "high":
        return {"decision": "decline", "reason": "risk level high: Table 6 advises declining cover"}
    premium = terms.rates.get(level)
    if premium is None:
        return {"decision": "decline", "reason": f"the product has no rate for risk level {level}"}
    if level == "medium":
        limit = max(1, product.policy_limit * terms.medium_sub_limit_bps // 10_000)
        return {"decision": "offer", "premium": premium, "limit": limit, "conditions": [
            f"sub-limit {limit} ({terms.medium_sub_limit_bps / 100:g}% of the product limit): medium risk",
            "remediate the hardening list of the assessment report before renewal",
        ]}
    return {"decision": "offer", "premium": premium, "limit": product.policy_limit, "conditions": []}


@router.post("", status_code=201, response_model=QuoteOut)
def create_quote(body: QuoteIn, session: SessionDep, gw: GatewayDep, principal: Quoter) -> m.Quote:
    assessment = visible(session, principal, body.assessment_id)
    product = session.get(m.Product, body.product_id)
    terms = session.get(m.ProductTerms, body.product_id)
    if product is None or terms is None:
        raise NotFound(f"no product {body.product_id} with pricing")
    if not product.active:
        raise Conflict(f"product {product.id} is not active", type="product_inactive")
    live, level_index, kind = gw.registry.functions.underwritingStatus(
        report_anchor_id(assessment.report), anchor_fields(assessment.report)["subject"]).call()
    if not live or kind != 0:
        raise Conflict("the assessment report is not anchored as a live pre-underwriting report: anchor it first",
                       type="report_not_underwritable")
    level = RISK_LEVELS[level_index]
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
