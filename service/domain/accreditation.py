"""Assessor accreditation (T/SNISA 04002—2025 Appendix B) with review.

An accreditor scores a cybersecurity service provider (the assessor) on the appendix's ten
sub-items; the engine (`service.assessment.provider`) computes the capability (0..100) and the
grade. That is a *proposal*: nothing reaches the chain. The appendix lets the result take effect
only after review, so a second accreditor — another key than the proposer's (409
`same_reviewer`) — confirms it, and only then is `AssessmentRegistry.setAssessor(assessor,
capability)` scheduled on the governance timelock (ACCREDITOR_ROLE is the timelock's on a governed
deployment). After the timelock's delay, public on-chain as `CallScheduled`, an accreditor
executes it and the capability is the registry's. Until it is executed either accreditor may
reject it with a reason (a scheduled one is cancelled on the timelock).

Statuses: `proposed` → `scheduled` → `effective`, or `rejected` from either of the first two.
An assessor has at most one open (proposed or scheduled) accreditation; a new one after it is
effective or rejected re-accredits (a lower score de-accredits below 70).

The record is written before the timelock call (as excluded events are, service.domain.exclusions)
so an operation whose outcome is unknown can still be executed, and put back if the chain refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts import governance
from service.api.deps import Principal
from service.assessment.provider import provider_json, score_provider
from service.chain.gateway import Gateway
from service.db import models as m
from service.errors import BadRequest, Conflict, NotFound, ServiceError

PROPOSED, SCHEDULED, EFFECTIVE, REJECTED = "proposed", "scheduled", "effective", "rejected"
STATUSES = (PROPOSED, SCHEDULED, EFFECTIVE, REJECTED)
OPEN = (PROPOSED, SCHEDULED)
ZERO_ADDRESS = "0x" + "00" * 20


def hx(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def on_chain_capability(gw: Gateway, assessor: str) -> int:
    return int(gw.registry.functions.capabilityOf(to_checksum_address(assessor)).call())


def _open(session: Session, assessor: str) -> m.Accreditation | None:
    return session.scalar(select(m.Accreditation).where(m.Accreditation.open_for == assessor))


def _conflict_open(row: m.Accreditation) -> Conflict:
    return Conflict(f"assessor {row.assessor} already has accreditation {row.id} {row.status}: confirm, execute "
                    "or reject it first (one open accreditation per assessor)", type="accreditation_open")


def propose(session: Session, gw: Gateway, principal: Principal, assessor: str,
            dimensions: Mapping[str, Any], note: str | None) -> m.Accreditation:
    """Scores `dimensions` ({dimension: {criterion: 0..10}}, every criterion; the route's schema
    says so first, the engine refuses anything else with 422 `assessment_error`) and records the
    proposal. Nothing is sent to the chain."""
    assessor = to_checksum_address(assessor)
    if assessor.lower() == ZERO_ADDRESS:
        raise BadRequest("the assessor is the zero address", type="zero_address")
    score = score_provider(dimensions)
    existing = _open(session, assessor)
    if existing is not None:
        raise _conflict_open(existing)
    result = provider_json(score)
    row = m.Accreditation(assessor=assessor, open_for=assessor, scores={k: dict(v) for k, v in dimensions.items()},
                          result=result, capability=score.total, grade=score.grade.value, status=PROPOSED,
                          note=note, previous_capability=on_chain_capability(gw, assessor),
                          proposed_by=principal.key_id)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent proposal for the same assessor won the unique open_for
        session.rollback()
        existing = _open(session, assessor)
        if existing is None:
            raise
        raise _conflict_open(existing) from None
    return row


def get(session: Session, accreditation_id: str) -> m.Accreditation:
    row = session.get(m.Accreditation, accreditation_id)
    if row is None:
        raise NotFound(f"no accreditation {accreditation_id}")
    return row


def listing(session: Session, *, assessor: str | None, status: str | None, limit: int,
            offset: int) -> tuple[list[m.Accreditation], int]:
    q = select(m.Accreditation)
    if assessor is not None:
        q = q.where(m.Accreditation.assessor == to_checksum_address(assessor))
    if status is not None:
        q = q.where(m.Accreditation.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(m.Accreditation.created_at.desc(), m.Accreditation.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def _timelock(gw: Gateway) -> Any:
    if gw.timelock is None:
        raise Conflict("this deployment has no governance timelock: setAssessor is the AssessmentRegistry "
                       "accreditor's own call, outside this service", type="no_governance")
    return gw.timelock


def _check_timelock_accredits(gw: Gateway, timelock: Any) -> None:
    role = gw.registry.functions.ACCREDITOR_ROLE().call()
    if not gw.registry.functions.hasRole(role, timelock.address).call():
        raise Conflict(f"the governance timelock {timelock.address} does not hold AssessmentRegistry's "
                       "ACCREDITOR_ROLE: a scheduled setAssessor could never execute", type="timelock_not_accreditor")


def _not_in(row: m.Accreditation, *statuses: str) -> Conflict:
    return Conflict(f"accreditation {row.id} is {row.status}, not {' or '.join(statuses)}",
                    type=f"accreditation_{row.status}")


def confirm(session: Session, gw: Gateway, principal: Principal, accreditation_id: str) -> m.Accreditation:
    """The review: another key than the proposer's confirms, and `setAssessor(assessor,
    capability)` is scheduled on the timelock with its minimum delay."""
    row = get(session, accreditation_id)
    if row.status != PROPOSED:
        raise _not_in(row, PROPOSED)
    if row.proposed_by == principal.key_id:
        raise Conflict(f"accreditation {row.id} was proposed with this key: the review is another accreditor's",
                       type="same_reviewer")
    timelock = _timelock(gw)
    _check_timelock_accredits(gw, timelock)
    call = gw.registry.functions.setAssessor(to_checksum_address(row.assessor), row.capability)
    op = governance.plan(timelock, call)
    claimed = session.execute(
        update(m.Accreditation).where(m.Accreditation.id == row.id, m.Accreditation.status == PROPOSED)
        .values(status=SCHEDULED, confirmed_by=principal.key_id, confirmed_at=m.now(), operation=hx(op.id),
                target=op.targets[0], payload=hx(op.payloads[0]), salt=hx(op.salt)))
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a concurrent review got there first
        session.refresh(row)
        raise _not_in(row, PROPOSED)
    session.refresh(row)
    try:
        delay = int(timelock.functions.getMinDelay().call())
        receipt = gw.send(governance.schedule_call(timelock, op, delay))
    except ServiceError as exc:
        if exc.status < 500:  # refused: nothing is scheduled, the proposal is open again
            row.status, row.confirmed_by, row.confirmed_at = PROPOSED, None, None
            row.operation = row.target = row.payload = row.salt = None
            session.commit()
        raise
    row.ready_at = int(timelock.functions.getTimestamp(op.id).call())
    row.scheduled_tx = hx(receipt["transactionHash"])
    session.commit()
    return row


def _operation(row: m.Accreditation) -> governance.Operation:
    assert row.operation and row.target and row.payload and row.salt
    return governance.Operation((row.target,), (0,), (bytes.fromhex(row.payload[2:]),), governance.ZERO32,
                                bytes.fromhex(row.salt[2:]), bytes.fromhex(row.operation[2:]), row.ready_at or 0)


def operation_state(gw: Gateway, row: m.Accreditation) -> str | None:
    """The timelock's view of the row's operation (waiting, ready, done, unset), None without one."""
    if row.operation is None or gw.timelock is None:
        return None
    return governance.operation_state(gw.timelock, bytes.fromhex(row.operation[2:]), gw.now())


def execute(session: Session, gw: Gateway, principal: Principal, accreditation_id: str) -> m.Accreditation:
    """Runs the scheduled setAssessor once its delay is over; the capability is then on-chain."""
    row = get(session, accreditation_id)
    if row.status != SCHEDULED:
        raise _not_in(row, SCHEDULED)
    timelock = _timelock(gw)
    state = operation_state(gw, row)
    if state == "unset":
        raise Conflict(f"operation {row.operation} is not scheduled on the timelock (cancelled there, or its "
                       "scheduling never mined): reject this accreditation and propose again",
                       type="operation_not_scheduled")
    if state == "waiting":
        ready_at = row.ready_at or int(timelock.functions.getTimestamp(bytes.fromhex(row.operation[2:])).call())
        raise Conflict(f"operation {row.operation} is ready at {ready_at} (chain time {gw.now()}): the governance "
                       "delay is the accreditation's public notice", type="operation_not_ready")
    if state == "ready":
        receipt = gw.send(governance.execute_call(timelock, _operation(row)))
        row.executed_tx = hx(receipt["transactionHash"])
        row.effective_at = gw.block_time(receipt["blockNumber"])
    # "done": executed on the timelock directly (any executor may): the capability is set all the same.
    row.status, row.open_for, row.executed_by = EFFECTIVE, None, principal.key_id
    session.commit()
    return row


def reject(session: Session, gw: Gateway, principal: Principal, accreditation_id: str,
           reason: str) -> m.Accreditation:
    """Rejects a proposed accreditation, or cancels a scheduled one on the timelock before it is
    executed (409 `operation_done` after). The proposer may withdraw its own."""
    row = get(session, accreditation_id)
    if row.status not in OPEN:
        raise _not_in(row, *OPEN)
    if row.status == SCHEDULED:
        timelock = _timelock(gw)
        state = operation_state(gw, row)
        if state == "done":
            raise Conflict(f"operation {row.operation} was executed: the capability is on-chain; propose a new "
                           "accreditation to change it", type="operation_done")
        if state in ("waiting", "ready"):
            receipt = gw.send(timelock.functions.cancel(bytes.fromhex(row.operation[2:])))
            row.cancelled_tx = hx(receipt["transactionHash"])
    row.status, row.open_for = REJECTED, None
    row.rejected_by, row.rejected_at, row.reject_reason = principal.key_id, m.now(), reason
    session.commit()
    return row
