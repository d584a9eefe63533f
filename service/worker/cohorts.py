"""The worker's group-cover pass: settles each cohort whose service had an outage and pays its
members in multiproof batches sized to the block gas limit.

Per cohort, under a lease of its own (`cohort:<id>` in service_leases, renewed before every
transaction, as a covered service's): `settle(cohortId)` is simulated and sent only when it
would open a round; then every opened round of every segment pays the members it still owes
(`min(limit, E_r) − min(limit, E_{r−1})` > 0, not removed, not paid in that round by the
projection) with `payBatch`. The chain keeps a paid bitmap per (round, segment), so a replica
racing this one, a stale projection or a restart after `kill -9` can cost gas but never pays a
member twice.

Batch size: the first batch of a round is a probe (`PROBE` members). With estimated gas (a
node), every batch is estimated before it is sent, and that estimate gives its limit
(`Sender.limit`, the sender's margin unchanged); the estimates seen fit a line (fixed + members
× marginal, no seen batch under it: `GasModel`) that sizes the next batch so `PER_BLOCK` of them
share a block — a block takes a transaction only if its *limit* fits the gas left, so sizing a
batch to 80 % of the block from the probe's average (~712 of the ~1,009 members a block holds)
let one batch in a block. A batch whose own estimate exceeds that size is shrunk before it is
sent (so a model that under-estimated never sends one whose limit does not fit). With a fixed
gas limit (eth-tester), the probe's estimate per member sizes the rest to `FILL` of it. At most
the book's MAX_BATCH. A cohort past `closesAt` is closed (its collateral released).

Pipelining: a round's payBatch transactions go out as the policy settle path's do
(`contracts.sender.Pipeline` on the worker's one Sender: nonces assigned at broadcast, gap-free,
receipts awaited oldest first, as many in flight as fill about two blocks, at most
`settle_in_flight`), the lease renewed before each, one indexer sync per round. A batch refused
at broadcast stops the round; one mined with status 0 (or without a receipt) lets the others in
flight land, then fails the cohort's pass as a failed send did: its members stay unpaid and are
retried next cycle."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from contracts.calldata import Encoded
from contracts.errors import ContractsError
from contracts.sender import Pipeline, Sender
from service.chain.cohort_events import owed
from service.chain.gateway import chain_error
from service.db import models as m
from service.domain import cohorts as domain
from service.errors import ChainError

if TYPE_CHECKING:
    from service.worker.payouts import PayoutWorker

log = logging.getLogger(__name__)
PROBE = 32
FILL = 0.8  # of a fixed gas limit (no estimates): the rest absorbs estimate drift between blocks
PER_BLOCK = 2  # estimated batches sized so this many share a block, the Sender's margin included
SLACK = 0.03  # of that size: estimates move between blocks (the model, not the limit sent, uses it)


@dataclass
class CohortResult:
    settled: list[int] = field(default_factory=list)  # cohorts whose settle opened rounds
    paid: int = 0  # members paid
    batches: int = 0
    closed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # cohorts whose pass failed: next cycle


class CohortSettler:
    def __init__(self, worker: PayoutWorker, *, fill: float = FILL, max_batch: int | None = None) -> None:
        self.w = worker
        self.fill = fill
        self.max_batch = max_batch

    @property
    def book(self) -> Any:
        return self.w.gw.cohorts

    def run_once(self) -> CohortResult:
        result = CohortResult()
        if self.book is None:
            return result
        now = self.w.gw.now()
        for cohort_id in self._candidates(now):
            if self.w.stopping.is_set():
                break
            lease = f"cohort:{cohort_id}"
            if not self.w._acquire(lease):
                continue
            try:
                self._cohort(cohort_id, lease, now, result)
            except Exception:
                log.exception("cohort %d: settlement failed; retried next cycle", cohort_id)
                result.failed.append(cohort_id)
            finally:
                self.w._release(lease)
        return result

    def _candidates(self, now: int) -> list[int]:
        """Open cohorts whose service has a verified window in their cover, or with rounds to pay,
        or due to close."""
        with self.w.factory() as s:
            # Only cohorts whose file this service keeps: another issuer's cohort on the same book
            # is its own to pay (anyone may, with the proofs only its file holds).
            ours = select(m.CohortFile.cohort_id).where(m.CohortFile.cohort_id.is_not(None))
            rows = s.execute(select(m.Cohort, m.Product.service_id).join(m.Product, m.Product.id == m.Cohort.product_id)
                             .where(m.Cohort.closed.is_(False), m.Cohort.id.in_(ours)).order_by(m.Cohort.id)).all()
            out = []
            for c, service_id in rows:
                touched = s.scalar(select(m.Outage.id).where(m.Outage.service_id == service_id,
                                                             m.Outage.end > c.cover_start,
                                                             m.Outage.start < c.cover_end).limit(1))
                if touched is not None or c.cover_end < now:
                    out.append(c.id)
        return out

    def _send(self, lease: str, fn: Any) -> Any:
        if not self.w._renew(lease):  # renew: the lease must outlive every send made under it
            raise ChainError(f"lease {lease} was taken over by another replica", type="lease_lost")
        return self.w.gw.send(fn)

    def _cohort(self, cohort_id: int, lease: str, now: int, result: CohortResult) -> None:
        book = self.book
        at = self.w._read_at()
        with self.w.factory() as s:
            rec, recs = domain.records(s, cohort_id)  # the records the book hashed (they never change)
        settle = book.functions.settle(cohort_id, rec, recs)
        if int(settle.call({"from": self.w.gw.operator.address}, block_identifier=at)) > 0:
            self._send(lease, settle)
            result.settled.append(cohort_id)
            result.batches += 1
            self.w.indexer.sync()
        with self.w.factory() as s:
            segments = list(s.scalars(select(m.CohortSegment).where(m.CohortSegment.cohort_id == cohort_id,
                                                                    m.CohortSegment.rounds > 0)
                                      .order_by(m.CohortSegment.segment)))
        for seg in segments:
            for rnd in range(1, seg.rounds + 1):
                self._pay_round(cohort_id, seg.segment, rnd, (rec, recs[seg.segment]), lease, result)
        if now > int(book.functions.closesAt(rec).call()):
            self._send(lease, book.functions.close(cohort_id, rec, recs[0]))
            result.closed.append(cohort_id)
            self.w.indexer.sync()

    def unpaid(self, cohort_id: int, segment: int, rnd: int) -> tuple[m.CohortFile, list[m.CohortMember]]:
        """The segment's file, and the members round `rnd` still owes something, by index."""
        with self.w.factory() as s:
            seg = s.get(m.CohortSegment, (cohort_id, segment))
            levels = {r.round: r.level for r in s.scalars(select(m.CohortRound).where(
                m.CohortRound.cohort_id == cohort_id, m.CohortRound.segment == segment))}
            f = s.scalar(select(m.CohortFile).where(m.CohortFile.root == seg.root)) if seg is not None else None
            if f is None:
                raise LookupError(f"cohort {cohort_id} segment {segment}: no cohort file on record for its root")
            level, previous = levels.get(rnd, 0), levels.get(rnd - 1, 0)
            paid = set(s.scalars(select(m.CohortPayout.index).where(
                m.CohortPayout.cohort_id == cohort_id, m.CohortPayout.segment == segment, m.CohortPayout.round == rnd)))
            removed = set(s.scalars(select(m.CohortRemoval.index).where(
                m.CohortRemoval.cohort_id == cohort_id, m.CohortRemoval.segment == segment)))
            members = [x for x in s.scalars(select(m.CohortMember).where(m.CohortMember.file_id == f.id)
                                            .order_by(m.CohortMember.index))
                       if x.index not in paid and x.index not in removed and owed(x.limit, level, previous) > 0]
            s.expunge_all()
        return f, members

    def _tx_budget(self) -> int:
        gw = self.w.gw
        cap = int(gw.w3.eth.get_block("latest")["gasLimit"])
        if gw.sender.gas:
            cap = min(cap, gw.sender.gas)
        return int(cap * self.fill)

    def _call(self, cohort_id: int, rnd: int, segment: int, records: tuple[Any, Any], f: m.CohortFile,
              batch: list[m.CohortMember]) -> Any:
        mp = domain.multiproof(f, [x.index for x in batch])
        by_index = {x.index: x for x in batch}
        members = [domain.leaf_of(by_index[i]) for i in mp.indices]  # in proof order
        return self.book.functions.payBatch(cohort_id, rnd, segment, *records, members, mp.proof, mp.flags)

    def _pay_round(self, cohort_id: int, segment: int, rnd: int, records: tuple[Any, Any], lease: str,
                   result: CohortResult) -> None:
        f, todo = self.unpaid(cohort_id, segment, rnd)
        if not todo:
            return
        most = int(self.book.functions.MAX_BATCH().call())
        if self.max_batch:
            most = min(most, self.max_batch)
        size = min(PROBE, most)
        estimated = not self.w.gw.sender.gas  # each batch's gas estimated (else the sender's fixed limit)
        cost = GasModel()
        errors: list[Exception] = []

        def landed(batch: list[m.CohortMember], _: Any) -> None:
            result.batches += 1
            result.paid += len(batch)

        def failed(batch: list[m.CohortMember], exc: Exception) -> None:
            log.error("cohort %d round %d segment %d: payBatch of %d members failed: %s",
                      cohort_id, rnd, segment, len(batch), exc)
            errors.append(exc)  # the later batches still land (their nonces were used): then fail

        # Batches are disjoint, so one in flight never changes what another pays; the bitmap
        # refuses a member twice whatever lands; the projection records payouts from events only.
        pipe = Pipeline(self.w.gw, self.w.in_flight, landed, failed)  # type: ignore[arg-type]
        try:
            while todo and not errors:
                batch, todo = todo[:size], todo[size:]
                fn = self._call(cohort_id, rnd, segment, records, f, batch)
                gas, simulated = None, False
                if estimated:
                    fn, batch, todo, gas, simulated = self._fitted(cohort_id, rnd, segment, records, f, fn, batch,
                                                                   todo, cost)
                    size = max(1, min(most, cost.fits(self._estimate_budget())))
                elif len(cost) == 0:  # the probe sizes the rest of the round
                    cost.add(len(batch), int(fn.estimate_gas({"from": self.w.gw.operator.address})))
                    size = max(1, min(most, self._tx_budget() // cost.average()))
                if not self.w._renew(lease):  # renewed per batch: it outlives every send under it
                    raise ChainError(f"lease {lease} was taken over by another replica", type="lease_lost")
                try:
                    pending = pipe.submit(fn, self.w.gw.operator, batch, gas, simulated=simulated)
                except ContractsError as exc:  # refused before it was sent: nothing of it was paid
                    raise chain_error(exc) from None
                if pending.tx is not None and "gas" in pending.tx:
                    pipe.depth = min(self.w.in_flight, self.w._depth(int(pending.tx["gas"])))
        finally:
            pipe.drain()  # what was broadcast is awaited, even when a later batch failed
            self.w.indexer.sync()
        if errors:  # as a failed send: the cohort's pass fails, the unpaid are retried next cycle
            exc = errors[0]
            raise chain_error(exc) if isinstance(exc, ContractsError) else exc

    def _estimate_budget(self) -> int:
        """The largest estimate of a batch such that `PER_BLOCK` of them share a block: the gas
        used by the first ones plus the last one's limit (`Sender.limit`: the margin is kept, as
        a block includes a transaction only if its limit fits in the gas left) stay within the
        block's gas limit, less `SLACK` for estimates that move between blocks."""
        block = int(self.w.gw.w3.eth.get_block("latest")["gasLimit"])
        lo, hi = 0, block  # the largest e with (PER_BLOCK - 1) * e + limit(e) <= block
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if (PER_BLOCK - 1) * mid + Sender.limit(mid) <= block:
                lo = mid
            else:
                hi = mid - 1
        return int(lo * (1 - SLACK))

    def _fitted(self, cohort_id: int, rnd: int, segment: int, records: tuple[Any, Any], f: m.CohortFile, fn: Any,
                batch: list[m.CohortMember], todo: list[m.CohortMember], cost: GasModel
                ) -> tuple[Any, list[m.CohortMember], list[m.CohortMember], int, bool]:
        """The batch estimated, and shrunk (the rest back in front of `todo`) until its estimate
        fits `_estimate_budget`: the size came from a model, the limit sent comes from this
        batch's own estimate. Returns the call, the batch, the rest, the gas limit to send and
        whether the estimate was the simulation (made on the pending block)."""
        budget = self._estimate_budget()
        while True:
            gas, simulated = self.w.gw.sender.estimate(Encoded(fn), self.w.gw.operator)  # eth_abi: web3's is slow
            cost.add(len(batch), gas)
            if gas <= budget or len(batch) == 1:
                return fn, batch, todo, Sender.limit(gas), simulated
            keep = max(1, min(len(batch) - 1, len(batch) * budget // gas))
            batch, todo = batch[:keep], batch[keep:] + todo
            fn = self._call(cohort_id, rnd, segment, records, f, batch)


class GasModel:
    """A batch's estimate as fixed + members × marginal, fitted to the estimates seen (at least
    one: the probe). A single point, or points that disagree, give no fixed part (the average per
    member: an over-estimate, as a batch's fixed costs are spread over its members)."""

    def __init__(self) -> None:
        self.points: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.points)

    def add(self, members: int, gas: int) -> None:
        self.points[members] = max(gas, self.points.get(members, 0))

    def average(self) -> int:
        return max(1, max(-(-g // n) for n, g in self.points.items()))  # rounded up

    def line(self) -> tuple[int, int]:
        """(fixed, marginal): through the smallest and the largest batch seen; every point lies
        on or under it (the marginal raised until it does), so no seen batch is under-estimated."""
        if len(self.points) < 2:
            return 0, self.average()
        small, large = min(self.points), max(self.points)
        marginal = max(1, -(-(self.points[large] - self.points[small]) // (large - small)))
        fixed = max(0, self.points[small] - small * marginal)
        for n, g in self.points.items():  # a point above the line: the marginal covers it
            if fixed + n * marginal < g:
                marginal = max(marginal, -(-(g - fixed) // n))
        return fixed, marginal

    def fits(self, budget: int) -> int:
        """Members whose modelled estimate stays within `budget` (at least 1)."""
        fixed, marginal = self.line()
        return max(1, (budget - fixed) // marginal)
