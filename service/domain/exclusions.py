"""Exclusions, declared on-chain before the fact so everyone sees them (OutageOracle):

- *Scheduled maintenance*: the underwriter sets a covered service's rules (the maintainer is the
  service's own chain account, acting for one distributor tenant recorded here; minimum notice;
  most seconds per 30-day period). That tenant (or the underwriter) declares windows
  `[start, end)` at least the notice ahead, never retroactively, and cancels them before they
  start. Downtime inside an uncancelled window never pays.
- *Excluded events* (cyber war, state-backed attacks, a provider-wide systemic event): the
  insurer schedules `declareExcludedEvent` on the governance timelock; after its delay anyone of
  the insurer's admins or underwriters executes it. Entitlement from an episode overlapping an
  event goes to claims review, with that reason on the claim. The reason text is kept here, its
  keccak256 on-chain.

The checks below mirror the contract's so a refusal is a 4xx with a reason before any gas is
spent; the contract enforces them anyway (its reverts map to the same types).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from contracts import governance
from contracts.eip712 import service_id as hash_service
from service.api.deps import Principal
from service.chain.episodes import Episode, group
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.covered import NAME
from service.db import models as m
from service.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError

# IOutageOracle's constants (tests/service/test_exclusions.py reads them from the contract).
MAINTENANCE_PERIOD = 30 * 86400
MAX_MAINTENANCE_PER_PERIOD = 8
MAX_EXCLUDED_EVENTS = 32
ZERO_ADDRESS = "0x" + "00" * 20


def hx(b: bytes) -> str:
    return "0x" + b.hex()


def service_of(session: Session, text: str) -> str:
    """A covered service's id (0x hex) from its id or its plain name; 404 unless a product covers it."""
    if text.startswith("0x") and len(text) == 66:
        try:
            sid = hx(bytes.fromhex(text[2:]))
        except ValueError:
            raise BadRequest(f"{text!r} is not a 32-byte hex service id", type="bad_service") from None
    elif NAME.fullmatch(text):
        sid = hx(hash_service(text))
    else:
        raise BadRequest("a service is its 0x-prefixed 32-byte id, or its plain name ([A-Za-z0-9._-], at most 64); "
                         "a URL service is named by its id", type="bad_service")
    if session.scalar(select(m.Product.id).where(m.Product.service_id == sid).limit(1)) is None:
        raise NotFound(f"no product covers service {sid}")
    return sid


# --- maintenance ----------------------------------------------------------------------------

def set_rules(session: Session, gw: Gateway, indexer: Indexer, sid: str, tenant_id: str, min_notice: int,
              max_seconds: int, by: str) -> m.MaintenanceRules:
    """The service's account becomes its maintainer, acting for `tenant_id` (a client tenant)."""
    tenant = session.get(m.Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    if tenant.insurer:
        raise BadRequest("maintenance is declared by the insured's distributor: name a client tenant, not the "
                         "insurer's", type="not_a_client_tenant")
    rules = (gw.operator.address, min_notice, max_seconds)
    gw.send(gw.oracle.functions.setMaintenanceRules(bytes.fromhex(sid[2:]), rules))
    session.merge(m.MaintenanceTenant(service_id=sid, tenant_id=tenant_id, set_by=by, updated_at=m.now()))
    session.commit()
    indexer.sync()
    session.expire_all()
    row = session.get(m.MaintenanceRules, sid)
    assert row is not None
    return row


@dataclass(frozen=True)
class Maintainer:
    rules: m.MaintenanceRules
    tenant_id: str


def _maintainer(session: Session, gw: Gateway, principal: Principal, sid: str) -> Maintainer:
    """The service's rules, if the service's account maintains it and the caller acts for the
    recorded tenant (or is insurer staff)."""
    rules = session.get(m.MaintenanceRules, sid)
    owner = session.get(m.MaintenanceTenant, sid)
    if rules is None or owner is None or rules.maintainer.lower() != gw.operator.address.lower():
        raise Conflict(f"service {sid} has no maintenance rules naming this service's account: the underwriter "
                       "sets them first (PUT /v1/services/{service}/maintenance-rules)", type="maintenance_not_enabled")
    if principal.scoped and principal.tenant_id != owner.tenant_id:
        raise Forbidden(f"maintenance of service {sid} is declared by tenant {owner.tenant_id}'s distributors")
    return Maintainer(rules, owner.tenant_id)


def windows(session: Session, sid: str) -> list[m.MaintenanceWindow]:
    q = select(m.MaintenanceWindow).where(m.MaintenanceWindow.service_id == sid).order_by(m.MaintenanceWindow.index)
    return list(session.scalars(q))


def check_declaration(rules: m.MaintenanceRules, declared: list[m.MaintenanceWindow], start: int, end: int,
                      now: int) -> None:
    """OutageOracle.declareMaintenance's rules, judged at chain time `now`."""
    if end <= start:
        raise BadRequest(f"end ({end}) must be after start ({start})", type="invalid_maintenance_window")
    earliest = now + rules.min_notice
    if start < earliest:
        raise Conflict(f"start {start} is too soon: the service's rules need {rules.min_notice} s notice, so the "
                       f"earliest start is {earliest} (chain time {now}); maintenance is never declared "
                       "retroactively", type="maintenance_notice_too_short")
    if declared and start < declared[-1].end:
        raise Conflict(f"start {start} is before the end of the last declared window ({declared[-1].end}): windows "
                       "are declared in time order and never overlap", type="maintenance_out_of_order")
    period = start // MAINTENANCE_PERIOD
    same = [w for w in declared if w.start // MAINTENANCE_PERIOD == period]
    if len(same) >= MAX_MAINTENANCE_PER_PERIOD:
        raise Conflict(f"period {period} already holds {len(same)} windows (cancelled ones included; at most "
                       f"{MAX_MAINTENANCE_PER_PERIOD})", type="maintenance_count_exceeded")
    total = end - start + sum(w.end - w.start for w in same if not w.cancelled)
    if total > rules.max_seconds_per_period:
        raise Conflict(f"the windows of period {period} would total {total} s, above the service's budget of "
                       f"{rules.max_seconds_per_period} s per {MAINTENANCE_PERIOD} s",
                       type="maintenance_budget_exceeded")


def declare(session: Session, gw: Gateway, indexer: Indexer, principal: Principal, sid: str, start: int,
            end: int) -> m.MaintenanceWindow:
    indexer.sync()
    session.expire_all()
    if end <= start:
        raise BadRequest(f"end ({end}) must be after start ({start})", type="invalid_maintenance_window")
    who = _maintainer(session, gw, principal, sid)
    check_declaration(who.rules, windows(session, sid), start, end, gw.now())
    receipt = gw.send(gw.oracle.functions.declareMaintenance(bytes.fromhex(sid[2:]), start, end))
    indexer.sync()
    session.expire_all()
    row = session.scalar(select(m.MaintenanceWindow).where(m.MaintenanceWindow.tx == hx(receipt["transactionHash"])))
    assert row is not None, "declareMaintenance mined without a projected MaintenanceDeclared"
    return row


def cancel(session: Session, gw: Gateway, indexer: Indexer, principal: Principal, sid: str,
           index: int) -> m.MaintenanceWindow:
    indexer.sync()
    session.expire_all()
    _maintainer(session, gw, principal, sid)
    row = session.scalar(select(m.MaintenanceWindow).where(m.MaintenanceWindow.service_id == sid,
                                                           m.MaintenanceWindow.index == index))
    if row is None:
        raise NotFound(f"service {sid} has no maintenance window {index}")
    if row.cancelled:
        raise Conflict(f"maintenance window {index} is already cancelled", type="maintenance_already_cancelled")
    now = gw.now()
    if now >= row.start:
        raise Conflict(f"maintenance window {index} started at {row.start} (chain time {now}): it can no longer be "
                       "cancelled", type="maintenance_started")
    gw.send(gw.oracle.functions.cancelMaintenance(bytes.fromhex(sid[2:]), index))
    indexer.sync()
    session.expire_all()
    session.refresh(row)
    return row


# --- excluded events ------------------------------------------------------------------------

def events(session: Session, sid: str) -> list[tuple[m.ExcludedEvent, str | None]]:
    """The service's excluded events, oldest first, with their reason text when it is known here."""
    q = select(m.ExcludedEvent).where(m.ExcludedEvent.service_id == sid).order_by(m.ExcludedEvent.index)
    return [(e, reason_text(session, e.reason_hash)) for e in session.scalars(q)]


def reason_text(session: Session, reason_hash: str) -> str | None:
    return session.scalar(select(m.ExcludedEventOperation.reason)
                          .where(m.ExcludedEventOperation.reason_hash == reason_hash).limit(1))


def _timelock(gw: Gateway) -> Any:
    if gw.timelock is None:
        raise Conflict("this deployment has no governance timelock: excluded events are declared by the "
                       "OutageOracle's admin directly", type="no_governance")
    return gw.timelock


def schedule_event(session: Session, gw: Gateway, indexer: Indexer, services: list[str], start: int, end: int,
                   reason: str, by: str) -> m.ExcludedEventOperation:
    """Schedules `declareExcludedEvent(services, start, end, keccak256(reason))` on the timelock.
    The record is written first (so an operation whose outcome is unknown can still be executed)
    and dropped again if the chain refuses."""
    if end <= start:
        raise BadRequest(f"end ({end}) must be after start ({start})", type="invalid_excluded_event")
    sids = [service_of(session, s) for s in services]
    if len(set(sids)) != len(sids):
        raise BadRequest("services lists a service twice", type="duplicate_service")
    timelock = _timelock(gw)
    indexer.sync()
    for sid in sids:
        declared = session.scalar(select(func.count()).select_from(m.ExcludedEvent)
                                  .where(m.ExcludedEvent.service_id == sid)) or 0
        if declared >= MAX_EXCLUDED_EVENTS:
            raise Conflict(f"service {sid} already has {declared} excluded events (at most {MAX_EXCLUDED_EVENTS})",
                           type="too_many_excluded_events")
    reason_hash = keccak(text=reason)
    call = gw.oracle.functions.declareExcludedEvent([bytes.fromhex(s[2:]) for s in sids], start, end, reason_hash)
    op = governance.plan(timelock, call)
    row = m.ExcludedEventOperation(operation=hx(op.id), service_ids=sids, start=start, end=end, reason=reason,
                                   reason_hash=hx(reason_hash), target=op.targets[0], payload=hx(op.payloads[0]),
                                   salt=hx(op.salt), ready_at=0, created_by=by)
    session.add(row)
    session.commit()
    try:
        delay = int(timelock.functions.getMinDelay().call())
        receipt = gw.send(governance.schedule_call(timelock, op, delay))
    except ServiceError as exc:
        if exc.status < 500:
            session.execute(delete(m.ExcludedEventOperation).where(m.ExcludedEventOperation.operation == row.operation))
            session.commit()
        raise
    row.ready_at = int(timelock.functions.getTimestamp(op.id).call())
    row.scheduled_tx = hx(receipt["transactionHash"])
    session.commit()
    return row


def _operation(row: m.ExcludedEventOperation) -> governance.Operation:
    return governance.Operation((row.target,), (0,), (bytes.fromhex(row.payload[2:]),), governance.ZERO32,
                                bytes.fromhex(row.salt[2:]), bytes.fromhex(row.operation[2:]), row.ready_at)


def operation(session: Session, op_id: str) -> m.ExcludedEventOperation:
    row = session.get(m.ExcludedEventOperation, op_id.lower())
    if row is None:
        raise NotFound(f"no excluded-event operation {op_id}")
    return row


def operation_state(gw: Gateway, row: m.ExcludedEventOperation) -> str:
    return governance.operation_state(_timelock(gw), bytes.fromhex(row.operation[2:]), gw.now())


def execute_event(session: Session, gw: Gateway, indexer: Indexer, op_id: str) -> m.ExcludedEventOperation:
    row = operation(session, op_id)
    state = operation_state(gw, row)
    if state == "done":
        raise Conflict(f"operation {row.operation} was already executed", type="already_executed")
    if state == "unset":
        raise Conflict(f"operation {row.operation} is not scheduled on the timelock (cancelled, or its scheduling "
                       "never mined)", type="operation_not_scheduled")
    if state == "waiting":
        raise Conflict(f"operation {row.operation} is ready at {row.ready_at} (chain time {gw.now()}): the governance "
                       "delay is the event's notice", type="operation_not_ready")
    receipt = gw.send(governance.execute_call(_timelock(gw), _operation(row)))
    row.executed_tx = hx(receipt["transactionHash"])
    session.commit()
    indexer.sync()
    return row


# --- what products, episodes and claims show ------------------------------------------------

def service_episodes(session: Session, sid: str, windows_: Any, merge_gap: int, finality: int) -> list[Episode]:
    """`group` with the service's declared maintenance and excluded events applied."""
    return group(sid, windows_, merge_gap, finality, windows(session, sid),
                 [e for e, _ in events(session, sid)])


def event_view(e: m.ExcludedEvent, reason: str | None) -> dict[str, Any]:
    return {"service_id": e.service_id, "index": e.index, "start": e.start, "end": e.end, "reason": reason,
            "reason_hash": e.reason_hash,
            "declared_at": e.declared_at}


def claim_event(session: Session, claim: m.Claim, merge_gap: int, finality: int) -> dict[str, Any] | None:
    """The excluded event behind a claim: the first one flagged on an episode of the policy's
    service that starts inside its cover (the book sends such an episode's entitlement to review,
    and the claim then carries reason `excluded_event`). None when no episode of the cover is in one."""
    policy = session.get(m.Policy, claim.policy_id)
    product = session.get(m.Product, policy.product_id) if policy is not None else None
    if policy is None or product is None:
        return None
    sid = product.service_id
    rows = session.scalars(select(m.Outage).where(m.Outage.service_id == sid))  # all: episodes span windows
    for e in service_episodes(session, sid, rows, merge_gap, finality):
        if e.excluded_event and policy.cover_start <= e.start < policy.cover_end:
            event = session.scalar(select(m.ExcludedEvent).where(m.ExcludedEvent.service_id == sid,
                                                                 m.ExcludedEvent.index == e.excluded_event - 1))
            if event is not None:
                return event_view(event, reason_text(session, event.reason_hash))
    return None


def product_exclusions(session: Session, product: m.Product, *,
                       governance_delay: int | None = None) -> list[dict[str, Any]]:
    """What a product's cover excludes, in English and Chinese with the numbers (the product view,
    the quote and the policy schedule state the same list). Codes: `known_loss`,
    `waiting_period`, `scheduled_maintenance` (only when the service's rules let a window be
    declared), `excluded_events`."""
    sid = product.service_id
    w = product.waiting_seconds
    out: list[dict[str, Any]] = [
        {"code": "known_loss",
         "en": "An outage that began before the cover counts (its start, plus any waiting period) is not covered, "
               "even where it continues into the cover.",
         "zh": "在保障起算时点（保障开始时间加等待期）之前已经开始的服务中断不属于保障范围，"
               "即使该中断延续至保障期内。"},
        {"code": "waiting_period", "waiting_seconds": w,
         "en": f"Outages starting in the first {w} seconds of the cover are not covered; a renewal has no "
               "waiting period." if w else "No waiting period: outages starting from the cover start count.",
         "zh": f"保障开始后 {w} 秒内开始的服务中断不属于保障范围；续保无等待期。" if w
               else "无等待期：自保障开始时间起开始的服务中断均计入。"},
    ]
    rules = session.get(m.MaintenanceRules, sid)
    if rules is not None and rules.maintainer != ZERO_ADDRESS:
        declared = [{"index": x.index, "start": x.start, "end": x.end}
                    for x in windows(session, sid) if not x.cancelled]
        out.append({
            "code": "scheduled_maintenance", "min_notice_seconds": rules.min_notice,
            "max_seconds_per_period": rules.max_seconds_per_period, "period_seconds": MAINTENANCE_PERIOD,
            "max_windows_per_period": MAX_MAINTENANCE_PER_PERIOD, "declared": declared,
            "en": f"Downtime inside a maintenance window the insured declared on-chain at least {rules.min_notice} "
                  f"seconds in advance (at most {rules.max_seconds_per_period} seconds per {MAINTENANCE_PERIOD} "
                  "seconds, never retroactively) does not count; an outage that runs past such a window counts "
                  "only beyond it.",
            "zh": f"被保险人至少提前 {rules.min_notice} 秒在链上声明的维护窗口内的停机时间不计入"
                  f"（每 {MAINTENANCE_PERIOD} 秒最多 {rules.max_seconds_per_period} 秒，不得事后声明）；"
                  "超出维护窗口的中断仅计算窗口之外的部分。"})
    delay = "" if governance_delay is None else f" after a public notice of {governance_delay} seconds"
    delay_zh = "" if governance_delay is None else f"，经 {governance_delay} 秒公示期后生效"
    out.append({
        "code": "excluded_events", "governance_delay_seconds": governance_delay,
        "declared": [event_view(e, r) for e, r in events(session, sid)],
        "en": "Outages overlapping an excluded event (cyber war, state-backed attack, a provider-wide systemic "
              f"event) declared on-chain by the insurer's governance{delay} are not paid automatically: what they "
              "would pay goes to claims review, with that reason on the claim.",
        "zh": "与保险人治理机制在链上声明的除外事件（网络战争、国家背景的攻击、服务商范围的系统性事件）"
              f"重叠的中断{delay_zh}，不自动赔付：相应金额转入理赔审核，并在理赔记录中注明该原因。"})
    return out


def governance_delay(gw: Gateway) -> int | None:
    if gw.timelock is None:
        return None
    try:
        return int(gw.timelock.functions.getMinDelay().call())
    except Exception:  # noqa: BLE001 - shown for information; the exclusion holds either way
        return None
