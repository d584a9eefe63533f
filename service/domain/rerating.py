"""Re-rating: a report superseded on-chain stops underwriting; the subject's current report takes over.

An anchored report names the one it supersedes in `replaces` (AssessmentRegistry emits
`ReportSuperseded(previous, successor)`, then `ReportAnchored`); an in-policy (§7) report always
does. The projection keeps it as `anchors.superseded_by`.

- **The subject's current report** is its latest anchored underwriting report (pre-underwriting
  or in-policy) that is neither revoked nor superseded (`current_anchor`); its assessor must still
  be accredited (the chain's `underwritingStatus` decides liveness).
- **Quotes and issuance on a superseded report** are refused with 409 `report_superseded`, naming
  the successor and the subject's current report (`refuse_superseded`): the service asks the
  registry's `successorOf` first (never a stale projection), and a refusal the chain gives
  instead (`PolicyBookReportNotUnderwritable` after a race) is mapped to the same 409
  (`mapped_refusal`).
- **Renewals** (service.domain.lifecycle) quote on the current report, at its level and score.
- **risk.changed** is published once per superseding anchor (`notice`), from the indexer's
  projection of `ReportAnchored`, to the tenants owning the subject's live policies and reports,
  and to insurer-wide webhooks: the old and new level and score, the direction, the policies
  concerned each with the effect on its renewal (the decision and, for an offer, the premium for
  the same limit cap and cover length on the new report), and the in-policy report's
  `control_effectiveness` (advice remediated / still open) when it is on file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import encode_hex
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.enums import PolicyStatus, ReportKind, RiskLevel
from service.assessment.anchoring import report_anchor_id
from service.assessment.levels import RiskLevel as Level
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain import pricing
from service.errors import Conflict, ServiceError

ZERO32 = b"\x00" * 32
UNDERWRITING_KINDS = (int(ReportKind.PRE_UNDERWRITING), int(ReportKind.IN_POLICY))
MAX_CHAIN = 64  # successors followed to find the current report (a chain of re-ratings)
EVENT = "risk.changed"


def successor_of(gw: Gateway, anchor_id: bytes) -> bytes | None:
    """The registry's successor of `anchor_id` (None: not superseded)."""
    nxt = bytes(gw.registry.functions.successorOf(anchor_id).call())
    return None if nxt == ZERO32 else nxt


def latest_successor(gw: Gateway, anchor_id: bytes) -> bytes:
    """The end of the chain of successors from `anchor_id` (itself when not superseded)."""
    current = anchor_id
    for _ in range(MAX_CHAIN):
        nxt = successor_of(gw, current)
        if nxt is None:
            break
        current = nxt
    return current


def current_anchor(session: Session, subject: str) -> m.Anchor | None:
    """The subject's current report in the projection: its latest anchored pre-underwriting or
    in-policy report neither revoked nor superseded."""
    return session.scalars(select(m.Anchor).where(
        m.Anchor.subject == subject.lower(), m.Anchor.kind.in_(UNDERWRITING_KINDS), m.Anchor.revoked.is_(False),
        m.Anchor.superseded_by.is_(None),
    ).order_by(m.Anchor.block.desc(), m.Anchor.anchor_id)).first()


def record_of(session: Session, anchor: m.Anchor, tenant_id: str | None = None) -> m.AssessmentRecord | None:
    """The stored assessment whose report is `anchor` (of `tenant_id`, if given)."""
    q = select(m.AssessmentRecord).where(m.AssessmentRecord.report_hash == anchor.report_hash,
                                         m.AssessmentRecord.subject == anchor.subject)
    if tenant_id is not None:
        q = q.where(m.AssessmentRecord.tenant_id == tenant_id)
    for a in session.scalars(q.order_by(m.AssessmentRecord.created_at)):
        if encode_hex(report_anchor_id(a.report)) == anchor.anchor_id:
            return a
    return None


def _superseded(session: Session, gw: Gateway, anchor_id: bytes, successor: bytes, what: str) -> Conflict:
    current = latest_successor(gw, successor)
    rec = session.get(m.Anchor, encode_hex(current))
    on_file = record_of(session, rec) if rec is not None else None
    tail = "" if current == successor else f"; the subject's current report is {encode_hex(current)}"
    where = f" (assessment {on_file.id})" if on_file is not None else ""
    return Conflict(f"{what}: report {encode_hex(anchor_id)} was superseded by {encode_hex(successor)}{tail}"
                    f"{where}: quote on the current report", type="report_superseded")


def refuse_superseded(session: Session, gw: Gateway, report: Mapping[str, Any], what: str) -> None:
    """409 `report_superseded` when the report has a successor on-chain."""
    anchor_id = report_anchor_id(report)
    successor = successor_of(gw, anchor_id)
    if successor is not None:
        raise _superseded(session, gw, anchor_id, successor, what)


def mapped_refusal(session: Session, gw: Gateway, report: Mapping[str, Any], exc: ServiceError,
                   what: str) -> ServiceError:
    """The chain's refusal of a report it no longer underwrites, as `report_superseded` when that
    is why (a supersession the service's own check did not see yet); other errors unchanged."""
    if exc.type != "report_not_underwritable":
        return exc
    anchor_id = report_anchor_id(report)
    successor = successor_of(gw, anchor_id)
    return exc if successor is None else _superseded(session, gw, anchor_id, successor, what)


# --- the risk.changed notice ---------------------------------------------------------------

def _figures(a: m.Anchor) -> dict[str, Any]:
    return {"anchor_id": a.anchor_id, "report_hash": a.report_hash, "kind": ReportKind(a.kind).label,
            "risk_level": RiskLevel(a.risk_level).label, "score_bps": a.score_bps}


def direction(old: m.Anchor, new: m.Anchor) -> str:
    """worse / better / unchanged: by level (Table 6), then by score within the level."""
    if new.risk_level != old.risk_level:
        return "worse" if new.risk_level > old.risk_level else "better"
    if new.score_bps != old.score_bps:
        return "worse" if new.score_bps < old.score_bps else "better"
    return "unchanged"


def renewal_effect(session: Session, policy: m.Policy, new: m.Anchor) -> dict[str, Any]:
    """What renewing `policy` on the new report would give, by the renewal rule (same product,
    the old limit capped by the new level's sub-limit, the same cover length): the decision and,
    for an offer, the limit, rate and premium (decimal strings), at the new level and score."""
    from service.domain import underwriting  # noqa: PLC0415 (underwriting imports this module)

    product = session.get(m.Product, policy.product_id)
    terms = session.get(m.ProductTerms, policy.product_id)
    if product is None or terms is None:
        return {"decision": "decline", "reason": "the policy's product has no pricing on file"}
    level = RiskLevel(new.risk_level)
    reason = underwriting.decline_reason(level, product, terms)
    if reason is not None:
        return {"decision": "decline", "reason": reason}
    limit = min(policy.limit, underwriting.level_limit(level, product))
    length = policy.cover_end - policy.cover_start
    try:
        p = pricing.price(underwriting.product_pricing(product, terms), Level(level.label), new.score_bps, limit,
                          length)
    except (KeyError, ValueError) as exc:
        return {"decision": "decline", "reason": f"not priceable: {exc}"}
    return {"decision": "offer", "limit": str(limit), "cover_seconds": length, "rate_ppm": p.rate_ppm,
            "premium": str(p.premium), "previous_premium": str(policy.premium)}


def notice(session: Session, new: m.Anchor, *, block: int, tx: str) -> int:
    """Publishes `risk.changed` for the anchor `new` if it superseded a report: once per
    superseding anchor and recipient tenant (the key names both). Returns deliveries queued."""
    old = session.scalars(select(m.Anchor).where(m.Anchor.superseded_by == new.anchor_id)).first()
    if old is None or new.kind not in UNDERWRITING_KINDS:
        return 0
    from service import notices  # noqa: PLC0415 (notices reads the projection the indexer writes)

    live = session.execute(select(m.Policy, m.PolicyOwner).join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                           .where(m.Policy.subject == new.subject, m.Policy.status == PolicyStatus.ACTIVE)
                           .order_by(m.Policy.id)).all()
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for p, owner in live:
        by_tenant.setdefault(owner.tenant_id, []).append(
            {"policy_id": p.id, "product_id": p.product_id, "cover_end": p.cover_end, "limit": str(p.limit),
             "renewal": renewal_effect(session, p, new)})
    record = record_of(session, new)
    previous = record_of(session, old)
    for a in (record, previous):  # the distributor that had the subject assessed hears of it too
        if a is not None:
            by_tenant.setdefault(a.tenant_id, [])
    base: dict[str, Any] = {
        "subject": new.subject, "previous": _figures(old), "current": _figures(new), "direction": direction(old, new),
        "new_issuance_on_previous": "refused (409 report_superseded)",
        "renewals": "priced on the current report" if RiskLevel(new.risk_level) is not RiskLevel.HIGH
        else "declined: risk level high",
        "assessment_id": record.id if record is not None else None,
    }
    if record is not None and isinstance(record.report.get("in_policy"), Mapping):
        effect = record.report["in_policy"].get("control_effectiveness")
        if effect is not None:
            base["control_effectiveness"] = effect
    queued = 0
    if not by_tenant:  # nobody's policies: the insurer still hears of it
        return notices.publish(session, EVENT, {**base, "policies": []}, key=f"{EVENT}:{new.anchor_id}",
                               block=block, tx=tx)
    for tenant_id, policies in sorted(by_tenant.items()):
        queued += notices.publish(session, EVENT, {**base, "tenant_id": tenant_id, "policies": policies},
                                  key=f"{EVENT}:{new.anchor_id}:{tenant_id}", tenant_ids=[tenant_id],
                                  block=block, tx=tx)
    return queued
