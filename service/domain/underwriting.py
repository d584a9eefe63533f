"""The quote decision: a product's rate table and the assessment's risk level, as anchored
on-chain, give a premium and conditions, or a decline with its reason (standard §6.5 Table 6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from contracts.enums import ReportKind, RiskLevel
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain.anchoring import report_status
from service.errors import Conflict, NotFound

YEAR = 365 * 86400
MIN_COVER = 60  # the shortest cover a policy may have (PolicyIn.cover_seconds)


def longest_cover(product: m.Product, premium: int, limit: int) -> int:
    """The longest cover whose premium floor — min_premium, and min_rate_ppm a year on the limit
    pro rata — `premium` meets (0: none)."""
    if premium < product.min_premium:
        return 0
    if product.min_rate_ppm == 0:
        return product.max_cover_seconds
    return min(product.max_cover_seconds, premium * 10**6 * YEAR // (limit * product.min_rate_ppm))


def decide(level: RiskLevel, product: m.Product, terms: m.ProductTerms) -> dict[str, Any]:
    """The quote's decision fields: an offer (premium, limit, longest cover, conditions) or a decline."""
    if level is RiskLevel.HIGH:
        return {"decision": "decline", "reason": "risk level high: Table 6 advises declining cover"}
    premium = terms.rates.get(level.label)
    if premium is None:
        return {"decision": "decline", "reason": f"the product has no rate for risk level {level.label}"}
    conditions: list[str] = []
    limit = product.policy_limit
    if level is RiskLevel.MEDIUM:
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


def quote(session: Session, gw: Gateway, assessment: m.AssessmentRecord, product_id: int) -> m.Quote:
    """Prices `product_id` for the assessment, at the risk level its report is anchored with."""
    product = session.get(m.Product, product_id)
    terms = session.get(m.ProductTerms, product_id)
    if product is None or terms is None:
        raise NotFound(f"no product {product_id} with pricing")
    if not product.active:
        raise Conflict(f"product {product.id} is not active", type="product_inactive")
    status = report_status(gw, assessment.report)
    if not status.live or status.kind is not ReportKind.PRE_UNDERWRITING:
        raise Conflict("the assessment report is not anchored as a live pre-underwriting report: anchor it first",
                       type="report_not_underwritable")
    q = m.Quote(tenant_id=assessment.tenant_id, product_id=product.id, assessment_id=assessment.id,
                report_hash=assessment.report_hash, risk_level=status.risk_level.label,
                **{"conditions": [], **decide(status.risk_level, product, terms)})
    session.add(q)
    session.commit()
    return q
