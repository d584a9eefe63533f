"""§7 in-policy assessments: the request body `POST /v1/assessments` takes with `kind: "in_policy"`
(service.domain.in_policy does the work), the due list per the §7.2.1 plan
(`GET /v1/assessments/due`, service.domain.due) and the activities that count as done
(`POST/GET /v1/assessments/activities`). Included before the assessments router, so
`/v1/assessments/due` is not read as an assessment id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import select

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.schemas import Out, Strict, Text, Uint64
from service.assessment import Method
from service.assessment.in_policy import Change
from service.assessment.plan import ChangeArea
from service.db import models as m
from service.domain import due
from service.domain.in_policy import InPolicyRequest
from service.errors import BadRequest, NotFound

router = APIRouter(prefix="/v1", tags=["assessments"])
Recorder = Annotated[Principal, Depends(require("assessor", "distributor"))]
Status = Literal["ok", "due", "overdue"]


class ChangeIn(Strict):
    area: ChangeArea = Field(description="§7.2.1 area of the change or new threat")
    observed_at: Uint64 = Field(description="Unix seconds (UTC)")
    description: Text


class InPolicyIn(Strict):
    """A §7 in-policy assessment: follows the subject's live anchored report `baseline`, for
    `policy_ids` (default: the subject's live policies of the baseline's tenant). The monitoring
    facts of the period are pulled by the service (chain episodes, the oracle nodes' API)."""

    kind: Literal["in_policy"]
    baseline: str = Field(max_length=32, description="Assessment id of the anchored live report this one follows")
    policy_ids: list[Annotated[int, Field(ge=1, le=2**64 - 1)]] | None = Field(None, min_length=1, max_length=1000)
    answers: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=20)]] = Field(
        description="Item id → yes, partial or no (Appendix A), answered again for the period")
    scenarios: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=3)
    changes: list[ChangeIn] = Field(default_factory=list, max_length=100)
    advice: list[Text] = Field(default_factory=list, max_length=100)
    period_start: Uint64 | None = Field(None, description="Unix seconds, chain time; default: the baseline's "
                                        "anchoring")
    period_end: Uint64 | None = Field(None, description="Unix seconds, chain time; default: now")
    methods: list[Method] = Field(default=[Method.QUESTIONNAIRE], min_length=1, max_length=10)
    team: list[Text] = Field(default=["assessment desk"], min_length=1, max_length=20)

    def request(self) -> InPolicyRequest:
        changes = [Change(c.area, datetime.fromtimestamp(c.observed_at, UTC), c.description) for c in self.changes]
        return InPolicyRequest(baseline=self.baseline, answers=dict(self.answers), scenarios=list(self.scenarios),
                               policy_ids=self.policy_ids, changes=changes, advice=list(self.advice),
                               period_start=self.period_start, period_end=self.period_end,
                               methods=list(self.methods), team=list(self.team))


class ItemOut(Out):
    activity: str = Field(description="security_assessment, event_monitoring or staff_training")
    frequency: str
    min_per_year: int
    interval_seconds: int = Field(description="365 days ÷ min_per_year")
    horizon_seconds: int = Field(description="`due` from due_at − horizon: a quarter of the interval, ≤ 14 days")
    due_at: int = Field(description="Unix seconds, chain time: the later of cover start and last done, + interval")
    status: Status
    last_done: int | None


class PolicyDueOut(Out):
    policy_id: int
    tenant_id: str
    subject: str
    cover_start: int
    cover_end: int
    report: str = Field(description="Anchor id of the subject's current report (its risk tier sets the plan)")
    risk_level: str
    tier: str
    source: str = Field(description="The §7.2.1 clause of the plan")
    activities: list[ItemOut]

    @classmethod
    def of_due(cls, p: due.PolicyDue, status: str | None) -> Self:
        items = [ItemOut.of(i) for i in p.items if status is None or i.status == status]
        return cls.of(p, activities=items)


class DueOut(Out):
    chain_time: int
    policies: list[PolicyDueOut]


class ActivityIn(Strict):
    policy_id: Annotated[int, Field(ge=1, le=2**64 - 1)]
    activity: Literal["event_monitoring", "staff_training"]
    performed_at: Uint64 | None = Field(None, description="Unix seconds; default now (chain time); not in the future")
    note: Text


class ActivityOut(Out):
    id: str
    tenant_id: str
    subject: str
    policy_id: int
    activity: str
    performed_at: int
    note: str
    recorded_by: str
    created_at: datetime


@router.get("/assessments/due", response_model=DueOut)
def list_due(session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Anyone,
             tenant_id: Annotated[str | None, Query(max_length=32, description="Insurer staff: one tenant")] = None,
             status: Annotated[Status | None, Query(description="Only activities with this status")] = None,
             ) -> DueOut:
    """Each live policy's §7.2.1 schedule at chain time: a client key sees its tenant's; insurer
    staff all, or `tenant_id`'s."""
    if principal.scoped:
        if tenant_id is not None and tenant_id != principal.tenant_id:
            raise NotFound(f"no tenant {tenant_id}")
        tenant_id = principal.tenant_id
    indexer.sync()
    now = gw.now()
    rows = due.due_list(session, now, gw.block_time, tenant_id=tenant_id)
    out = [PolicyDueOut.of_due(p, status) for p in rows]
    return DueOut(chain_time=now, policies=[p for p in out if p.activities or status is None])


@router.post("/assessments/activities", status_code=201, response_model=ActivityOut, responses=responses(400, 404))
def record_activity(body: ActivityIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                    principal: Recorder) -> ActivityOut:
    """Records a §7.2.1 event-monitoring or staff-training activity for the policy's insured
    subject (it counts for every policy of that subject in the tenant)."""
    indexer.sync()
    policy = session.get(m.Policy, body.policy_id)
    owner = session.get(m.PolicyOwner, body.policy_id)
    if policy is None or owner is None or not principal.can_see(owner.tenant_id):
        raise NotFound(f"no policy {body.policy_id}")
    now = gw.now()
    at = now if body.performed_at is None else body.performed_at
    if at > now:
        raise BadRequest(f"performed_at {at} is after the chain's time {now}", type="activity_in_future")
    row = m.AssessmentActivity(tenant_id=owner.tenant_id, subject=policy.subject.lower(), policy_id=policy.id,
                               activity=body.activity, performed_at=at, note=body.note, recorded_by=principal.key_id)
    session.add(row)
    session.commit()
    return ActivityOut.of(row)


@router.get("/assessments/activities", response_model=list[ActivityOut])
def list_activities(session: SessionDep, principal: Anyone,
                    policy_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[Any]:
    q = principal.scope(select(m.AssessmentActivity), m.AssessmentActivity.tenant_id)
    if policy_id is not None:
        subject = session.scalar(select(m.Policy.subject).where(m.Policy.id == policy_id))
        q = q.where(m.AssessmentActivity.subject == (subject or "").lower())
    rows = session.scalars(q.order_by(m.AssessmentActivity.performed_at.desc()).limit(limit))
    return [ActivityOut.of(r) for r in rows]
