"""Incidents (§8): intake by the insured (its distributor's key), the distributor or the insurer;
the assessor's start (the §8.2.1 a clock) and §8 report, stored as an assessment record whose
subject binds the policy's insured subject to the covered service. The report is anchored by the
assessments' anchor route (kind Incident); a claim decision takes its anchor id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, Field, StrictBool

from service.api.deps import Anyone, GatewayDep, Principal, SessionDep, SettingsDep, require
from service.api.errors import responses
from service.api.routes.assessments import NON_BLANK, AssessmentOut, Prose
from service.api.schemas import Hex32, Out, Strict, Uint64
from service.assessment import ITEMS, Answer, Method
from service.assessment.exposure import LossType
from service.assessment.incident import MIN_LOG_RETENTION_DAYS, EntryVector
from service.assessment.template import SCENARIOS
from service.db import models as m
from service.domain import incidents

router = APIRouter(prefix="/v1", tags=["incidents"])
Reporter = Annotated[Principal, Depends(require("distributor", "claims", "underwriter"))]
AssessorRole = Annotated[Principal, Depends(require("assessor"))]
Days = Annotated[int, Field(ge=0, le=36_500)]
Unix = Annotated[int, Field(ge=0, le=2**63 - 1)]  # a BIGINT column
Long = Annotated[str, Field(min_length=1, max_length=5000, json_schema_extra={"pattern": NON_BLANK})]


class OutageRef(Strict):
    start: Unix = Field(description="Unix seconds (chain time), as the oracle verified the outage")
    end: Unix = Field(description="Unix seconds, exclusive; after start")


class IncidentIn(Strict):
    """Against a policy (its service and tenant follow) or a covered service (then `tenant_id` for
    insurer staff; a client key's own tenant otherwise)."""

    policy_id: Uint64 | None = None
    service_id: Hex32 | None = Field(None, description="The covered service (with a policy: must be its service)")
    description: Long
    reported_at: AwareDatetime | None = Field(None, description="When the incident was reported (default: now); "
                                              "the §8 clock runs from here")
    outage: OutageRef | None = Field(None, description="The verified outage window the incident refers to")
    log_retention_days: Days | None = Field(None, description="How long the insured keeps its logs, as reported")
    tenant_id: str | None = Field(None, max_length=32, description="Service-only incidents by insurer staff: the "
                                  "client tenant (default: the caller's)")


class ClockOut(Out):
    deadline: datetime = Field(description="reported_at + 1 hour (§8.2.1 a)")
    started_at: datetime | None
    within_1h: bool | None = Field(description="Whether the assessment started within the hour (null: not started, "
                                   "the hour not over)")
    seconds_left: int | None = Field(description="Until the deadline while not started")


class RetentionOut(Out):
    days: int | None
    meets_minimum: bool | None = Field(description=f"days ≥ {MIN_LOG_RETENTION_DAYS} (§8.3 b); null: not stated")
    minimum_days: int
    source: Literal["reported", "assessed"] | None = Field(
        description="The assessor's finding (in the report) overrides what the intake reported")


class IncidentReportOut(Out):
    assessment_id: str
    report_hash: str
    subject: str = Field(description="keccak256(abi.encode(insured subject, service id))")
    anchor_id: str = Field(description="What a claim decision takes (incident_report)")
    anchored: bool
    anchor_tx: str | None
    outage: dict[str, Any] = Field(description="report.incident.outage: {service_id, start, end}")
    losses_total_minor: int
    currency: str


class IncidentOut(Out):
    id: str
    tenant_id: str
    policy_id: int | None
    service_id: str
    description: str
    reported_at: datetime
    outage: OutageRef | None
    status: Literal["reported", "assessing", "reported_on", "anchored"]
    assessment_started_at: datetime | None
    response: ClockOut
    log_retention: RetentionOut
    report: IncidentReportOut | None
    created_at: datetime

    @classmethod
    def of_incident(cls, session: SessionDep, i: m.Incident) -> Self:
        a = session.get(m.AssessmentRecord, i.assessment_id) if i.assessment_id else None
        report = None
        if a is not None:
            section = a.report["incident"]
            report = IncidentReportOut(
                assessment_id=a.id, report_hash=a.report_hash, subject=a.subject,
                anchor_id=incidents.report_anchor_id(a), anchored=a.anchor_tx is not None, anchor_tx=a.anchor_tx,
                outage=section["outage"], losses_total_minor=section["losses"]["total_minor"],
                currency=section["losses"]["currency"])
            retention = {**section["log_retention"], "source": "assessed"}
        else:
            retention = {**incidents.log_retention(i.log_retention_days),
                         "source": "reported" if i.log_retention_days is not None else None}
        status = "anchored" if a is not None and a.anchor_tx else "reported_on" if a is not None else \
            "assessing" if i.assessment_started_at else "reported"
        c = incidents.clock(i)
        outage = None if i.outage_start is None or i.outage_end is None else OutageRef(start=i.outage_start,
                                                                                      end=i.outage_end)
        return cls.of(i, outage=outage, status=status, report=report, log_retention=retention,
                      response=ClockOut(deadline=c.deadline, started_at=c.started_at, within_1h=c.within_1h,
                                        seconds_left=c.seconds_left))


class TimelineIn(Strict):
    at: AwareDatetime
    description: Prose


class LossIn(Strict):
    loss_type: LossType
    description: Prose
    amount_minor: Annotated[int, Field(ge=0, le=2**96 - 1)] = Field(description="Minor units of `currency`")
    basis: Prose = Field(description="How the amount was quantified")


class CauseIn(Strict):
    entry_vector: EntryVector
    attack_path: Long
    attack_source: Prose
    technical_causes: list[Prose] = Field(default_factory=list, max_length=50)
    management_causes: list[Prose] = Field(default_factory=list, max_length=50)


class ResponsibilityIn(Strict):
    within_cover: StrictBool = Field(description="§8.1 a) whether the loss is within the cover")
    attribution: Long
    reasoning: Long
    policy_ref: Prose | None = Field(None, description="Default: the policy id")


class ReportIn(Strict):
    """The §8 report: the assessor's findings. The incident gives the reported time, the start of
    the assessment and (by default) the outage window; the policy's underwriting report gives the
    re-assessment's answers unless `answers` are given."""

    timeline: list[TimelineIn] = Field(min_length=1, max_length=200)
    reconstruction: Long
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field("USD", description="ISO 4217")
    losses: list[LossIn] = Field(min_length=1, max_length=100, description="Itemised, quantified, with the basis")
    cause: CauseIn
    responsibility: ResponsibilityIn
    secondary_risks: list[Prose] = Field(default_factory=list, max_length=50)
    advice: list[Prose] = Field(min_length=1, max_length=50)
    log_retention_days: Days = Field(description=f"Logs kept, as found (§8.3 b: ≥ {MIN_LOG_RETENTION_DAYS})")
    policy_id: Uint64 | None = Field(None, description="Required when the incident names no policy")
    outage: OutageRef | None = Field(None, description="Default: the incident's outage window")
    answers: dict[Annotated[str, Field(max_length=100)], Answer] | None = Field(
        None, json_schema_extra={"propertyNames": {"enum": [i.id for i in ITEMS]}},
        description="The recovered systems' re-assessment (default: the underwriting report's answers)")
    scenarios: list[Annotated[str, Field(max_length=40)]] | None = Field(
        None, max_length=3, json_schema_extra={"items": {"enum": [s.value for s in SCENARIOS]}, "uniqueItems": True})
    methods: list[Method] = Field(default=[Method.FORENSICS], min_length=1, max_length=10)
    team: list[Prose] = Field(default=["assessment desk"], min_length=1, max_length=20)
    remarks: str = Field("", max_length=5000)


@router.post("/incidents", status_code=201, response_model=IncidentOut, responses=responses(400, 404, 409))
def create_incident(body: IncidentIn, session: SessionDep, principal: Reporter) -> IncidentOut:
    i = incidents.record(
        session, tenant_id=body.tenant_id or principal.tenant_id, policy_id=body.policy_id,
        service_id=body.service_id, description=body.description, reported_at=body.reported_at,
        outage=(body.outage.start, body.outage.end) if body.outage else None,
        log_retention_days=body.log_retention_days, by=principal.key_id, may_see=principal.can_see)
    return IncidentOut.of_incident(session, i)


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(session: SessionDep, principal: Anyone,
                   policy_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                   service_id: Hex32 | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100,
                   offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[IncidentOut]:
    from sqlalchemy import select

    q = principal.scope(select(m.Incident), m.Incident.tenant_id)
    if policy_id is not None:
        q = q.where(m.Incident.policy_id == policy_id)
    if service_id is not None:
        q = q.where(m.Incident.service_id == service_id)
    rows = session.scalars(q.order_by(m.Incident.created_at.desc(), m.Incident.id).limit(limit).offset(offset))
    return [IncidentOut.of_incident(session, i) for i in rows]


@router.get("/incidents/{incident_id}", response_model=IncidentOut, responses=responses(404))
def get_incident(incident_id: str, session: SessionDep, principal: Anyone) -> IncidentOut:
    return IncidentOut.of_incident(session, incidents.visible(session, incident_id, principal.can_see))


@router.post("/incidents/{incident_id}/assessment", response_model=IncidentOut, responses=responses(404))
def start_assessment(incident_id: str, session: SessionDep, principal: AssessorRole) -> IncidentOut:
    """The assessor takes the incident up now (recorded once; again: unchanged)."""
    i = incidents.visible(session, incident_id, principal.can_see)
    return IncidentOut.of_incident(session, incidents.start_assessment(session, i, principal.key_id))


@router.post("/incidents/{incident_id}/report", status_code=201, response_model=AssessmentOut,
             responses=responses(400, 404, 409))
def create_report(incident_id: str, body: ReportIn, session: SessionDep, gw: GatewayDep, settings: SettingsDep,
                  principal: AssessorRole) -> AssessmentOut:
    """Builds the §8 report (kind incident) as an assessment record; anchor it with
    `POST /v1/assessments/{id}/anchor`. A draft not yet anchored is replaced by a new one."""
    i = incidents.visible(session, incident_id, principal.can_see)
    spec = incidents.ReportInput(
        timeline=[(e.at, e.description) for e in body.timeline], reconstruction=body.reconstruction,
        currency=body.currency,
        losses=[(x.loss_type.value, x.description, x.amount_minor, x.basis) for x in body.losses],
        cause=body.cause.model_dump(mode="json"), responsibility=body.responsibility.model_dump(),
        secondary_risks=body.secondary_risks, advice=body.advice, log_retention_days=body.log_retention_days,
        policy_id=body.policy_id, outage=(body.outage.start, body.outage.end) if body.outage else None,
        answers={k: v.value for k, v in body.answers.items()} if body.answers is not None else None,
        scenarios=body.scenarios, methods=tuple(body.methods), team=tuple(body.team), remarks=body.remarks)
    a = incidents.build(session, i, spec, assessor_name=settings.assessor_name, assessor_address=gw.assessor.address,
                        may_see=principal.can_see)
    return AssessmentOut.of_record(a)
