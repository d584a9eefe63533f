"""Incidents (§8): intake against a policy or a covered service, the §8 clock, and the
assessor's incident report built by the engine (service.assessment.incident) and stored as an
assessment record for the subject keccak256(abi.encode(insured subject, service id)) — the
subject a claim decision checks on-chain.

Times: `reported_at` and `assessment_started_at` are wall-clock UTC (the §8 clock is about
people answering a report, not blocks); outage windows are unix seconds of chain time, as the
oracle verified them. A report's window must overlap a verified outage window of the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_utils import decode_hex, encode_hex
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts import registry
from service import notices
from service.assessment import (
    Assessor,
    Method,
    Overview,
    ReportError,
    ReportKind,
    Subject,
    anchor_fields,
    assess,
    build_report,
)
from service.assessment.exposure import LossType
from service.assessment.incident import (
    MIN_LOG_RETENTION_DAYS,
    RESPONSE_DEADLINE,
    Cause,
    EntryVector,
    IncidentDetails,
    LossItem,
    OutageWindow,
    Responsibility,
    TimelineEvent,
)
from service.db import models as m
from service.errors import BadRequest, Conflict, NotFound

CLOCK_SKEW = timedelta(minutes=5)  # a reported_at this far ahead of the service's clock is refused


def utcnow() -> datetime:
    """The service's clock (tests replace it)."""
    return datetime.now(UTC).replace(microsecond=0)


def _utc(moment: datetime, field: str) -> datetime:
    """An aware datetime in UTC, from 2000 on (earlier ones are typos, and far ones overflow)."""
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError
        at = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(f"{field}: expected an aware date and time from 2000 on", type=f"invalid_{field}") from None
    if at.year < 2000:
        raise BadRequest(f"{field}: expected an aware date and time from 2000 on", type=f"invalid_{field}")
    return at


def visible(session: Session, incident_id: str, may_see: Callable[[str | None], bool]) -> m.Incident:
    i = session.get(m.Incident, incident_id) if len(incident_id) <= 32 else None
    if i is None or not may_see(i.tenant_id):
        raise NotFound(f"no incident {incident_id}")
    return i


def _policy(session: Session, policy_id: int, may_see: Callable[[str | None], bool]) -> tuple[m.Policy, m.Product,
                                                                                            m.PolicyOwner]:
    p = session.get(m.Policy, policy_id) if 0 <= policy_id < 2**63 else None
    owner = session.get(m.PolicyOwner, policy_id) if p is not None else None
    if p is None or owner is None or not may_see(owner.tenant_id):
        raise NotFound(f"no policy {policy_id}")
    product = session.get(m.Product, p.product_id)
    if product is None:
        raise NotFound(f"no product {p.product_id} for policy {policy_id}")
    return p, product, owner


def _verified(session: Session, service_id: str, start: int, end: int) -> bool:
    """Whether [start, end) overlaps a verified outage window of the service (the projection)."""
    q = select(m.Outage.id).where(m.Outage.service_id == service_id, m.Outage.start < end, m.Outage.end > start)
    return session.scalar(q.limit(1)) is not None


def _window(session: Session, service_id: str, start: int, end: int) -> None:
    if end <= start:
        raise BadRequest("outage: the window must end after it starts", type="invalid_outage_window")
    if not _verified(session, service_id, start, end):
        raise Conflict(f"no verified outage of service {service_id} overlaps [{start}, {end})",
                       type="outage_not_verified")


def record(session: Session, *, tenant_id: str | None, policy_id: int | None, service_id: str | None,
           description: str, reported_at: datetime | None, outage: tuple[int, int] | None,
           log_retention_days: int | None, by: str, may_see: Callable[[str | None], bool]) -> m.Incident:
    """Records a reported incident; the §8 clock starts at `reported_at` (default: now)."""
    now = utcnow()
    if not description.strip():
        raise BadRequest("description: required text is missing or blank", type="invalid_description")
    if reported_at is None:
        reported_at = now
    else:
        reported_at = _utc(reported_at, "reported_at")
        if reported_at > now + CLOCK_SKEW:
            raise BadRequest(f"reported_at {reported_at.isoformat()} is in the future", type="invalid_reported_at")
    if policy_id is not None:
        _, product, owner = _policy(session, policy_id, may_see)
        if service_id is not None and service_id != product.service_id:
            raise BadRequest(f"policy {policy_id} covers service {product.service_id}, not {service_id}",
                             type="service_mismatch")
        service_id, tenant = product.service_id, owner.tenant_id
    elif service_id is not None:
        tenant = tenant_id
        if tenant is None or session.get(m.Tenant, tenant) is None or not may_see(tenant):
            raise NotFound(f"no tenant {tenant}")
        covered = (select(m.Policy.id).join(m.Product, m.Product.id == m.Policy.product_id)
                   .join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                   .where(m.Product.service_id == service_id, m.PolicyOwner.tenant_id == tenant))
        if session.scalar(covered.limit(1)) is None:
            raise NotFound(f"tenant {tenant} holds no policy on service {service_id}")
    else:
        raise BadRequest("name the policy (policy_id) or the covered service (service_id)", type="no_policy_or_service")
    if outage is not None:
        _window(session, service_id, *outage)
    i = m.Incident(id=m.new_id(), tenant_id=tenant, policy_id=policy_id, service_id=service_id,
                   description=description, reported_at=reported_at, reported_by=by,
                   outage_start=outage[0] if outage else None, outage_end=outage[1] if outage else None,
                   log_retention_days=log_retention_days, created_at=now)
    session.add(i)
    session.flush()
    notices.publish(session, "incident.reported", reported_notice(i), key=f"incident.reported:{i.id}",
                    tenant_ids=[tenant])
    session.commit()  # the incident and its notice together
    return i


def reported_notice(i: m.Incident) -> dict[str, Any]:
    """`incident.reported`'s data: the intake and the §8.2.1 a) deadline (wall clock, unix)."""
    return {"incident_id": i.id, "policy_id": i.policy_id, "service_id": i.service_id, "tenant_id": i.tenant_id,
            "description": i.description, "reported_at": int(i.reported_at.timestamp()),
            "response_deadline": int((i.reported_at + RESPONSE_DEADLINE).timestamp()),
            "outage": ({"start": i.outage_start, "end": i.outage_end} if i.outage_start is not None else None),
            "log_retention_days": i.log_retention_days}


def anchored_notice(session: Session, anchor: m.Anchor, *, block: int | None, tx: str | None, key: str) -> int:
    """Publishes `incident.report_anchored` when the anchored report is an incident's §8 report
    on file (the indexer calls it as it projects ReportAnchored); else nothing. Returns the
    deliveries queued."""
    row = session.execute(
        select(m.Incident, m.AssessmentRecord)
        .join(m.AssessmentRecord, m.AssessmentRecord.id == m.Incident.assessment_id)
        .where(m.AssessmentRecord.report_hash == anchor.report_hash)).first()
    if row is None:
        return 0
    i, a = row
    if report_anchor_id(a).lower() != anchor.anchor_id.lower():  # the same bytes anchored by another assessor
        return 0
    losses = a.report.get("incident", {}).get("losses", {})
    data = {"incident_id": i.id, "policy_id": i.policy_id, "service_id": i.service_id, "tenant_id": i.tenant_id,
            "assessment_id": a.id, "anchor_id": anchor.anchor_id, "report_hash": anchor.report_hash,
            "subject": anchor.subject, "outage": a.report.get("incident", {}).get("outage"),
            "losses_total_minor": str(losses.get("total_minor")) if losses.get("total_minor") is not None else None,
            "currency": losses.get("currency"), "anchor_block": block, "anchor_tx": tx}
    return notices.publish(session, "incident.report_anchored", data, key=key, tenant_ids=[i.tenant_id],
                           block=block, tx=tx)


def start_assessment(session: Session, i: m.Incident, by: str) -> m.Incident:
    """The assessor takes the incident up: the §8 clock's answer, recorded once (now)."""
    if i.assessment_started_at is None:
        i.assessment_started_at = max(utcnow(), i.reported_at)
        i.assessment_started_by = by
        session.commit()
    return i


@dataclass(frozen=True)
class Clock:
    """§8.2.1 a): the assessment must start within 1 hour of the report."""

    deadline: datetime
    started_at: datetime | None
    within_1h: bool | None  # None: not started and the hour not over yet
    seconds_left: int | None  # until the deadline, while not started (0: over)


def clock(i: m.Incident, now: datetime | None = None) -> Clock:
    deadline = i.reported_at + RESPONSE_DEADLINE
    now = now or utcnow()
    if i.assessment_started_at is not None:
        return Clock(deadline, i.assessment_started_at, i.assessment_started_at <= deadline, None)
    left = max(0, int((deadline - now).total_seconds()))
    return Clock(deadline, None, False if now > deadline else None, left)


def log_retention(days: int | None) -> dict[str, Any]:
    """§8.3 b): logs kept for at least 180 days (None: not stated yet)."""
    return {"days": days, "meets_minimum": None if days is None else days >= MIN_LOG_RETENTION_DAYS,
            "minimum_days": MIN_LOG_RETENTION_DAYS}


# --- the §8 report ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportInput:
    """What the assessor states; everything else comes from the incident, its policy and the
    policy's underwriting report."""

    timeline: Sequence[tuple[datetime, str]]
    reconstruction: str
    currency: str
    losses: Sequence[tuple[str, str, int, str]]  # loss type, description, amount (minor units), basis
    cause: Mapping[str, Any]
    responsibility: Mapping[str, Any]
    secondary_risks: Sequence[str]
    advice: Sequence[str]
    log_retention_days: int
    policy_id: int | None = None
    outage: tuple[int, int] | None = None
    answers: Mapping[str, str] | None = None
    scenarios: Sequence[str] | None = None
    methods: Sequence[Method] = (Method.FORENSICS,)
    team: Sequence[str] = ("assessment desk",)
    remarks: str = ""


def _underwriting_report(session: Session, policy: m.Policy, owner: m.PolicyOwner) -> m.AssessmentRecord | None:
    """The report the policy was underwritten on (its quote's assessment; else by its anchor)."""
    quote = session.get(m.Quote, owner.quote_id)
    if quote is not None:
        return session.get(m.AssessmentRecord, quote.assessment_id)
    anchor = session.get(m.Anchor, policy.report_hash)  # the policy's report_hash is the anchor id
    if anchor is None:
        return None
    return session.scalar(select(m.AssessmentRecord).where(m.AssessmentRecord.report_hash == anchor.report_hash)
                          .order_by(m.AssessmentRecord.created_at).limit(1))


def build(session: Session, i: m.Incident, body: ReportInput, *, assessor_name: str, assessor_address: str,
          may_see: Callable[[str | None], bool]) -> m.AssessmentRecord:
    """Builds and stores the §8 report of the incident (not anchored: the assessment's anchor
    route does that, with kind Incident). Replaces an earlier draft; an anchored report stays."""
    if i.assessment_started_at is None:
        raise Conflict(f"incident {i.id}: start the assessment first (POST /v1/incidents/{i.id}/assessment)",
                       type="assessment_not_started")
    if i.assessment_id is not None:
        current = session.get(m.AssessmentRecord, i.assessment_id)
        if current is not None and current.anchor_tx is not None:
            raise Conflict(f"incident {i.id}'s report {current.id} is anchored; it cannot be replaced here",
                           type="report_anchored")
    policy_id = i.policy_id if i.policy_id is not None else body.policy_id
    if policy_id is None:
        raise BadRequest("the incident names no policy: give policy_id (a policy on its service)",
                         type="no_policy")
    if i.policy_id is not None and body.policy_id is not None and body.policy_id != i.policy_id:
        raise BadRequest(f"the incident is against policy {i.policy_id}, not {body.policy_id}",
                         type="policy_mismatch")
    policy, product, owner = _policy(session, policy_id, may_see)
    if product.service_id != i.service_id or owner.tenant_id != i.tenant_id:
        raise BadRequest(f"policy {policy_id} is not a policy of the incident's tenant on service {i.service_id}",
                         type="policy_mismatch")
    window = body.outage or ((i.outage_start, i.outage_end) if i.outage_start is not None
                             and i.outage_end is not None else None)
    if window is None:
        raise BadRequest("outage: the incident names no outage window; give the window the report is about",
                         type="no_outage_window")
    _window(session, i.service_id, *window)
    basis = _underwriting_report(session, policy, owner)
    if body.answers is not None:
        answers, scenarios = dict(body.answers), list(body.scenarios or [])
    elif basis is not None:  # the recovered systems re-assessed as underwritten unless answers say otherwise
        answers = dict(basis.report["scores"]["answers"])
        scenarios = list(body.scenarios if body.scenarios is not None else basis.report["scores"]["scenarios"])
    else:
        raise BadRequest("answers: the policy's underwriting report is not on file; give the re-assessment's answers",
                         type="answers_required")
    base_subject = basis.report["subject"] if basis is not None else {}
    now = utcnow()
    started = i.assessment_started_at
    record_id = m.new_id()
    try:
        assessment = assess(answers, scenarios)
        details = IncidentDetails(
            incident_ref=f"INC-{i.id}", reported_at=i.reported_at, response_started_at=started,
            timeline=tuple(TimelineEvent(_utc(at, "timeline"), text) for at, text in body.timeline),
            reconstruction=body.reconstruction, currency=body.currency,
            losses=tuple(LossItem(LossType(t), d, a, b) for t, d, a, b in body.losses),
            cause=Cause(EntryVector(body.cause["entry_vector"]), body.cause["attack_path"],
                        body.cause["attack_source"], tuple(body.cause.get("technical_causes", ())),
                        tuple(body.cause.get("management_causes", ()))),
            responsibility=Responsibility(bool(body.responsibility["within_cover"]),
                                          body.responsibility.get("policy_ref") or f"policy {policy_id}",
                                          body.responsibility["attribution"], body.responsibility["reasoning"]),
            secondary_risks=tuple(body.secondary_risks), log_retention_days=body.log_retention_days,
            advice=tuple(body.advice), outage=OutageWindow(decode_hex(i.service_id), window[0], window[1]),
        )
        report = build_report(
            kind=ReportKind.INCIDENT, report_id=f"IR-{record_id}", issued_at=now,
            assessor=Assessor(assessor_name, assessor_address),
            overview=Overview(objective=f"Incident assessment (§8) of incident {i.id}",
                              scope=f"Covered service {i.service_id} of policy {policy_id}",
                              started_at=started, ended_at=max(now, started), methods=tuple(body.methods),
                              team=tuple(body.team)),
            subject=Subject(commitment=registry.incident_subject(decode_hex(policy.subject), decode_hex(i.service_id)),
                            industry=base_subject.get("industry", "not stated"),
                            business_overview=base_subject.get("business_overview", "not stated"),
                            key_assets=tuple(base_subject.get("key_assets", ())) or ("covered service",)),
            assessment=assessment, remarks=body.remarks, incident=details,
        )
    except (ReportError, ValueError) as e:  # the engine's and the enums' refusals (AssessmentError is a ValueError)
        raise BadRequest(str(e), type="invalid_report") from None
    fields = anchor_fields(report)
    a = m.AssessmentRecord(id=record_id, tenant_id=i.tenant_id, report=report,
                           report_hash=encode_hex(fields["report_hash"]), score_bps=fields["score_bps"],
                           risk_level=assessment.risk_level.value, subject_salt="",  # derived subject: no salt
                           subject=encode_hex(fields["subject"]))
    session.add(a)
    session.flush()
    i.policy_id = policy_id
    i.assessment_id = a.id
    session.commit()
    return a


def report_anchor_id(a: m.AssessmentRecord) -> str:
    """The report's anchor id under the assessor it names (what a claim decision takes)."""
    return encode_hex(registry.anchor_id(a.report["assessor"]["address"], decode_hex(a.report_hash)))

