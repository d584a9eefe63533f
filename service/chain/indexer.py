"""Projects PolicyBook, CohortBook (service.chain.cohort_events), OutageOracle (windows with their
signers, oracle sets, maintenance, excluded events), AssessmentRegistry and CoverPool events into the database.

One cursor row records the last block applied and its hash. A page of logs is applied in one
database transaction that also moves the cursor with a compare-and-set, so concurrent indexers
(API process, worker replicas) never apply a log twice: the loser rolls back and retries.
Webhook deliveries are written to the outbox in that same transaction (at least once, never
lost).

Confirmations: only blocks with `confirmations` blocks on top of them are applied, so nothing
acts on a log the chain may still drop. Reorganisations: when the cursor's block hash is no
longer the canonical one, the projection is rewound to the deployment block and replayed from
the canonical chain in the same transaction (a projection row does not record how to undo the
events that changed it, so replaying is the one rewind that is always right). Outbox entries
are keyed by transaction and position in it (service.notices.publish derives the event id from
that key and the webhook), so a replay re-notifies only events that are new.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import encode_hex as hx
from eth_utils import event_abi_to_log_topic
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import BlockNotFound

from contracts import registry
from contracts.enums import ClaimReason, PolicyStatus, ReportKind
from contracts.eventlogs import EventDecoder
from contracts.records import Anchor, MaintenanceRules, PolicyRecord, Product
from service import notices
from service.chain import cohort_events
from service.chain.gateway import Gateway
from service.db import models as m
from service.db.session import transaction

log = logging.getLogger(__name__)
CURSOR = "main"


@dataclass
class Ctx:
    session: Session
    args: dict[str, Any]
    block: int
    tx: str
    log_index: int
    notify: bool
    position: int  # of this log among the indexed logs of its transaction
    replay: bool  # re-applying after a reorg: skip notifications already in the outbox
    gw: Gateway  # for state an event does not carry (the registry's anchor figures)
    times: dict[int, int]  # block → timestamp, shared by one page of logs

    def block_time(self) -> int:
        """The timestamp of this log's block (what the contract saw as block.timestamp)."""
        if self.block not in self.times:
            self.times[self.block] = self.gw.block_time(self.block)
        return self.times[self.block]


# PostgreSQL's deadlock_detected and serialization_failure: two indexers applying the same page
# lock the rows a window shift moves in different orders; one is rolled back, like a lost race.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def _transient(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


class _Raced(Exception):
    """Another indexer moved the cursor first, or the chain moved under this page."""


class Indexer:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], *, page: int = 2_000,
                 confirmations: int | None = None) -> None:
        self.gw = gateway
        self.factory = factory
        self.page = page
        self.confirmations = gateway.confirmations if confirmations is None else confirmations
        self.reorgs = 0  # rewinds this indexer performed
        self._syncing = threading.RLock()
        # Each event's decoder is built once (web3's process_log re-derives it per log: ~4 ms each).
        self._topics: dict[bytes, tuple[str, EventDecoder]] = {}
        for contract in gateway.contracts.values():
            for item in contract.abi:
                if item["type"] == "event" and item["name"] in HANDLERS:
                    self._topics[event_abi_to_log_topic(item)] = (item["name"], EventDecoder(item))  # type: ignore[arg-type]

    def confirmed_block(self) -> int:
        """The newest block with enough confirmations to be applied."""
        return max(self.gw.w3.eth.block_number - self.confirmations, self.gw.first_block - 1)

    def block(self) -> int:
        """The block the projection reflects (the state worker decisions are read at)."""
        with self.factory() as s:
            cursor = s.get(m.ChainCursor, CURSOR)
            return cursor.block if cursor is not None else self.gw.first_block - 1

    def sync(self, *, notify: bool = True) -> int:
        """Applies every new confirmed log; returns how many were applied (replayed ones too).
        One at a time in this process: concurrent callers (the API's request threads, each oracle
        report's) each applied the same page — thousands of payout logs at 10,000 covers — in a
        write transaction that shut the SQLite file for every other writer (the worker's lease
        renewals waited out the busy timeout), and all but one were rolled back as races."""
        with self._syncing:
            return self._sync(notify)

    def _sync(self, notify: bool) -> int:
        applied = 0
        attempts = 0
        last_seen = self.block()
        while True:
            target = self.confirmed_block()
            try:
                with transaction(self.factory) as s:
                    cursor = s.get(m.ChainCursor, CURSOR)
                    if cursor is None:
                        s.add(m.ChainCursor(name=CURSOR, block=self.gw.first_block - 1))
                        continue
                    start, known = cursor.block, cursor.hash
                    reorged = known is not None and self._hash(start) != known
                    if not reorged and start >= target:
                        return applied
                    end = target if reorged else min(target, start + self.page)
                    end_hash = self._hash(end)
                    if reorged:
                        applied += self._rewind(s, start, end, notify)
                    else:
                        applied += self._apply_range(s, start + 1, end, notify)
                    if self._hash(end) != end_hash:
                        raise _Raced  # the chain reorganised while we read it: read it again
                    guard = m.ChainCursor.hash.is_(None) if known is None else m.ChainCursor.hash == known
                    moved = s.execute(update(m.ChainCursor).where(
                        m.ChainCursor.name == CURSOR, m.ChainCursor.block == start, guard,
                    ).values(block=end, hash=end_hash))
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        raise _Raced
                attempts = 0  # the retry budget is per page: a long catch-up may lose many races
            except (_Raced, IntegrityError, OperationalError) as exc:
                if isinstance(exc, OperationalError) and not _transient(exc):
                    raise
                # Losing to another indexer that moved the cursor is progress, not failure: only
                # races with no progress anywhere count against the budget.
                seen, last_seen = self.block(), last_seen
                attempts = 0 if seen > last_seen else attempts + 1
                last_seen = seen
                if attempts > 20:
                    raise
                log.info("indexer raced another writer or a reorg; retrying")

    def _hash(self, number: int) -> str | None:
        if number < self.gw.first_block:
            return None  # before the deployment: nothing of ours to lose
        try:
            return hx(self.gw.w3.eth.get_block(number)["hash"])
        except BlockNotFound:
            return None  # the chain is shorter than it was

    def _rewind(self, s: Session, start: int, target: int, notify: bool) -> int:
        """The block at the cursor is no longer canonical: replay the canonical chain."""
        self.reorgs += 1
        log.warning("chain reorganisation: block %d is no longer canonical; replaying the projection "
                    "from block %d to %d", start, self.gw.first_block, target)
        for table in m.PROJECTION:
            if table is not m.ChainCursor:
                s.execute(delete(table))
        applied = 0
        block = self.gw.first_block
        while block <= target:
            end = min(target, block + self.page - 1)
            applied += self._apply_range(s, block, end, notify, replay=True)
            block = end + 1
        return applied

    def _apply_range(self, s: Session, start: int, end: int, notify: bool, *, replay: bool = False) -> int:
        logs = self.gw.w3.eth.get_logs({"fromBlock": start, "toBlock": end,  # type: ignore[typeddict-item]
                                        "address": [c.address for c in self.gw.contracts.values()],
                                        "topics": [["0x" + t.hex() for t in self._topics]]})
        n = 0
        positions: dict[str, int] = {}
        times: dict[int, int] = {}
        for raw in sorted(logs, key=lambda x: (x["blockNumber"], x["logIndex"])):
            entry = self._topics.get(bytes(raw["topics"][0])) if raw["topics"] else None
            if entry is None:
                continue
            name, decoder = entry
            ev = decoder.decode(raw)
            tx = hx(raw["transactionHash"])
            positions[tx] = position = positions.get(tx, -1) + 1
            if name not in _INSERT_ONLY:
                s.flush()  # other handlers read and update rows: each sees the ones before it written
            HANDLERS[name](Ctx(s, dict(ev["args"]), raw["blockNumber"], tx, raw["logIndex"], notify,
                               position, replay, self.gw, times))
            if name not in _INSERT_ONLY:
                s.flush()
            n += 1
        s.flush()
        return n

    def rebuild(self) -> int:
        """Drops the projection and replays from the deployment block (no webhooks re-sent)."""
        with transaction(self.factory) as s:
            for table in m.PROJECTION:
                s.execute(delete(table))
        return self.sync(notify=False)


# --- handlers -------------------------------------------------------------------------------

def policy_record(p: m.Policy) -> PolicyRecord:
    """The on-chain record of a projected policy, for the book's settle / expire / cancel / renew
    and claim calls (every field of the record has its column)."""
    return PolicyRecord.of(p)


def _product(c: Ctx) -> None:
    p = Product.decode(c.args["product"])
    c.session.merge(m.Product(**{**vars(p), "service_id": hx(p.service_id)}, id=c.args["productId"], block=c.block))


def _activation(c: Ctx) -> None:
    product = c.session.get(m.Product, c.args["productId"])
    if product is not None:
        product.active = c.args["active"]


def _issued(c: Ctx) -> None:
    r = PolicyRecord.decode(c.args["policy"])  # the record carries the premium and the renewal link
    hexed = {k: hx(v) for k, v in vars(r).items() if isinstance(v, bytes)}
    c.session.add(m.Policy(**{**vars(r), **hexed}, id=c.args["policyId"], block=c.block, tx=c.tx))


def _policy(c: Ctx) -> m.Policy | None:
    return c.session.get(m.Policy, c.args["policyId"])


def _payout(c: Ctx) -> None:
    p = _policy(c)
    if p is not None:
        p.paid += c.args["amount"]
        p.settled = c.args["entitlement"]
    c.session.add(m.Payout(policy_id=c.args["policyId"], beneficiary=p.beneficiary if p is not None else "",
                           amount=c.args["amount"], entitlement=c.args["entitlement"], status="sent",
                           block=c.block, tx=c.tx, log_index=c.log_index, block_time=c.block_time()))
    _notify(c, "payout.sent", {"policy_id": c.args["policyId"], "amount": str(c.args["amount"]),
                               "entitlement": str(c.args["entitlement"])})


def _credited(c: Ctx) -> None:
    """CoverPool could not transfer a payout and credited it to the payee (claimable with
    `claim(to)`). The pool pays a batch's entries in the order the book emitted PayoutSent, so
    the credit belongs to the first payout of this transaction to that payee, of that amount,
    not yet matched."""
    payee, amount = c.args["payee"], c.args["amount"]
    rows = c.session.scalars(select(m.Payout).where(
        m.Payout.tx == c.tx, m.Payout.beneficiary == payee, m.Payout.status == "sent", m.Payout.log_index < c.log_index,
    ).order_by(m.Payout.log_index))
    row = next((r for r in rows if r.amount == amount), None)
    if row is None:
        if c.gw.cohorts is not None and c.gw.w3.eth.get_transaction(c.tx)["to"] == c.gw.cohorts.address:  # type: ignore[arg-type]
            return  # a cohort member's: its batch's CohortPaid, logged just before, booked it (cohort_events)
        log.warning("PayoutCredited(%s, %d) in %s matches no payout of this transaction", payee, amount, c.tx)
        return
    row.status = "credited"
    _notify(c, "payout.credited", {"policy_id": row.policy_id, "amount": str(amount), "payee": payee},
            policy_id=row.policy_id)
    _notify(c, "payout.failed", {"policy_id": row.policy_id, "amount": str(amount), "payee": payee,
                                 "credited": True},
            policy_id=row.policy_id, new=True)


def _claim_opened(c: Ctx) -> None:
    if (p := _policy(c)) is not None:
        p.open_claim = c.args["claimId"]
        p.settled = c.args["entitlement"]
    reason = ClaimReason(c.args["reason"]).label
    c.session.add(m.Claim(id=c.args["claimId"], policy_id=c.args["policyId"], amount=c.args["amount"],
                          entitlement=c.args["entitlement"], status="open", deadline=c.args["deadline"],
                          reason=reason, block=c.block))
    _notify(c, "claim.opened", {"claim_id": c.args["claimId"], "policy_id": c.args["policyId"],
                                "amount": str(c.args["amount"]), "deadline": c.args["deadline"], "reason": reason})


def _claim_increased(c: Ctx) -> None:
    if (p := _policy(c)) is not None:
        p.settled = c.args["entitlement"]
    if (claim := c.session.get(m.Claim, c.args["claimId"])) is not None:
        claim.amount = c.args["amount"]
        claim.entitlement = c.args["entitlement"]


def _event_reviewed(c: Ctx) -> None:
    """ExcludedEventReviewed: entitlement from excluded-event episodes went to review (never auto-paid)."""
    if (p := _policy(c)) is not None:
        p.event_settled = c.args["eventSettled"]


def _claim_decided(status: str) -> Callable[[Ctx], None]:
    """ClaimApproved (amount approved and paid, incident report), ClaimRejected (the claim's
    amount, reason hash), ClaimLapsed (deemed approved in full and paid)."""
    def apply(c: Ctx) -> None:
        if (p := _policy(c)) is not None:
            p.open_claim = 0
        data: dict[str, Any] = {"claim_id": c.args["claimId"], "policy_id": c.args["policyId"],
                                "amount": str(c.args["amount"])}
        approved = 0 if status == "rejected" else c.args["amount"]
        decided: dict[str, Any] = {"claim_id": c.args["claimId"], "policy_id": c.args["policyId"],
                                   "decision": status, "claimed": str(c.args["amount"]),
                                   "approved_amount": str(approved), "reason_hash": None, "incident_report": None}
        if (claim := c.session.get(m.Claim, c.args["claimId"])) is not None:
            claim.status = status
            decided["claimed"] = str(claim.amount)
            if status == "approved":
                claim.approved = c.args["amount"]
                claim.incident_report = hx(c.args["incidentReport"])
            elif status == "lapsed":
                claim.approved = c.args["amount"]
            else:
                claim.reason_hash = hx(c.args["reason"])
        if status == "approved":
            decided["incident_report"] = hx(c.args["incidentReport"])
        elif status == "rejected":
            data["reason_hash"] = decided["reason_hash"] = hx(c.args["reason"])
        _notify(c, f"claim.{status}", data)
        _notify(c, "claim.decided", decided, new=True)
    return apply


def _expired(c: Ctx) -> None:
    if (p := _policy(c)) is not None:
        p.status = PolicyStatus.EXPIRED


def _cancelled(c: Ctx) -> None:
    """PolicyCancelled: the refund went to the issuer (or was credited to it by the pool), the
    collateral `released` back to free capital."""
    if (p := _policy(c)) is not None:
        p.status = PolicyStatus.CANCELLED
        p.refund, p.released, p.cancel_tx = c.args["refund"], c.args["released"], c.tx
    _notify(c, "policy.cancelled", {"policy_id": c.args["policyId"], "refund": str(c.args["refund"]),
                                    "released": str(c.args["released"])})


def _renewed(c: Ctx) -> None:
    """PolicyRenewed: the old record now names its follow-on (the new one was issued naming it)."""
    old, new = c.args["policyId"], c.args["newPolicyId"]
    if (p := c.session.get(m.Policy, old)) is not None:
        p.renewed_by = new
    if (q := c.session.get(m.Policy, new)) is not None:
        q.renewal_of = old
    _notify(c, "policy.renewed", {"policy_id": old, "renewed_by": new})


def _service_cap(c: Ctx) -> None:
    c.session.merge(m.ServiceCap(service_id=hx(c.args["serviceId"]), cap=c.args["cap"], block=c.block, tx=c.tx))


def _shift(s: Session, service_id: str, first: int, delta: int) -> None:
    """Moves the windows at `first..` by `delta` places, in two steps through negative indices
    so that no step ever holds two rows at one index (unique (service_id, index))."""
    if delta == 0:
        return
    where = (m.Outage.service_id == service_id,)
    s.execute(update(m.Outage).where(*where, m.Outage.index >= first)
              .values(index=-(m.Outage.index + delta) - 1).execution_options(synchronize_session="fetch"))
    s.execute(update(m.Outage).where(*where, m.Outage.index < 0)
              .values(index=-m.Outage.index - 1).execution_options(synchronize_session="fetch"))


def _outage(c: Ctx) -> None:
    """OutageVerified: the window at `index` is now [start, end); it replaced the `replaced`
    windows at `index ..` (0: inserted there). The same edit of the list the contract made, so
    the rows are windowAt(service, i) for every i, `start_since` included (the contract keeps
    the first replaced window's, unless the start moved earlier)."""
    a = c.args
    sid, index, replaced = hx(a["serviceId"]), int(a["index"]), int(a["replaced"])
    now = c.block_time()
    c.session.add(m.OutageVerification(service_id=sid, start=a["start"], end=a["end"], block=c.block,
                                       block_time=now, tx=c.tx, log_index=c.log_index))
    old = list(c.session.scalars(select(m.Outage).where(
        m.Outage.service_id == sid, m.Outage.index >= index, m.Outage.index < index + replaced)
        .order_by(m.Outage.index)))
    if replaced and len(old) != replaced:
        log.error("outage projection of %s is missing windows %d..%d; run `cybercover reindex`",
                  sid, index, index + replaced - 1)
    if not old:
        _shift(c.session, sid, index, 1)
        c.session.add(m.Outage(service_id=sid, index=index, start=a["start"], end=a["end"], ongoing=a["ongoing"],
                               config_version=a["configVersion"], verified_at=now, start_since=now, version=1,
                               handled_version=0, block=c.block, signers=a["signers"], tx=c.tx))
        _outage_notices(c, sid, index, replaced, now, started=True, closed=not a["ongoing"])
        return
    row, merged = old[0], old[1:]
    was_ongoing = any(w.ongoing for w in old)
    row.start_since = now if a["start"] < row.start else row.start_since
    row.start, row.end, row.ongoing, row.config_version = a["start"], a["end"], a["ongoing"], a["configVersion"]
    row.verified_at = now
    row.version += 1
    row.block, row.tx, row.signers = c.block, c.tx, a["signers"]  # the submission that backs it now
    for gone in merged:
        c.session.delete(gone)
    c.session.flush()
    _shift(c.session, sid, index + len(old), 1 - len(old))
    _outage_notices(c, sid, index, replaced, now, started=False, closed=was_ongoing and not a["ongoing"])


def _outage_notices(c: Ctx, sid: str, index: int, replaced: int, now: int, *, started: bool, closed: bool) -> None:
    """outage.started (a window verified for the first time), outage.verified (every verified
    report of a window), outage.closed (a window verified as ended: first seen ended, or
    ongoing before): to the tenants with live policies on the service, and insurer-wide."""
    if not c.notify:
        return
    a = c.args
    data = {"service_id": sid, "index": index, "start": a["start"], "end": a["end"], "ongoing": a["ongoing"],
            "downtime_seconds": a["end"] - a["start"], "config_version": a["configVersion"], "replaced": replaced,
            "verified_at": now}
    tenants = list(c.session.scalars(
        select(m.PolicyOwner.tenant_id).join(m.Policy, m.Policy.id == m.PolicyOwner.policy_id)
        .join(m.Product, m.Product.id == m.Policy.product_id)
        .where(m.Product.service_id == sid, m.Policy.status == PolicyStatus.ACTIVE).distinct()))
    for event, due in (("outage.started", started), ("outage.verified", True), ("outage.closed", closed)):
        if due:
            _notify(c, event, data, tenant_ids=tenants, new=True)


def _oracle_config(c: Ctx) -> None:
    """OracleConfigSet: the signer list a version's `signers` bitmaps index into."""
    c.session.merge(m.OracleConfig(version=c.args["version"], quorum=c.args["quorum"],
                                   signers=[str(s) for s in c.args["signers"]], block=c.block, tx=c.tx))


def _anchored(c: Ctx) -> None:
    """The event names the report, its assessor and subject; the figures are in the anchor's one
    storage slot (kept out of the event to keep anchoring cheap) and never change once written."""
    a = c.args
    anchor_id = registry.anchor_id(a["assessor"], a["reportHash"])
    rec = Anchor.decode(c.gw.registry.functions.anchorOf(anchor_id).call())
    c.session.add(m.Anchor(anchor_id=hx(anchor_id), report_hash=hx(a["reportHash"]), assessor=a["assessor"],
                           subject=hx(a["subject"]), score_bps=rec.score_bps, risk_level=rec.risk_level,
                           kind=rec.kind, revoked=False, block=c.block, tx=c.tx))
    if c.notify:  # a re-rating: the superseded report's row names this one (ReportSuperseded came first)
        from service.domain import incidents, rerating  # noqa: PLC0415 (the domain imports the indexer)

        c.session.flush()
        row = c.session.get(m.Anchor, hx(anchor_id))
        rerating.notice(c.session, row, block=c.block, tx=c.tx)
        if rec.kind == ReportKind.INCIDENT:  # an incident's §8 report: incident.report_anchored
            incidents.anchored_notice(c.session, row, block=c.block, tx=c.tx,
                                      key=f"{c.tx}:{c.position}:incident.report_anchored")


def _superseded(c: Ctx) -> None:
    """ReportSuperseded(previous, successor): emitted by the successor's anchoring, before its
    ReportAnchored; the previous report no longer underwrites (the subject's current report is
    its successor)."""
    if (row := c.session.get(m.Anchor, hx(c.args["previous"]))) is not None:
        row.superseded_by = hx(c.args["successor"])
    else:
        log.error("ReportSuperseded for an unprojected anchor %s; run `cybercover reindex`", hx(c.args["previous"]))


def _revoked(c: Ctx) -> None:
    if (row := c.session.get(m.Anchor, hx(c.args["anchorId"]))) is not None:
        row.revoked = True


def _maintenance_rules(c: Ctx) -> None:
    r = MaintenanceRules.decode(c.args["rules"])
    c.session.merge(m.MaintenanceRules(service_id=hx(c.args["serviceId"]), maintainer=r.maintainer,
                                       min_notice=r.min_notice, max_seconds_per_period=r.max_seconds_per_period,
                                       block=c.block))


def _maintenance_declared(c: Ctx) -> None:
    """Windows are only ever appended (declared in time order), so `index` is the next one."""
    a = c.args
    c.session.add(m.MaintenanceWindow(service_id=hx(a["serviceId"]), index=a["index"], start=a["start"], end=a["end"],
                                      declared_at=c.block_time(), cancelled=False, block=c.block, tx=c.tx))


def _maintenance_cancelled(c: Ctx) -> None:
    row = c.session.scalar(select(m.MaintenanceWindow).where(m.MaintenanceWindow.service_id == hx(c.args["serviceId"]),
                                                             m.MaintenanceWindow.index == c.args["index"]))
    if row is None:
        log.error("MaintenanceCancelled for an unprojected window %d of %s; run `cybercover reindex`",
                  c.args["index"], hx(c.args["serviceId"]))
        return
    row.cancelled = True


def _excluded_event(c: Ctx) -> None:
    a = c.args
    c.session.add(m.ExcludedEvent(service_id=hx(a["serviceId"]), index=a["index"], start=a["start"], end=a["end"],
                                  reason_hash=hx(a["reason"]), declared_at=c.block_time(), block=c.block, tx=c.tx))


def _notify(c: Ctx, event: str, data: dict[str, Any], *, policy_id: int | None = None,
            tenant_ids: list[str] | None = None, new: bool = False) -> None:
    """Publishes a notice of this log: to the tenant owning the policy (or `tenant_ids`) and
    insurer-wide. The occurrence key is the transaction and the log's position in it, so the
    event id is the same after a reorg moves the transaction, and a replay queues nothing it
    queued before; a log's further notices (`new`: the types added by issue 13) add their type."""
    if not c.notify:
        return
    if tenant_ids is None:
        owner = c.session.get(m.PolicyOwner, c.args["policyId"] if policy_id is None else policy_id)
        tenant_ids = [] if owner is None else [owner.tenant_id]
    key = f"{c.tx}:{c.position}" + (f":{event}" if new else "")
    notices.publish(c.session, event, data, key=key, tenant_ids=tenant_ids, block=c.block, tx=c.tx)


# Handlers that only add a new row: a run of them (a 500-cover issueBatch's PolicyIssued logs)
# is flushed as one multi-row INSERT before the next other handler runs, or at the page's end,
# instead of one INSERT a log.
_INSERT_ONLY = frozenset({"PolicyIssued"})

HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "ProductCreated": _product,
    "ProductActivationChanged": _activation,
    "PolicyIssued": _issued,
    "PayoutSent": _payout,
    "ClaimOpened": _claim_opened,
    "ClaimIncreased": _claim_increased,
    "ExcludedEventReviewed": _event_reviewed,
    "ClaimApproved": _claim_decided("approved"),
    "ClaimRejected": _claim_decided("rejected"),
    "ClaimLapsed": _claim_decided("lapsed"),
    "PolicyExpired": _expired,
    "PolicyCancelled": _cancelled,
    "PolicyRenewed": _renewed,
    "ServiceCapSet": _service_cap,
    "OutageVerified": _outage,
    "OracleConfigSet": _oracle_config,
    "ReportAnchored": _anchored,
    "ReportSuperseded": _superseded,
    "ReportRevoked": _revoked,
    "PayoutCredited": _credited,
    "MaintenanceRulesSet": _maintenance_rules,
    "MaintenanceDeclared": _maintenance_declared,
    "MaintenanceCancelled": _maintenance_cancelled,
    "ExcludedEventDeclared": _excluded_event,
}
HANDLERS.update(cohort_events.HANDLERS)  # CohortBook: group covers
