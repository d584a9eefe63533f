"""The payout worker: follows verified outages and settles every affected policy.

Racing replicas cannot pay twice (the book pays entitlement minus `settled`), but they could
burn gas on no-op settlements. Two guards prevent that: a lease per covered service in the
database (one replica settles a service at a time), and an `entitlementOf` simulation that
drops policies with nothing new due before any transaction is sent.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.chain.records import as_tuple
from service.db import models as m
from service.db.session import transaction
from service.errors import ChainError

log = logging.getLogger(__name__)
EXPIRY_LEASE = "expiry"  # one replica expires policies at a time, like one per service settles


@dataclass
class CycleResult:
    outages: int = 0
    settled: list[int] = field(default_factory=list)
    transactions: int = 0
    skipped_services: list[str] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)


class PayoutWorker:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], indexer: Indexer, *,
                 batch: int = 50, lease_seconds: int = 120, name: str | None = None) -> None:
        self.gw = gateway
        self.factory = factory
        self.indexer = indexer
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.stopping = threading.Event()

    # --- one cycle ------------------------------------------------------------------------
    def run_once(self) -> CycleResult:
        result = CycleResult()
        self.indexer.sync()
        with self.factory() as s:
            pending = s.scalars(select(m.Outage).where(m.Outage.version > m.Outage.handled_version)).all()
            by_service: dict[str, list[tuple[int, int]]] = {}
            spans: dict[str, tuple[int, int]] = {}  # earliest start, latest end of the new windows
            for o in pending:
                by_service.setdefault(o.service_id, []).append((o.id, o.version))
                lo, hi = spans.get(o.service_id, (o.start, o.end))
                spans[o.service_id] = (min(lo, o.start), max(hi, o.end))
        for service_id, outages in by_service.items():
            if self.stopping.is_set():
                break
            if not self._acquire(service_id):
                result.skipped_services.append(service_id)
                continue
            try:
                self._settle_service(service_id, spans[service_id], result)
                with transaction(self.factory) as s:
                    for outage_id, version in outages:
                        s.execute(update(m.Outage).where(m.Outage.id == outage_id, m.Outage.handled_version < version)
                                  .values(handled_version=version))
                result.outages += len(outages)
            finally:
                self._release(service_id)
        if not self.stopping.is_set() and self._acquire(EXPIRY_LEASE):
            try:
                self._expire(result)
            finally:
                self._release(EXPIRY_LEASE)
        return result

    def _expire(self, result: CycleResult) -> None:
        """Returns the collateral of policies past cover end + grace (the book settles what is
        left first). A policy with an open claim waits for the decision, so it is not sent."""
        now = self.gw.now()
        with self.factory() as s:
            rows = s.execute(
                select(m.Policy, m.Product.grace_seconds).join(m.Product, m.Product.id == m.Policy.product_id)
                .where(m.Policy.status == 0, m.Policy.open_claim == 0, m.Policy.cover_end < now)
                .order_by(m.Policy.id)).all()
        due = [p for p, grace in rows if p.cover_end + grace < now]
        for i in range(0, len(due), self.batch):
            chunk = due[i:i + self.batch]
            self.gw.send(self.gw.book.functions.expire([p.id for p in chunk], [as_tuple(p) for p in chunk]))
            result.transactions += 1
            result.expired.extend(p.id for p in chunk)
            self.indexer.sync()

    def _candidates(self, service_id: str, span: tuple[int, int]) -> list[m.Policy]:
        """Active policies on the service whose cover overlaps the new windows (a superset of
        the entitled ones: the chain applies waiting periods and thresholds)."""
        with self.factory() as s:
            return list(s.scalars(
                select(m.Policy).join(m.Product, m.Product.id == m.Policy.product_id)
                .where(m.Product.service_id == service_id, m.Policy.status == 0,
                       m.Policy.cover_start < span[1], m.Policy.cover_end > span[0])
                .order_by(m.Policy.id)))

    def _due(self, policies: list[m.Policy]) -> list[m.Policy]:
        """Only policies whose on-chain entitlement exceeds what was already settled."""
        due = []
        for p in policies:
            entitled = self.gw.book.functions.entitlementOf(as_tuple(p)).call()
            if entitled > p.settled:
                due.append(p)
        return due

    def _settle_service(self, service_id: str, span: tuple[int, int], result: CycleResult) -> None:
        due = self._due(self._candidates(service_id, span))
        for i in range(0, len(due), self.batch):
            chunk = due[i:i + self.batch]
            fn = self.gw.book.functions.settle([p.id for p in chunk], [as_tuple(p) for p in chunk])
            try:
                self.gw.send(fn)
            except ChainError as exc:
                if exc.type != "policy_mismatch":
                    raise
                # Our projection was behind (another writer settled): catch up, retry once.
                self.indexer.sync()
                ids = {c.id for c in chunk}
                fresh = self._due([p for p in self._candidates(service_id, span) if p.id in ids])
                if not fresh:
                    continue
                self.gw.send(self.gw.book.functions.settle([p.id for p in fresh], [as_tuple(p) for p in fresh]))
                chunk = fresh
            result.transactions += 1
            result.settled.extend(p.id for p in chunk)
            self.indexer.sync()

    # --- lease ----------------------------------------------------------------------------
    def _acquire(self, service_id: str) -> bool:
        now = datetime.now(UTC)
        try:
            with transaction(self.factory) as s:
                moved = s.execute(update(m.ServiceLease).where(
                    m.ServiceLease.service_id == service_id,
                    or_(m.ServiceLease.expires_at < now, m.ServiceLease.holder == self.name),
                ).values(holder=self.name, expires_at=now + self.lease))
                if moved.rowcount == 1:  # type: ignore[attr-defined]
                    return True
                if s.get(m.ServiceLease, service_id) is not None:
                    return False
                s.add(m.ServiceLease(service_id=service_id, holder=self.name, expires_at=now + self.lease))
            return True
        except IntegrityError:
            return False

    def _release(self, service_id: str) -> None:
        with transaction(self.factory) as s:
            s.execute(update(m.ServiceLease).where(m.ServiceLease.service_id == service_id,
                                                   m.ServiceLease.holder == self.name)
                      .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC)))

    # --- daemon ---------------------------------------------------------------------------
    def run_forever(self, interval: float = 5.0, extra: list[object] | None = None) -> str:
        """SIGTERM/SIGINT stop new work; an in-flight transaction is awaited by `send`."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        cycles = paid = 0
        while not self.stopping.is_set():
            try:
                r = self.run_once()
                cycles += 1
                paid += len(r.settled)
                for job in extra or []:
                    job.run_once()  # type: ignore[attr-defined]
            except Exception:
                log.exception("payout cycle failed; retrying after the interval")
            self.stopping.wait(interval)
        return f"payout worker stopped after {cycles} cycles, {paid} policies settled"
