"""The quote decision: the assessment's risk level and score, as anchored on-chain, and the
product's annual rates price one cover (a limit over cover_seconds), or decline it with its
reason (standard §6.5 Table 6). A quote expires; a report older than the product's maximum age
cannot be quoted, nor one superseded on-chain (409 report_superseded: service.domain.rerating).
Times are the chain's (block timestamps), as the policy book's are."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from contracts.enums import ReportKind
from contracts.enums import RiskLevel as ChainLevel
from service.assessment.levels import RiskLevel
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain import pricing, rerating
from service.domain.anchoring import anchor_record, report_status
from service.errors import BadRequest, Conflict, NotFound

MIN_COVER = 60  # the shortest cover a quote prices (QuoteIn.cover_seconds)
DEFAULT_COVER = 30 * 86400  # when a quote names none (at most the product's max_cover_seconds)
UINT96 = 2**96 - 1
# The kinds a cover is underwritten on: a pre-underwriting (§6) report, or the in-policy (§7)
# report that re-rated it (the chain accepts both; an incident report never).
UNDERWRITABLE = (ReportKind.PRE_UNDERWRITING, ReportKind.IN_POLICY)


def product_pricing(product: m.Product, terms: m.ProductTerms) -> pricing.ProductPricing:
    return pricing.ProductPricing(terms.rates, terms.score_adjustment_bps, product.min_premium, product.min_rate_ppm)


def level_limit(level: ChainLevel, product: m.Product) -> int:
    """The largest limit the level may have: the product's, or its medium_limit for Medium."""
    return product.medium_limit if level is ChainLevel.MEDIUM else product.policy_limit


def decline_reason(level: ChainLevel, product: m.Product, terms: m.ProductTerms) -> str | None:
    if level is ChainLevel.HIGH:
        return "risk level high: Table 6 advises declining cover"
    if level.label not in terms.rates:
        return f"the product has no rate for risk level {level.label}"
    if level is ChainLevel.MEDIUM and product.medium_limit == 0:
        return "the product declines medium-risk reports (medium_limit 0)"
    return None


def _cover(product: m.Product, cover_seconds: int | None) -> int:
    cover = min(DEFAULT_COVER, product.max_cover_seconds) if cover_seconds is None else cover_seconds
    if not MIN_COVER <= cover <= product.max_cover_seconds:
        raise BadRequest(f"cover_seconds {cover} is outside this product's {MIN_COVER}..{product.max_cover_seconds} s",
                         type="cover_too_long" if cover > product.max_cover_seconds else "bad_request")
    return cover


def decide(level: ChainLevel, score_bps: int, product: m.Product, terms: m.ProductTerms, limit: int | None,
           cover_seconds: int) -> dict[str, Any]:
    """The quote's decision fields: an offer (premium, limit, pricing, conditions) or a decline."""
    reason = decline_reason(level, product, terms)
    if reason is not None:
        return {"decision": "decline", "reason": reason}
    top = level_limit(level, product)
    limit = top if limit is None else limit
    if limit > top:
        raise BadRequest(f"limit {limit} is above the {level.label}-risk sub-limit {top} (medium_limit)",
                         type="limit_above_risk_level")
    p = pricing.price(product_pricing(product, terms), RiskLevel(level.label), score_bps, limit, cover_seconds)
    if p.premium > UINT96:
        raise BadRequest(f"the premium {p.premium} does not fit the chain's uint96: lower the limit or the cover",
                         type="premium_too_large")
    conditions: list[str] = []
    if level is ChainLevel.MEDIUM:
        conditions = [f"sub-limit {top} ({top * 100 / product.policy_limit:g}% of the product limit): medium risk",
                      "remediate the hardening list of the assessment report before renewal"]
    return {"decision": "offer", "premium": p.premium, "limit": limit, "pricing": p.breakdown(),
            "conditions": conditions}


def quote(session: Session, gw: Gateway, assessment: m.AssessmentRecord, product_id: int, *,
          limit: int | None = None, cover_seconds: int | None = None, requested_role: str | None = None) -> m.Quote:
    """Prices `limit` (default: the most the risk level allows) over `cover_seconds` (default 30
    days, at most the product's maximum) of `product_id` for the assessment, at the risk level
    and score its report is anchored with. It is valid until the product's quote validity has
    passed, or the report reaches its maximum age, whichever is first. `requested_role` (the
    asking key's role) is kept for the underwriting-automation figure (service.domain.figures)."""
    product = session.get(m.Product, product_id)
    terms = session.get(m.ProductTerms, product_id)
    if product is None or terms is None:
        raise NotFound(f"no product {product_id} with pricing")
    if not product.active:
        raise Conflict(f"product {product.id} is not active", type="product_inactive")
    cover = _cover(product, cover_seconds)
    if limit is not None and limit > product.policy_limit:
        raise BadRequest(f"limit {limit} is above the product's policy_limit {product.policy_limit}",
                         type="limit_above_product")
    rerating.refuse_superseded(session, gw, assessment.report, "not quoted")
    status = report_status(gw, assessment.report)
    if not status.live or status.kind not in UNDERWRITABLE:
        raise Conflict("the assessment report is not anchored as a live pre-underwriting or in-policy report: "
                       "anchor it first", type="report_not_underwritable")
    record = anchor_record(gw, assessment.report)
    now = gw.now()
    stale_at = record.anchored_at + terms.max_report_age_seconds
    if now >= stale_at:
        raise Conflict(f"the report was anchored at {record.anchored_at}, {now - record.anchored_at} s ago: older "
                       f"than this product's max_report_age_seconds ({terms.max_report_age_seconds}); assess again",
                       type="report_too_old")
    q = m.Quote(tenant_id=assessment.tenant_id, product_id=product.id, assessment_id=assessment.id,
                report_hash=assessment.report_hash, risk_level=status.risk_level.label, cover_seconds=cover,
                expires_at=min(now + terms.quote_validity_seconds, stale_at), requested_role=requested_role,
                **{"conditions": [], **decide(status.risk_level, record.score_bps, product, terms, limit, cover)})
    session.add(q)
    session.commit()
    return q
