"""§7 in-policy assessments through the service: a follow-up of the subject's live anchored report
(its *baseline*), for the subject's live policies, with the questionnaire answered again, the
changes observed (§7.2.1) and the period's monitoring facts pulled by the service itself
(service.domain.monitoring). The report's subject is the baseline's (same salt, same commitment),
and the baseline's Assessment goes into it, so `control_effectiveness` (remediated / still open)
is computed rather than asserted.

Anchoring it (service.domain.anchoring) sends `replaces` = the baseline's anchor id: the
baseline is superseded on-chain. The service refuses first, with a 409 and a type, what the
registry would refuse: a baseline not anchored, revoked or already superseded, or a policy of
another subject.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from eth_utils import encode_hex
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.enums import PolicyStatus
from service.assessment import (
    Assessment,
    AssessmentError,
    Assessor,
    Method,
    Overview,
    ReportKind,
    Subject,
    anchor_fields,
    assess,
    build_report,
)
from service.assessment.anchoring import report_anchor_id
from service.assessment.in_policy import Change, InPolicyDetails
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.domain.anchoring import anchor_record
from service.domain.monitoring import Period, monitoring
from service.errors import BadRequest, Conflict, NotFound
from service.settings import Settings

ZERO32 = b"\x00" * 32
FOLLOWS = (ReportKind.PRE_UNDERWRITING.value, ReportKind.IN_POLICY.value)  # kinds a baseline may have


@dataclass(frozen=True)
class InPolicyRequest:
    baseline: str  # assessment id
    answers: dict[str, str]
    scenarios: list[str]
    policy_ids: list[int] | None = None  # None: the subject's live policies of the baseline's tenant
    changes: Sequence[Change] = ()
    advice: Sequence[str] = ()
    period_start: int | None = None  # unix seconds, chain time; default the baseline's anchoring
    period_end: int | None = None  # default: now (chain time)
    objective: str = "In-policy (§7) cyber risk assessment"
    scope: str = "The insured services and the controls assessed before underwriting"
    methods: Sequence[Method] = (Method.QUESTIONNAIRE,)
    team: Sequence[str] = ("assessment desk",)
    extra: dict[str, Any] = field(default_factory=dict)


def _ts(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def live_baseline(gw: Gateway, baseline: m.AssessmentRecord) -> int:
    """The chain time the baseline was anchored at, once it is checked to be a live report an
    in-policy report may follow: anchored (by the assessor it names), not revoked, not superseded."""
    kind = baseline.report.get("kind")
    if kind not in FOLLOWS:
        raise Conflict(f"assessment {baseline.id} is a {kind} report: an in-policy report follows a pre-underwriting "
                       "or in-policy report", type="baseline_kind")
    v = anchor_record(gw, baseline.report)
    if v.anchored_at == 0:
        raise Conflict(f"the baseline {baseline.id} is not anchored: anchor it first", type="baseline_not_anchored")
    if v.revoked:
        raise Conflict(f"the baseline {baseline.id} was revoked", type="baseline_revoked")
    if bytes(v.superseded_by) != ZERO32:
        raise Conflict(f"the baseline {baseline.id} is already superseded by anchor {encode_hex(v.superseded_by)}: "
                       "follow the subject's current report", type="baseline_superseded")
    return int(v.anchored_at)


def _policies(session: Session, baseline: m.AssessmentRecord, ids: list[int] | None, now: int) -> list[m.Policy]:
    if ids is None:
        rows = session.scalars(
            select(m.Policy).join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
            .where(m.Policy.subject == baseline.subject.lower(), m.PolicyOwner.tenant_id == baseline.tenant_id,
                   m.Policy.status == PolicyStatus.ACTIVE.value, m.Policy.cover_end > now)
            .order_by(m.Policy.id)).all()
        if not rows:
            raise Conflict(f"the subject of assessment {baseline.id} has no live policy: an in-policy assessment "
                           "follows an issued cover", type="no_live_policy")
        return list(rows)
    out = []
    for pid in sorted(set(ids)):
        p = session.get(m.Policy, pid)
        owner = session.get(m.PolicyOwner, pid)
        if p is None or owner is None or owner.tenant_id != baseline.tenant_id:
            raise NotFound(f"no policy {pid} of the baseline's tenant")
        if p.subject.lower() != baseline.subject.lower():
            raise Conflict(f"policy {pid} insures another subject than the baseline report", type="subject_mismatch")
        if p.status != PolicyStatus.ACTIVE.value or p.cover_end <= now:
            raise Conflict(f"policy {pid} is not live (expired, cancelled or past its cover end)",
                           type="policy_not_live")
        out.append(p)
    return out


def _period(req: InPolicyRequest, anchored_at: int, now: int) -> Period:
    start = anchored_at if req.period_start is None else req.period_start
    end = now if req.period_end is None else req.period_end
    if not start < end:
        raise BadRequest(f"the period [{start}, {end}) is empty: it must end after it starts", type="invalid_period")
    if end > now:
        raise BadRequest(f"the period ends at {end}, after the chain's time {now}: monitoring facts of the future "
                         "do not exist yet", type="invalid_period")
    return Period(start, end)


def _baseline_assessment(report: dict[str, Any]) -> Assessment:
    scores = report["scores"]
    return assess(scores["answers"], scores["scenarios"])


def create(session: Session, gw: Gateway, indexer: Indexer, settings: Settings, req: InPolicyRequest, *,
           may_see: Callable[[str | None], bool], transport: httpx.BaseTransport | None = None) -> m.AssessmentRecord:
    baseline = session.get(m.AssessmentRecord, req.baseline)
    if baseline is None or not may_see(baseline.tenant_id):
        raise NotFound(f"no assessment {req.baseline}")
    anchored_at = live_baseline(gw, baseline)
    indexer.sync()
    now = gw.now()
    policies = _policies(session, baseline, req.policy_ids, now)
    period = _period(req, anchored_at, now)
    try:
        current = assess(req.answers, req.scenarios)
        before = _baseline_assessment(baseline.report)
    except AssessmentError as exc:
        raise BadRequest(str(exc), type="invalid_answers") from None
    services = {p.product_id: session.get(m.Product, p.product_id) for p in policies}
    merge_gap, finality = gw.episode_params()
    facts = monitoring(session, [prod.service_id for prod in services.values() if prod is not None], period,
                       settings.oracle_nodes, merge_gap=merge_gap, finality=finality, now=now, transport=transport)
    facts["policies"] = [{"policy_id": p.id, "product_id": p.product_id,
                          "service_id": services[p.product_id].service_id if services[p.product_id] else "",
                          "cover_start": p.cover_start, "cover_end": p.cover_end} for p in policies]
    record_id = m.new_id()
    issued = datetime.now(UTC).replace(microsecond=0)
    subject = baseline.report["subject"]
    try:
        report = build_report(
            kind=ReportKind.IN_POLICY, report_id=f"IP-{record_id}", issued_at=issued,
            assessor=Assessor(settings.assessor_name, gw.assessor.address),
            overview=Overview(objective=req.objective, scope=req.scope, started_at=_ts(period.start),
                              ended_at=_ts(period.end), methods=tuple(req.methods), team=tuple(req.team)),
            subject=Subject(commitment=bytes.fromhex(baseline.subject[2:]), industry=subject["industry"],
                            business_overview=subject["business_overview"], key_assets=tuple(subject["key_assets"]),
                            disclosed_name=subject.get("name")),
            assessment=current,
            in_policy=InPolicyDetails(
                policy_ref=", ".join(f"policy {p.id}" for p in policies), period_start=_ts(period.start),
                period_end=_ts(period.end), baseline_report_hash=bytes.fromhex(baseline.report_hash[2:]),
                baseline=before, changes=tuple(req.changes), advice=tuple(req.advice), monitoring=facts),
        )
        fields = anchor_fields(report)
    except AssessmentError as exc:
        raise BadRequest(str(exc), type="invalid_report") from None
    record = m.AssessmentRecord(id=record_id, tenant_id=baseline.tenant_id, report=report,
                                report_hash=encode_hex(fields["report_hash"]), score_bps=fields["score_bps"],
                                risk_level=current.risk_level.value, subject_salt=baseline.subject_salt,
                                subject=baseline.subject)
    session.add(record)
    session.commit()
    return record


def baseline_of(session: Session, record: m.AssessmentRecord) -> m.AssessmentRecord:
    """The stored baseline an in-policy record follows (same tenant, the hash its report names)."""
    h = str(record.report["in_policy"]["baseline_report_hash"]).lower()
    found = session.scalar(select(m.AssessmentRecord).where(m.AssessmentRecord.report_hash == h,
                                                            m.AssessmentRecord.tenant_id == record.tenant_id))
    if found is None:
        raise Conflict(f"the baseline report {h} of assessment {record.id} is not on file", type="baseline_not_on_file")
    return found


def replaces(session: Session, gw: Gateway, record: m.AssessmentRecord) -> bytes:
    """The anchor id an in-policy record supersedes when anchored, checked live first (409s)."""
    baseline = baseline_of(session, record)
    if baseline.subject.lower() != record.subject.lower():
        raise Conflict(f"assessment {record.id} is about another subject than its baseline", type="subject_mismatch")
    live_baseline(gw, baseline)
    return report_anchor_id(baseline.report)
