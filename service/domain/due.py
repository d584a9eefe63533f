"""The §7.2.1 schedule of each live policy: what is due and overdue.

The plan (service.assessment.plan) gives, per risk tier, three activities and a minimum number
per policy year. The subject's current risk tier is that of its *current report*: the newest
anchored, unrevoked underwriting report (pre-underwriting or in-policy) of the policy's subject
— a superseding in-policy report is always the newer one.

Rules, all in chain time (unix seconds):

- interval = 365 days ÷ min_per_year, rounded down (weekly 606,461 s, monthly 2,628,000 s,
  quarterly 7,884,000 s, semiannual 15,768,000 s, once a year 31,536,000 s);
- basis = the later of the cover start and the last time the activity was done; `due_at` =
  basis + interval. A security assessment is done when an in-policy report of the subject is
  anchored (its block time); event monitoring and staff training when recorded through
  `POST /v1/assessments/activities` (its `performed_at`);
- status at time t: `overdue` when t > due_at; `due` when due_at − horizon ≤ t ≤ due_at; else
  `ok`. The horizon is a quarter of the interval, at most 14 days (weekly: 151,615 s; monthly:
  657,000 s; the longer ones 1,209,600 s).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from contracts.enums import PolicyStatus
from contracts.enums import ReportKind as ChainKind
from service.assessment.levels import RiskLevel
from service.assessment.plan import Activity, MonitoringPlan, plan_for
from service.db import models as m

YEAR = 365 * 86_400
HORIZON_MAX = 14 * 86_400
ACTIVITIES = ("security_assessment", "event_monitoring", "staff_training")
RECORDED = ("event_monitoring", "staff_training")  # recorded through the API; the other by anchoring
UNDERWRITING_KINDS = (ChainKind.PRE_UNDERWRITING.value, ChainKind.IN_POLICY.value)
LEVEL_OF_CHAIN = {level.on_chain.value: level for level in RiskLevel}


def interval(activity: Activity) -> int:
    return YEAR // activity.min_per_year


def horizon(interval_seconds: int) -> int:
    return min(interval_seconds // 4, HORIZON_MAX)


def status_at(due_at: int, horizon_seconds: int, now: int) -> str:
    if now > due_at:
        return "overdue"
    return "due" if now >= due_at - horizon_seconds else "ok"


@dataclass(frozen=True)
class Item:
    activity: str
    frequency: str
    min_per_year: int
    interval_seconds: int
    horizon_seconds: int
    due_at: int
    status: str
    last_done: int | None


def schedule(plan: MonitoringPlan, cover_start: int, last_done: Mapping[str, int | None], now: int) -> list[Item]:
    """The pure core: each activity of the plan, its next due time and status at `now`."""
    out = []
    for name in ACTIVITIES:
        act: Activity = getattr(plan, name)
        every = interval(act)
        done = last_done.get(name)
        due_at = max(cover_start, done or 0) + every
        h = horizon(every)
        out.append(Item(name, act.frequency, act.min_per_year, every, h, due_at, status_at(due_at, h, now), done))
    return out


@dataclass(frozen=True)
class PolicyDue:
    policy_id: int
    tenant_id: str
    subject: str
    cover_start: int
    cover_end: int
    report: str  # anchor id of the subject's current report
    risk_level: str
    tier: str
    source: str
    items: list[Item]


def current_report(session: Session, subject: str) -> m.Anchor | None:
    """The subject's newest anchored, unrevoked underwriting (pre-underwriting or in-policy) report."""
    return session.scalar(select(m.Anchor).where(m.Anchor.subject == subject.lower(), m.Anchor.revoked.is_(False),
                                                 m.Anchor.kind.in_(UNDERWRITING_KINDS))
                          .order_by(m.Anchor.block.desc()).limit(1))


def _last_assessment(session: Session, subject: str) -> m.Anchor | None:
    return session.scalar(select(m.Anchor).where(m.Anchor.subject == subject.lower(), m.Anchor.revoked.is_(False),
                                                 m.Anchor.kind == ChainKind.IN_POLICY.value)
                          .order_by(m.Anchor.block.desc()).limit(1))


def _last_recorded(session: Session, tenant_id: str, subject: str) -> dict[str, int]:
    rows = session.execute(select(m.AssessmentActivity.activity, func.max(m.AssessmentActivity.performed_at))
                           .where(m.AssessmentActivity.tenant_id == tenant_id,
                                  m.AssessmentActivity.subject == subject.lower())
                           .group_by(m.AssessmentActivity.activity)).all()
    return {str(a): int(t) for a, t in rows}


def due_list(session: Session, now: int, block_time: Callable[[int], int], *,
             tenant_id: str | None = None) -> list[PolicyDue]:
    """Every live policy (active, cover not ended at `now`) of `tenant_id` (None: all tenants)
    with its schedule. `block_time(block)` is the chain time of a block (an anchoring's time)."""
    q = (select(m.Policy, m.PolicyOwner.tenant_id).join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
         .where(m.Policy.status == PolicyStatus.ACTIVE.value, m.Policy.cover_end > now).order_by(m.Policy.id))
    if tenant_id is not None:
        q = q.where(m.PolicyOwner.tenant_id == tenant_id)
    times: dict[int, int] = {}

    def at(block: int) -> int:
        if block not in times:
            times[block] = block_time(block)
        return times[block]

    out = []
    for policy, owner in session.execute(q).all():
        subject = policy.subject.lower()
        report = current_report(session, subject) or session.get(m.Anchor, policy.report_hash.lower())
        if report is None:
            continue  # not projected yet: the next sync shows it
        level = LEVEL_OF_CHAIN[report.risk_level]
        plan = plan_for(level)
        last: dict[str, int | None] = {**_last_recorded(session, owner, subject)}
        assessed = _last_assessment(session, subject)
        last["security_assessment"] = at(assessed.block) if assessed is not None else None
        out.append(PolicyDue(policy.id, owner, subject, policy.cover_start, policy.cover_end, report.anchor_id,
                             level.value, plan.tier.value, plan.source, schedule(plan, policy.cover_start, last, now)))
    return out


def notice(p: PolicyDue, item: Item) -> tuple[str, str, dict[str, Any]]:
    """The notice for a due or overdue item: (event, key naming the occurrence, data)."""
    event = f"assessment.{item.status}"
    key = f"{event}:{p.policy_id}:{item.activity}:{item.due_at}"
    data = {"policy_id": p.policy_id, "subject": p.subject, "activity": item.activity, "frequency": item.frequency,
            "due_at": item.due_at, "status": item.status, "last_done": item.last_done, "risk_level": p.risk_level,
            "tier": p.tier, "report": p.report}
    return event, key, data
