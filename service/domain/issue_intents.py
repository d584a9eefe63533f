"""Write-ahead issuance: no cover on-chain without its owner, whatever process dies when.

A cover's holder goes on-chain only as `keccak256(salt ‖ ref)`; the salt and the distributor's
reference exist only in the issuing process until its receipt is recorded. Each chunk's covers
are therefore written here (`m.IssueIntent`, committed) with the operator's nonce just before
its transaction is signed (`WriteAhead.hook`, run by the sender under the account's lock). Then:

- the live issuer records the owners from the receipt, claiming each intent (`claim`);
- a definitive refusal (reverted, or the nonce went to another transaction) marks it
  `not_issued`; anything else (no receipt in time, a send that failed midway) stays open;
- `reconcile` (a worker pass) settles intents left open `stale_after` (or handed over by a
  thread that ended without their receipts) from the chain: a projected policy with the
  intent's holder commitment becomes that intent's owner and schedule (rebuilt from the run's
  shared members and checked against the on-chain schedule hash); an intent whose nonce the
  operator's confirmed count has passed with no such policy can never be issued. It also
  finishes batches whose issuing thread died (untouched for `stale_after`) or handed over.

Exactly once: both writers claim with `UPDATE … WHERE outcome IS NULL`, and the owner rows are
written in the claiming transaction. A batch's chunk is written ahead only while the batch is
still open (a guarded touch of its row), so a batch the reconciler finished never sends again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from service import notices
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.session import transaction
from service.domain.wording.document import for_cover, schedule_hash
from service.errors import Conflict, ServiceError

log = logging.getLogger(__name__)
STALE_AFTER = 300.0  # s without progress after which a batch's issuing thread is taken for dead
OPEN = ("sending", "pending")
KEEP_REQUESTS = timedelta(days=7)  # a keyed request's decided run answers its retries this long
_IN = 500  # holders per IN (…) list


@dataclass(frozen=True)
class Intent:
    """One cover of a chunk, as written ahead."""

    position: int
    holder: bytes  # the commitment keccak256(salt ‖ ref)
    holder_ref: str
    salt: bytes
    beneficiary: str  # checksummed, as in the schedule

    @property
    def key(self) -> str:
        return "0x" + self.holder.hex()


class BatchClosed(Conflict):
    """The batch was finished by the reconciler (its thread was taken for dead): send no more."""


def touch_batch(s: Session, batch_id: str, *, strict: bool = True) -> None:
    """Progress on an open batch (its `updated_at`); `strict`: raises `BatchClosed` if it is no
    longer open (before a send; a receipt is recorded whatever the batch's status)."""
    moved = s.execute(update(m.IssueBatch).where(m.IssueBatch.id == batch_id, m.IssueBatch.status.in_(OPEN))
                      .values(updated_at=m.now()))
    if strict and not moved.rowcount:  # type: ignore[attr-defined]
        raise BatchClosed(f"issue batch {batch_id} was finished while its thread was thought dead",
                          type="batch_closed")


class WriteAhead:
    """The write-ahead log of one issuance call, on the caller's session."""

    def __init__(self, session: Session, *, tenant_id: str | None, quote_id: str, batch_id: str | None,
                 shared: dict[str, Any], request_key: str | None = None) -> None:
        self.session = session
        self.batch_id = batch_id
        self.request_key = request_key
        run = m.IssueRun(tenant_id=tenant_id, quote_id=quote_id, batch_id=batch_id, shared=shared,
                         request_key=request_key)
        session.add(run)
        session.commit()
        self.run_id = run.id

    def hook(self, chunk: Sequence[Intent]) -> Callable[[int], None]:
        """Called with the nonce before each signing attempt of the chunk's transaction."""
        written = False

        def before_send(nonce: int) -> None:
            nonlocal written
            s = self.session
            try:
                self._write(chunk, nonce, first=not written)
            except BaseException:
                s.rollback()  # nothing is sent; the session stays usable for the chunks in flight
                raise
            written = True

        return before_send

    def _write(self, chunk: Sequence[Intent], nonce: int, *, first: bool) -> None:
        s = self.session
        if self.batch_id is not None:
            touch_batch(s, self.batch_id)
        if first:
            s.execute(insert(m.IssueIntent), [
                {"holder": c.key, "run_id": self.run_id, "position": c.position, "holder_ref": c.holder_ref,
                 "holder_salt": "0x" + c.salt.hex(), "beneficiary": c.beneficiary, "nonce": nonce,
                 "written_at": m.now()} for c in chunk])
        else:  # a retry with another nonce (the first was taken meanwhile)
            for part in _parts([c.key for c in chunk]):
                s.execute(update(m.IssueIntent).where(m.IssueIntent.holder.in_(part))
                          .values(nonce=nonce, written_at=m.now()))
        s.commit()

    def claim(self, pairs: Iterable[tuple[Intent, int]]) -> list[tuple[Intent, int]]:
        """The (cover, policy id) pairs this call may record (not yet claimed by the reconciler)."""
        return claim(self.session, pairs)

    def not_issued(self, chunk: Sequence[Intent]) -> None:
        """The chunk's transaction was refused for good: its covers are not on-chain."""
        mark_not_issued(self.session, [c.key for c in chunk])
        self.session.commit()

    def open(self) -> int:
        """Covers whose outcome is still unknown (left to the reconciler)."""
        return int(self.session.scalar(select(func.count()).select_from(m.IssueIntent).where(
            m.IssueIntent.run_id == self.run_id, m.IssueIntent.outcome.is_(None))) or 0)

    def close(self) -> int:
        """The covers left undecided (`open`). Forgets the log of a call without a batch or key
        once every cover's outcome is recorded (the owners hold the rest). A batch's log is
        forgotten with its final status (`forget_batch`): until then it is what the reconciler
        would finish the batch from."""
        undecided = self.open()
        if self.batch_id is None and self.request_key is None and not undecided:
            forget(self.session, self.run_id)
        self.session.commit()
        return undecided


class OutcomePending(ServiceError):
    """An earlier attempt of this request sent covers whose outcome is not known yet. A 5xx:
    the Idempotency-Key is released, so the client's later retry gets the decided answer."""

    status = 503


@dataclass(frozen=True)
class Earlier:
    """What an earlier attempt of a request (same Idempotency-Key) issued: its answer to give again."""

    policy_ids: list[int]
    missing_from: int | None  # the first cover of the request it did not issue (None: all)


def earlier(s: Session, request_key: str, total: int) -> Earlier | None:
    """The issuance of an earlier attempt of this request whose answer never reached the client
    (a 502 no_receipt, or its process died): None if nothing of it is or can still be on-chain,
    then issuing again is safe. Raises `OutcomePending` while any of its covers is undecided."""
    runs = s.scalars(select(m.IssueRun.id).where(m.IssueRun.request_key == request_key)).all()
    if not runs:
        return None
    rows = s.scalars(select(m.IssueIntent).where(m.IssueIntent.run_id.in_(runs))).all()
    if any(r.outcome is None for r in rows):
        raise OutcomePending("an earlier attempt of this request (same Idempotency-Key) sent covers whose "
                             "transactions have no outcome yet; retry in a minute", type="outcome_pending")
    issued = sorted((r.position, r.policy_id) for r in rows if r.outcome == "issued" and r.policy_id is not None)
    if not issued:
        return None
    done = {pos for pos, _ in issued}
    missing = [pos for pos in range(total) if pos not in done]
    return Earlier([pid for _, pid in issued], missing[0] if missing else None)


def _parts(keys: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(keys), _IN):
        yield keys[i:i + _IN]


def claim(s: Session, pairs: Iterable[tuple[Intent, int]]) -> list[tuple[Intent, int]]:
    """Marks each open intent issued with its policy id; returns the pairs claimed here. The
    UPDATE's row locks (PostgreSQL) or the write lock (SQLite) make a concurrent claimer wait,
    then find the outcome set: one writer per cover."""
    pairs = list(pairs)
    by_key = {c.key: (c, pid) for c, pid in pairs}
    claimed: list[tuple[Intent, int]] = []
    for part in _parts(list(by_key)):
        got = s.scalars(update(m.IssueIntent).where(m.IssueIntent.holder.in_(part), m.IssueIntent.outcome.is_(None))
                        .values(outcome="issued").returning(m.IssueIntent.holder)).all()
        claimed.extend(by_key[k] for k in got)
    if claimed:  # one executemany: the ORM's bulk UPDATE by primary key
        s.execute(update(m.IssueIntent), [{"holder": c.key, "policy_id": pid} for c, pid in claimed])
    claimed.sort(key=lambda p: p[1])
    return claimed


def mark_not_issued(s: Session, keys: list[str]) -> None:
    for part in _parts(keys):
        s.execute(update(m.IssueIntent).where(m.IssueIntent.holder.in_(part), m.IssueIntent.outcome.is_(None))
                  .values(outcome="not_issued"))


def forget(s: Session, run_id: str) -> None:
    s.execute(delete(m.IssueIntent).where(m.IssueIntent.run_id == run_id))
    s.execute(delete(m.IssueRun).where(m.IssueRun.id == run_id))


def forget_batch(s: Session, batch_id: str) -> None:
    for run_id in s.scalars(select(m.IssueRun.id).where(m.IssueRun.batch_id == batch_id)).all():
        forget(s, run_id)


def batch_sent(s: Session, batch_id: str) -> bool:
    """Whether any cover of the batch is, or may be, on-chain (issued, or its outcome unknown)."""
    return s.scalar(select(m.IssueIntent.holder).join(m.IssueRun, m.IssueRun.id == m.IssueIntent.run_id).where(
        m.IssueRun.batch_id == batch_id, (m.IssueIntent.outcome.is_(None)) | (m.IssueIntent.outcome == "issued"))
        .limit(1)) is not None


def record(s: Session, *, tenant_id: str | None, quote_id: str, batch_id: str | None, product_id: int,
           limit: int, premium: int, rows: Sequence[tuple[int, Intent, dict[str, Any] | None, bytes]],
           block: int, tx: str) -> None:
    """The owners, schedules and `policy.issued` notices of claimed covers (policy id, cover,
    schedule document or None, schedule hash): one multi-row INSERT a table."""
    if not rows:
        return
    s.execute(insert(m.PolicyOwner), [
        {"policy_id": pid, "tenant_id": tenant_id, "quote_id": quote_id, "holder_ref": c.holder_ref,
         "holder_salt": "0x" + c.salt.hex()} for pid, c, _, _ in rows])
    schedules = [{"policy_id": pid, "document": doc, "schedule_hash": "0x" + h.hex()}
                 for pid, _, doc, h in rows if doc is not None]
    if schedules:
        s.execute(insert(m.PolicySchedule), schedules)
    notices.publish_many(s, "policy.issued", [
        (f"policy.issued:{pid}", {"policy_id": pid, "batch_id": batch_id, "holder_ref": c.holder_ref,
                                  "beneficiary": c.beneficiary, "product_id": product_id, "limit": str(limit),
                                  "premium": str(premium)})
        for pid, c, _, _ in rows], tenant_ids=[tenant_id] if tenant_id else [], block=block, tx=tx)


def renewal_claimed(s: Session, old_id: int) -> bool:
    """Takes a renewal's write-ahead record (`m.PendingRenewal`): True for the one writer (the
    live renewal or the reconciler) that records the follow-on's owner; the DELETE's row lock
    makes a concurrent one wait, then find nothing."""
    gone = s.execute(delete(m.PendingRenewal).where(m.PendingRenewal.old_policy_id == old_id))
    return bool(gone.rowcount)  # type: ignore[attr-defined]


# --- the reconciler -----------------------------------------------------------------------

@dataclass
class Reconciled:
    issued: int = 0  # owners recorded here (their process died before the receipt)
    not_issued: int = 0  # open covers whose nonce went to another transaction
    batches: list[str] = field(default_factory=list)  # batches finished here


def _intent(row: m.IssueIntent) -> Intent:
    return Intent(row.position, bytes.fromhex(row.holder[2:]), row.holder_ref, bytes.fromhex(row.holder_salt[2:]),
                  row.beneficiary)


def reconcile(factory: sessionmaker[Session], gw: Gateway, indexer: Indexer, *,
              stale_after: float = STALE_AFTER, clock: Callable[[], datetime] = m.now) -> Reconciled:
    """One pass. Open covers are looked at once written `stale_after` ago, or at once when their
    batch's thread handed them over: a live thread records its own receipts (claiming them here
    too would be correct, and all the work done twice)."""
    out = Reconciled()
    cutoff = clock() - timedelta(seconds=stale_after)
    with factory() as s:
        handed = select(m.IssueRun.id).join(m.IssueBatch, m.IssueBatch.id == m.IssueRun.batch_id).where(
            m.IssueBatch.handed_over.is_(True))
        runs = s.scalars(select(m.IssueIntent.run_id).where(
            m.IssueIntent.outcome.is_(None), (m.IssueIntent.written_at < cutoff) | m.IssueIntent.run_id.in_(handed))
            .distinct()).all()
        renewals = s.scalars(select(m.PendingRenewal.old_policy_id).where(m.PendingRenewal.written_at < cutoff)).all()
    if runs or renewals:
        indexer.sync()
        block = indexer.block()
        # Every operator transaction below this count is mined at or before `block`, which the
        # projection has applied: an open intent with a lower nonce and no policy never will be.
        count = int(gw.w3.eth.get_transaction_count(gw.operator.address, block))  # type: ignore[arg-type]
        for run_id in runs:
            _settle_run(factory, run_id, count, out)
        for old_id in renewals:
            _settle_renewal(factory, old_id, count, out)
    _finish_batches(factory, indexer, cutoff, out)
    _purge_requests(factory, clock() - KEEP_REQUESTS)
    return out


def _purge_requests(factory: sessionmaker[Session], before: datetime) -> None:
    """Forgets keyed runs whose covers are all decided, once older than a client's retries."""
    with transaction(factory) as s:
        old = s.scalars(select(m.IssueRun.id).where(m.IssueRun.request_key.is_not(None), m.IssueRun.batch_id.is_(None),
                                                    m.IssueRun.created_at < before)).all()
        for run_id in old:
            if s.scalar(select(m.IssueIntent.holder).where(m.IssueIntent.run_id == run_id,
                                                           m.IssueIntent.outcome.is_(None)).limit(1)) is None:
                forget(s, run_id)


def _settle_run(factory: sessionmaker[Session], run_id: str, count: int, out: Reconciled) -> None:
    with transaction(factory) as s:
        run = s.get(m.IssueRun, run_id)
        assert run is not None
        rows = s.scalars(select(m.IssueIntent).where(m.IssueIntent.run_id == run_id,
                                                     m.IssueIntent.outcome.is_(None))).all()
        intents = {r.holder: (_intent(r), r.nonce) for r in rows}
        policies: dict[str, m.Policy] = {}
        for part in _parts(list(intents)):
            # Not a renewal: one keeps its original's holder (and needs the owner this records).
            policies.update((p.holder, p) for p in s.scalars(select(m.Policy).where(
                m.Policy.holder.in_(part), m.Policy.renewal_of == 0)))
        claimed = claim(s, [(intents[h][0], p.id) for h, p in policies.items()])
        by_tx: dict[str, list[tuple[int, Intent, dict[str, Any] | None, bytes]]] = {}
        for c, pid in claimed:
            p = policies[c.key]
            built = for_cover(run.shared, c.holder, c.beneficiary)
            h = schedule_hash(built)
            exact = "0x" + h.hex() == p.schedule_hash
            if not exact:  # the wording was not rebuilt exactly: the owner without it
                log.warning("policy %d: the rebuilt schedule does not match its on-chain hash; owner only", pid)
            by_tx.setdefault(p.tx, []).append((pid, c, built if exact else None, h))
        for tx, part_rows in by_tx.items():
            p = policies[part_rows[0][1].key]
            record(s, tenant_id=run.tenant_id, quote_id=run.quote_id, batch_id=run.batch_id, product_id=p.product_id,
                   limit=p.limit, premium=p.premium, rows=part_rows, block=p.block, tx=tx)
        lost = [h for h, (_, nonce) in intents.items() if h not in policies and nonce < count]
        mark_not_issued(s, lost)
        out.issued += len(claimed)
        out.not_issued += len(lost)
        if claimed or lost:
            log.info("issue run %s: %d owners recorded from the chain, %d covers never issued (their "
                     "thread stopped, or had no receipt, in time)", run_id, len(claimed), len(lost))
        if run.batch_id is None and run.request_key is None and len(claimed) + len(lost) == len(intents):
            forget(s, run_id)  # nothing left to decide (a keyed request's run is kept: `earlier`)


def _settle_renewal(factory: sessionmaker[Session], old_id: int, count: int, out: Reconciled) -> None:
    with transaction(factory) as s:
        outcome = settle_renewal(s, old_id, count)
    if outcome == "issued":
        out.issued += 1
    elif outcome == "not_issued":
        out.not_issued += 1


def settle_renewal(s: Session, old_id: int, count: int | None = None) -> str | None:
    """Decides a renewal written ahead whose receipt was not recorded, from the projection: the
    follow-on's owner is the old policy's (the same holder), with the quote and schedule written
    ahead ("issued"); with the operator's confirmed `count` past its nonce and no follow-on, it
    never will be ("not_issued"); else None (undecided, or nothing written ahead)."""
    row = s.get(m.PendingRenewal, old_id)
    old = s.get(m.Policy, old_id)
    if row is None:
        return None
    new = s.get(m.Policy, old.renewed_by) if old is not None and old.renewed_by else None
    if new is None:
        if count is not None and row.nonce < count:  # its nonce went to another transaction
            s.delete(row)
            return "not_issued"
        return None
    quote_id, document, schedule = row.quote_id, row.document, row.schedule_hash
    owner = s.get(m.PolicyOwner, old_id)
    if not renewal_claimed(s, old_id) or owner is None or s.get(m.PolicyOwner, new.id) is not None:
        return None
    s.add(m.PolicyOwner(policy_id=new.id, tenant_id=owner.tenant_id, quote_id=quote_id,
                        holder_ref=owner.holder_ref, holder_salt=owner.holder_salt))
    if schedule == new.schedule_hash:  # else renewed otherwise than written ahead: the owner only
        s.add(m.PolicySchedule(policy_id=new.id, document=document, schedule_hash=schedule))
    log.info("renewal of policy %d: follow-on %d's owner recorded from the chain", old_id, new.id)
    return "issued"


def _finish_batches(factory: sessionmaker[Session], indexer: Indexer, cutoff: datetime, out: Reconciled) -> None:
    with factory() as s:
        candidates = s.scalars(select(m.IssueBatch.id).where(
            m.IssueBatch.status.in_(OPEN),
            (m.IssueBatch.updated_at < cutoff) | m.IssueBatch.handed_over.is_(True))).all()
    if candidates:
        indexer.sync()  # the policies a finished batch lists are readable once it says so
    for batch_id in candidates:
        with transaction(factory) as s:
            batch = s.get(m.IssueBatch, batch_id)
            if batch is None or batch.status not in OPEN:
                continue
            run_ids = s.scalars(select(m.IssueRun.id).where(m.IssueRun.batch_id == batch_id)).all()
            intents = s.scalars(select(m.IssueIntent).where(m.IssueIntent.run_id.in_(run_ids))).all() if run_ids else []
            if any(i.outcome is None for i in intents):
                continue  # a transaction may still land: decided once it is mined or its nonce is passed
            issued = sorted((i.position, i.policy_id) for i in intents if i.outcome == "issued")
            done = {pos for pos, _ in issued}
            missing = [pos for pos in range(batch.total) if pos not in done]
            status = "issued" if not missing else ("partial" if issued else "failed")
            error = None if not missing else {
                "type": batch.error["type"] if batch.error else "interrupted",
                "detail": batch.error["detail"] if batch.error else
                "the issuing process stopped before every cover was sent; the covers from not_issued_from "
                "on that are not in policy_ids were not issued",
                "not_issued_from": missing[0]}
            moved = s.execute(update(m.IssueBatch).where(
                m.IssueBatch.id == batch_id, m.IssueBatch.status.in_(OPEN),
                m.IssueBatch.updated_at == batch.updated_at).values(
                status=status, policy_ids=sorted(pid for _, pid in issued), error=error, handed_over=False))
            if moved.rowcount:  # type: ignore[attr-defined]
                forget_batch(s, batch_id)
                out.batches.append(batch_id)
                log.info("issue batch %s finished from the chain: %s, %d of %d covers", batch_id, status,
                         len(issued), batch.total)
