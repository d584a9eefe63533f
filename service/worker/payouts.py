"""The payout worker: follows verified outages and settles every affected policy, and every
affected group cover (service.worker.cohorts: settle, then multiproof batches sized to blocks).

Racing replicas cannot pay twice (the book pays entitlement minus `settled` and checks each
record against its stored hash), but they could burn gas on no-op settlements. Two guards
prevent that: a lease per covered service in the database (one replica settles a service at a
time; renewed before every transaction), and an `entitlementOf` simulation that drops policies
with nothing new due before any transaction is sent.

Finality: an outage episode pays only once its start has been unchanged for the oracle's
finality delay (`entitlementOf` is 0 before). A changed window is therefore left pending — not
"handled" — until its episode's start is final at the block the worker reads; only then are its
policies settled and the window marked handled. Nothing is simulated meanwhile.

Claims end: an open claim past its decision deadline is closed (`closeLapsedClaim`, deemed
approved in full and paid) in the expiry pass of every cycle, so collateral never waits for a
human; expiry then releases the policy's collateral.

Pipelining: settle transactions go out several at a time (`contracts.sender.Pipeline`: nonces
assigned at broadcast, receipts awaited oldest first), as many as fill about two blocks (from
the first transaction's gas, at most `in_flight`), with the lease renewed before each; the
sender lets no more than the next block holds be unmined at once (`Sender._admit`), and the
next settles' gas estimates are made ahead in threads meanwhile (`_prepared`). A batch
refused at broadcast, mined with status 0, or whose nonce another transaction took, is then
bisected on its own as below (nothing of it was paid; the others were not affected). A batch
whose outcome is unknown (no receipt in time) fails the service's pass after the rest landed:
it is never resent blind. Exactly once whatever happens (kill -9 with transactions in flight,
two replicas): the book pays entitlement minus `settled` against the stored record's hash, a
policy's record changes with each settlement, so a second settlement of the same policy is
refused in simulation (its record is stale) or reverts; and a restarted worker reads the
account's pending nonce from the node, so the dead one's transactions keep their nonces.

Failures stay where they happen. A batch that is refused is bisected down to the policies that
fail on their own (`bisect`); those are logged, counted and retried later with a backoff
(`retries`) while the rest of the batch is paid. A service whose cycle fails for any other
reason is skipped until the next cycle; the other services and the expiry pass still run.
The worker acts only on the indexer's projection, which holds confirmed blocks only.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from contracts.calldata import Calls, Encoded
from contracts.enums import PolicyStatus
from contracts.errors import ContractsError, NonceTaken, NoReceipt
from contracts.sender import Pipeline, Sender
from service.chain.episodes import group
from service.chain.gateway import Gateway, chain_error
from service.chain.indexer import Indexer, policy_record
from service.db import models as m
from service.db.session import transaction
from service.errors import ChainError, ServiceError
from service.worker.bisect import send_bisected
from service.worker.cohorts import CohortResult, CohortSettler
from service.worker.metrics import WorkerMetrics
from service.worker.retries import EXPIRE, LAPSE, SETTLE, Retries

log = logging.getLogger(__name__)
EXPIRY_LEASE = "expiry"  # one replica expires policies at a time, like one per service settles
STALE = "policy_mismatch"  # the chain holds a newer record than our projection
ACTIVE = m.Policy.status == PolicyStatus.ACTIVE


PASS_YIELD_SECONDS = 300.0  # the longest a notice pass waits for a settlement to end
PREPARE_AHEAD = 3  # settle estimates made side by side ahead of the broadcasts (`_prepared`)
FINAL_POLL = 0.5  # seconds after an episode's finality (chain time) the worker looks again
READ_PAGE = 500  # policies per entitlement read (one JSON-RPC batch): settles start after the first


def _chunks(items: Iterable[m.Policy], size: int) -> Iterator[list[m.Policy]]:
    chunk: list[m.Policy] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LeaseLost(ServiceError):
    """Another replica holds the lease now: stop sending for it."""


@dataclass
class CycleResult:
    outages: int = 0
    settled: list[int] = field(default_factory=list)
    transactions: int = 0
    skipped_services: list[str] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    lapsed: list[int] = field(default_factory=list)  # claims closed after their deadline (paid in full)
    awaiting_finality: int = 0  # changed windows whose episode start is not final yet: next cycles
    final_in: float | None = None  # seconds until the first of those episodes is final (read block's time)
    failed: list[int] = field(default_factory=list)  # settle refused for the policy alone: backoff
    expire_failed: list[int] = field(default_factory=list)  # likewise for expire
    lapse_failed: list[int] = field(default_factory=list)  # policies whose lapsed claim could not be closed: backoff
    deferred: list[int] = field(default_factory=list)  # projection was behind: next cycle
    failed_services: list[str] = field(default_factory=list)  # cycle failed: retried next cycle
    expiry_error: str | None = None  # the expiry pass failed as a whole
    cohorts: CohortResult = field(default_factory=CohortResult)  # group covers (service.worker.cohorts)


# A settle chunk ready to broadcast: (policies, call, (gas limit, estimated on the pending block), refusal)
_Prepared = tuple[list[m.Policy], Any, tuple[int | None, bool], ContractsError | None]


@dataclass
class _Job:
    """One service's work this cycle: new outage versions and/or policies due for a retry."""

    outages: list[tuple[int, int]] = field(default_factory=list)  # (outage id, version)
    span: tuple[int, int] | None = None  # earliest episode start, latest end of the changed windows' episodes
    retry: list[int] = field(default_factory=list)


class PayoutWorker:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], indexer: Indexer, *,
                 batch: int = 50, lease_seconds: int = 120, name: str | None = None, in_flight: int = 16,
                 retry_seconds: float = 30.0, retry_max_seconds: float = 3600.0,
                 clock: Callable[[], datetime] = m.now, metrics: WorkerMetrics | None = None) -> None:
        self.gw = gateway
        self.factory = factory
        self.indexer = indexer
        self.batch = batch
        self.in_flight = max(1, in_flight)  # settle transactions in flight at most (1: one at a time)
        self._block_gas: int | None = None
        self.lease = timedelta(seconds=lease_seconds)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock
        self.retries = Retries(factory, clock, base=retry_seconds, cap=retry_max_seconds)
        self.metrics = metrics or WorkerMetrics()
        self.stopping = threading.Event()
        self.cohorts = CohortSettler(self)
        self._held: dict[str, datetime] = {}  # leases we hold: when each was last taken or renewed
        self._settling = threading.Event()  # a service is being settled: the notice passes wait

    # --- one cycle ------------------------------------------------------------------------
    def run_once(self) -> CycleResult:
        result = CycleResult()
        self.indexer.sync()
        for service_id, job in self._jobs(result).items():
            if self.stopping.is_set():
                break
            if not self._acquire(service_id):
                result.skipped_services.append(service_id)
                continue
            try:
                self._settle_service(service_id, job, result)
                self._handled(job.outages)
                result.outages += len(job.outages)
            except Exception:
                log.exception("settling service %s failed; it is retried next cycle", service_id)
                result.failed_services.append(service_id)
                self.metrics.service_failures.inc()
            finally:
                self._release(service_id)
        if not self.stopping.is_set():
            result.cohorts = self.cohorts.run_once()
            result.transactions += result.cohorts.batches
        if not self.stopping.is_set() and self._acquire(EXPIRY_LEASE):
            try:
                self._close_lapsed(result)
                self._expire(result)
            except Exception as exc:
                log.exception("the expiry pass failed; it is retried next cycle")
                result.expiry_error = str(exc)
                self.metrics.service_failures.inc()
            finally:
                self._release(EXPIRY_LEASE)
        return result

    def _jobs(self, result: CycleResult) -> dict[str, _Job]:
        """Changed windows whose episode start is final at the read block, by service (the
        others stay pending and are looked at again next cycle), and policies due for a retry."""
        jobs: dict[str, _Job] = {}
        merge_gap, finality = self.gw.episode_params()
        now = self._read_time()
        with self.factory() as s:
            services = s.scalars(select(m.Outage.service_id).where(m.Outage.version > m.Outage.handled_version)
                                 .distinct()).all()
            windows = {sid: s.scalars(select(m.Outage).where(m.Outage.service_id == sid)).all() for sid in services}
        for service_id in sorted(windows):
            for episode in group(service_id, windows[service_id], merge_gap, finality):
                changed = [w for w in episode.windows if w.version > w.handled_version]  # type: ignore[attr-defined]
                if not changed:
                    continue
                if not episode.final(now):
                    result.awaiting_finality += len(changed)
                    wait = float(episode.final_at - now)
                    result.final_in = wait if result.final_in is None else min(result.final_in, wait)
                    continue
                job = jobs.setdefault(service_id, _Job())
                job.outages.extend((w.id, w.version) for w in changed)  # type: ignore[attr-defined]
                lo, hi = job.span or (episode.start, episode.end)
                job.span = (min(lo, episode.start), max(hi, episode.end))
        for service_id, ids in self.retries.due(SETTLE).items():
            jobs.setdefault(service_id, _Job()).retry = ids
        return jobs

    def _handled(self, outages: list[tuple[int, int]]) -> None:
        with transaction(self.factory) as s:
            for outage_id, version in outages:
                s.execute(update(m.Outage).where(m.Outage.id == outage_id, m.Outage.handled_version < version)
                          .values(handled_version=version))

    # --- settle ---------------------------------------------------------------------------
    def _candidates(self, service_id: str, job: _Job) -> list[m.Policy]:
        """Active policies on the service whose cover overlaps the new windows (a superset of
        the entitled ones: the chain applies waiting periods and thresholds), plus the
        policies due for a retry; none that is waiting out a backoff."""
        waiting = self.retries.waiting(SETTLE)
        with self.factory() as s:
            found: dict[int, m.Policy] = {}
            if job.span is not None:
                q = (select(m.Policy).join(m.Product, m.Product.id == m.Policy.product_id)
                     .where(m.Product.service_id == service_id, ACTIVE,
                            m.Policy.cover_start < job.span[1], m.Policy.cover_end > job.span[0]))
                found.update((p.id, p) for p in s.scalars(q))
            if job.retry:
                found.update((p.id, p) for p in s.scalars(select(m.Policy).where(m.Policy.id.in_(job.retry), ACTIVE)))
        return [found[i] for i in sorted(found) if i not in waiting]

    def _read_at(self) -> Any:
        """Entitlements are read at the block the projection reflects, so records match."""
        return "latest" if self.indexer.confirmations == 0 else self.indexer.block()

    def _read_time(self) -> int:
        """The chain time the worker's decisions are judged at: the read block's timestamp (a
        call there, and any transaction mined later, sees at least this time)."""
        return self.gw.block_time(self._read_at())

    def _due(self, policies: list[m.Policy]) -> list[m.Policy]:
        """Only policies whose on-chain entitlement exceeds what was already settled (read in
        JSON-RPC batches at the latest block where the node takes them, one call each otherwise)."""
        at = self._read_at()
        entitled = self._entitlements(policies, at)
        return [p for p, e in zip(policies, entitled, strict=True) if e > p.settled]

    def _entitlements(self, policies: list[m.Policy], at: Any) -> list[int]:
        # Encoded and decoded with eth_abi (`Calls`): web3's contract-function path cost ~7 ms a
        # policy, which at 10,000 covers delayed the first settle by over a minute.
        calls = Calls(self.gw.book, "entitlementOf")
        txs = [calls.tx(policy_record(p).as_tuple()) for p in policies]
        eth = self.gw.w3.eth
        if at == "latest" and len(txs) > 1 and self._batching is not False:
            out: list[int] = []
            try:
                for i in range(0, len(txs), 500):
                    out.extend(int(calls.result(v)) for v in self._call_batch(txs[i:i + 500]))
                self._batching = True
                return out
            except Exception as exc:  # a provider without batches (eth-tester): one call each from now on
                if self._batching:
                    raise
                log.info("JSON-RPC batches unavailable (%s); reading entitlements one call each", exc)
                self._batching = False
        return [int(calls.result(eth.call(tx, at))) for tx in txs]  # type: ignore[arg-type]

    _batching: bool | None = None

    def _call_batch(self, txs: list[dict[str, Any]]) -> list[bytes]:
        """`eth_call`s at the latest block in one JSON-RPC batch, straight to the provider: web3's
        request middleware (its transaction validator binds each call's arguments) cost more
        CPU than the call. A call's error fails the whole read, as web3's batch did."""
        responses = self.gw.w3.provider.make_batch_request(  # type: ignore[attr-defined]
            [("eth_call", [tx, "latest"]) for tx in txs])
        if not isinstance(responses, list):  # the node refused the batch as a whole
            raise ChainError(f"JSON-RPC batch refused: {responses.get('error')}")
        if len(responses) != len(txs):
            raise ChainError(f"JSON-RPC batch: {len(responses)} answers to {len(txs)} calls")
        out = []
        for r in responses:
            if "error" in r or not isinstance(r.get("result"), str):
                raise ChainError(f"entitlementOf: {r.get('error')}")
            out.append(bytes.fromhex(r["result"].removeprefix("0x")))
        return out

    def _reload(self, ids: list[int]) -> list[m.Policy]:
        with self.factory() as s:
            return list(s.scalars(select(m.Policy).where(m.Policy.id.in_(ids), ACTIVE)
                                  .order_by(m.Policy.id)))

    def _settle_service(self, service_id: str, job: _Job, result: CycleResult) -> None:
        self._settling.set()
        try:
            self._settle_service_now(service_id, job, result)
        finally:
            self._settling.clear()

    def _settle_service_now(self, service_id: str, job: _Job, result: CycleResult) -> None:
        started, before = time.monotonic(), len(result.settled)
        candidates = self._candidates(service_id, job)
        due_ids: set[int] = set()

        def due() -> Iterator[m.Policy]:
            for page in self._due_pages(candidates):
                due_ids.update(p.id for p in page)
                yield from page

        def send(chunk: list[m.Policy]) -> list[m.Policy]:
            return self._send(service_id, "settle", chunk, refresh=lambda ids: self._due(self._reload(ids)))

        try:
            if self.in_flight == 1:
                self._batches(SETTLE, list(due()), send, lambda _: service_id, result)
            else:
                self._pipelined(service_id, due(), send, result)
        finally:
            if due_ids:  # the phases, to tell slow reads from slow sends (README "Benchmarks")
                log.info("service %s: %d candidates, %d due; %d settled in %.1f s", service_id, len(candidates),
                         len(due_ids), len(result.settled) - before, time.monotonic() - started)
        self.retries.clear(SETTLE, [i for i in job.retry if i not in due_ids])  # nothing owed now

    def _due_pages(self, candidates: list[m.Policy]) -> Iterator[list[m.Policy]]:
        """`_due` of the candidates, `READ_PAGE` at a time, so the first settles go out while
        the rest are read (10,000 entitlement reads took over a minute on a loaded machine, all
        before the first settle). Against a JSON-RPC node the pages after the first are read
        ahead in a thread (web3's batches are per thread); otherwise (eth-tester) in turn."""
        pages = [candidates[i:i + READ_PAGE] for i in range(0, len(candidates), READ_PAGE)]
        if not pages:
            return
        yield self._due(pages[0])
        if self._batching is not True:
            for page in pages[1:]:
                yield self._due(page)
            return
        out: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
        done = threading.Event()

        def put(item: tuple[str, Any]) -> bool:  # False once the consumer is gone (its pass ended)
            while not done.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                for page in pages[1:]:
                    if not put(("page", self._due(page))):
                        return
                put(("end", None))
            except Exception as exc:  # handed to the consumer: the pass fails as a read there would
                put(("error", exc))

        reader = threading.Thread(target=read, name="entitlement-reads", daemon=True)
        reader.start()
        try:
            while True:
                kind, value = out.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            done.set()
            reader.join(timeout=30)

    def _prepared(self, chunks: Iterable[list[m.Policy]]) -> Iterator[_Prepared]:
        """Each chunk's settle call with its gas limit, estimated on the pending block (which is
        its simulation) `PREPARE_AHEAD` chunks ahead in threads, in order: the estimate is the
        node executing the settle several times (~0.1 s for 100 policies), and one after the
        other they kept blocks a third full. Chunks are disjoint and a settle reads only its own
        policies, so an estimate made before the chunks ahead of it are mined still holds. With
        the sender's fixed gas limit (no estimates) the limit is None: `broadcast` simulates; an
        estimate not made on the pending block (eth-tester) is not a simulation either."""
        sender = self.gw.sender

        def prepare(chunk: list[m.Policy]) -> _Prepared:
            fn = self.gw.book.functions.settle([p.id for p in chunk], [policy_record(p).as_tuple() for p in chunk])
            if sender.gas:
                return chunk, fn, (None, False), None
            fn = Encoded(fn)  # encoded here, once: the broadcast signs these bytes
            try:
                gas, simulated = sender.estimate(fn, self.gw.operator)
            except ContractsError as exc:
                return chunk, fn, (None, False), exc
            return chunk, fn, (Sender.limit(gas), simulated), None

        ahead: deque[Future[_Prepared]] = deque()
        first = True  # the first settle goes out as soon as it is estimated, before more is read
        with ThreadPoolExecutor(PREPARE_AHEAD, thread_name_prefix="settle-estimates") as pool:
            try:
                for chunk in chunks:
                    ahead.append(pool.submit(prepare, chunk))
                    if first or len(ahead) > PREPARE_AHEAD:
                        first = False
                        yield ahead.popleft().result()
                while ahead:
                    yield ahead.popleft().result()
            finally:
                for f in ahead:
                    f.cancel()

    def _depth(self, tx_gas: int) -> int:
        """Transactions in flight to fill about two blocks, at most `in_flight`."""
        if self._block_gas is None:
            self._block_gas = int(self.gw.w3.eth.get_block("latest")["gasLimit"])
        return max(2, min(self.in_flight, -(-2 * self._block_gas // max(tx_gas, 1))))

    def _pipelined(self, service_id: str, due: Iterable[m.Policy], send: Callable[[list[m.Policy]], list[m.Policy]],
                   result: CycleResult) -> None:
        """`due` in settle transactions kept in flight together; what fails is bisected after."""
        retry: list[list[m.Policy]] = []  # nothing of these was paid: bisect them on their own
        unknown: list[ChainError] = []  # broadcast, no receipt: may still land, never resent

        def landed(chunk: list[m.Policy], _: Any) -> None:
            result.transactions += 1
            result.settled.extend(p.id for p in chunk)
            self.metrics.settled.inc(len(chunk))
            self.retries.clear(SETTLE, [p.id for p in chunk])

        def failed(chunk: list[m.Policy], exc: Exception) -> None:
            if isinstance(exc, NoReceipt) and not isinstance(exc, NonceTaken):
                log.error("settle of policies %s: %s; left to a later cycle", [p.id for p in chunk], exc)
                unknown.append(chain_error(exc))
            elif isinstance(exc, ContractsError):
                retry.append(chunk)
            else:
                raise exc

        pipe = Pipeline(self.gw, self.in_flight, landed, failed)  # type: ignore[arg-type]
        try:
            for chunk, fn, (gas, simulated), refused in self._prepared(_chunks(due, self.batch)):
                if self.stopping.is_set():
                    break
                if refused is not None:  # refused before anything was sent (simulation, estimate)
                    retry.append(chunk)
                    continue
                if not self._renew(service_id):  # renewed per batch: it outlives every send under it
                    raise LeaseLost(f"lease {service_id} was taken over by another replica")
                try:
                    pending = pipe.submit(fn, self.gw.operator, chunk, gas, simulated=simulated)
                except ContractsError:  # refused before anything was sent (node, or a re-simulation)
                    retry.append(chunk)
                    continue
                if pending.tx is not None and "gas" in pending.tx:
                    pipe.depth = self._depth(int(pending.tx["gas"]))
        finally:
            pipe.drain()  # what was broadcast is awaited, even when stopping or the lease was lost
            self.indexer.sync()
        for chunk in retry:
            split = send_bisected(chunk, send)
            for sent in split.sent:
                landed(sent, None)
            for p, exc in split.failed:
                self._failed(SETTLE, p.id, service_id, exc, result.failed, result.deferred)
        if unknown:
            raise unknown[0]

    def _batches(self, action: str, due: list[m.Policy], send: Callable[[list[m.Policy]], list[m.Policy]],
                 service_of: Callable[[int], str], result: CycleResult) -> None:
        """Sends `due` in batches, bisecting a refused batch; books what was sent and what failed."""
        done, failed, metric = ((result.settled, result.failed, self.metrics.settled) if action == SETTLE
                                else (result.expired, result.expire_failed, self.metrics.expired))
        for i in range(0, len(due), self.batch):
            split = send_bisected(due[i:i + self.batch], send)
            for sent in split.sent:
                result.transactions += 1
                done.extend(p.id for p in sent)
                metric.inc(len(sent))
                self.retries.clear(action, [p.id for p in sent])
            for p, exc in split.failed:
                self._failed(action, p.id, service_of(p.id), exc, failed, result.deferred)

    def _send(self, lease: str, function: str, chunk: list[m.Policy],
              refresh: Callable[[list[int]], list[m.Policy]],
              args: Callable[[list[m.Policy]], tuple[Any, ...]] | None = None) -> list[m.Policy]:
        """One settle/expire (or closeLapsedClaim) transaction. A stale record (another writer
        moved the policy on) gets one catch-up of the projection and a resend of what is still owed."""
        if not self._renew(lease):  # renew: the lease must outlive every send made under it
            raise LeaseLost(f"lease {lease} was taken over by another replica")
        call = getattr(self.gw.book.functions, function)
        make = args or (lambda ps: ([p.id for p in ps], [policy_record(p).as_tuple() for p in ps]))
        try:
            self.gw.send(call(*make(chunk)))
        except ChainError as exc:
            if exc.type != STALE:
                raise
            self.indexer.sync()
            fresh = refresh([p.id for p in chunk])
            if not fresh:
                return []
            self.gw.send(call(*make(fresh)))
            chunk = fresh
        self.indexer.sync()
        return chunk

    def _failed(self, action: str, policy_id: int, service_id: str, exc: ChainError,
                failed: list[int], deferred: list[int]) -> None:
        if exc.type == STALE:
            self.retries.deferred(action, policy_id, service_id, exc.detail)
            deferred.append(policy_id)
            return
        row = self.retries.failed(action, policy_id, service_id, exc.detail)
        failed.append(policy_id)
        self.metrics.payout_failures.labels(action).inc()
        log.warning("%s of policy %d refused on its own (attempt %d); the rest of its batch proceeds, "
                    "it is retried at %s: %s", action, policy_id, row.attempts, row.next_attempt_at.isoformat(),
                    exc.detail)

    # --- lapsed claims ----------------------------------------------------------------------
    def _close_lapsed(self, result: CycleResult) -> None:
        """Closes every open claim past its decision deadline: deemed approved in full and paid
        (anyone may; the worker does so nobody has to). One transaction per claim; a refusal is
        logged, counted and retried with a backoff, and never stops the others or the expiry."""
        now = self._read_time()
        waiting = self.retries.waiting(LAPSE)
        with self.factory() as s:
            rows = s.execute(select(m.Claim.id, m.Policy, m.Product.service_id)
                             .join(m.Policy, m.Policy.id == m.Claim.policy_id)
                             .join(m.Product, m.Product.id == m.Policy.product_id)
                             .where(m.Claim.status == "open", m.Claim.deadline < now, ACTIVE)
                             .order_by(m.Claim.id)).all()
        for claim_id, policy, service_id in rows:
            if self.stopping.is_set():
                break
            if policy.id in waiting or policy.open_claim != claim_id:
                continue

            def send(chunk: list[m.Policy], claim_id: int = claim_id) -> list[m.Policy]:
                fresh = lambda ids: [p for p in self._reload(ids) if p.open_claim == claim_id]  # noqa: E731
                return self._send(EXPIRY_LEASE, "closeLapsedClaim", chunk, refresh=fresh,
                                  args=lambda ps: (claim_id, ps[0].id, policy_record(ps[0]).as_tuple()))

            try:
                sent = send([policy])
            except ChainError as exc:
                self._failed(LAPSE, policy.id, service_id, exc, result.lapse_failed, result.deferred)
                continue
            if sent:
                result.transactions += 1
                result.lapsed.append(claim_id)
                self.metrics.lapsed.inc()
                self.retries.clear(LAPSE, [policy.id])

    # --- expire ---------------------------------------------------------------------------
    def _expirable(self, ids: list[int] | None = None) -> list[tuple[m.Policy, str]]:
        """Active policies past cover end + grace, with their service. A policy with an open
        claim waits for the decision, so it is not sent."""
        now = self.gw.now()
        q = (select(m.Policy, m.Product.grace_seconds, m.Product.service_id)
             .join(m.Product, m.Product.id == m.Policy.product_id)
             .where(ACTIVE, m.Policy.open_claim == 0, m.Policy.cover_end < now))
        if ids is not None:
            q = q.where(m.Policy.id.in_(ids))
        with self.factory() as s:
            rows = s.execute(q.order_by(m.Policy.id)).all()
        return [(p, service) for p, grace, service in rows if p.cover_end + grace < now]

    def _expire(self, result: CycleResult) -> None:
        """Returns the collateral of policies past cover end + grace (the book settles what is
        left first)."""
        self.retries.prune()
        waiting = self.retries.waiting(EXPIRE)
        rows = [(p, service) for p, service in self._expirable() if p.id not in waiting]
        services = {p.id: service for p, service in rows}
        due = [p for p, _ in rows]

        def send(chunk: list[m.Policy]) -> list[m.Policy]:
            return self._send(EXPIRY_LEASE, "expire", chunk,
                              refresh=lambda ids: [p for p, _ in self._expirable(ids)])

        self._batches(EXPIRE, due, send, services.__getitem__, result)

    # --- lease ----------------------------------------------------------------------------
    def _acquire(self, service_id: str) -> bool:
        """Takes the lease, or extends it when we hold it already."""
        now = self.clock()
        try:
            with transaction(self.factory) as s:
                moved = s.execute(update(m.ServiceLease).where(
                    m.ServiceLease.service_id == service_id,
                    or_(m.ServiceLease.expires_at < now, m.ServiceLease.holder == self.name),
                ).values(holder=self.name, expires_at=now + self.lease))
                if moved.rowcount != 1:  # type: ignore[attr-defined]
                    if s.get(m.ServiceLease, service_id) is not None:
                        return False
                    s.add(m.ServiceLease(service_id=service_id, holder=self.name, expires_at=now + self.lease))
        except IntegrityError:
            return False
        self._held[service_id] = now
        return True

    def _renew(self, service_id: str) -> bool:
        """`_acquire` before each send under a lease we hold. The database busy past its timeout
        (SQLite: another process in a long write, e.g. the API's indexer applying thousands of
        payout logs) is not a lost lease: while our last renewal has more than half its term
        left, no replica can take it, so the sends go on (they failed the whole pass before,
        leaving the rest of the service's policies to a later cycle); past that, the error stands."""
        try:
            return self._acquire(service_id)
        except OperationalError:
            held = self._held.get(service_id)
            if held is None or self.clock() - held >= self.lease / 2:
                raise
            log.warning("lease %s: the database is busy; renewed %.0f s ago, it is still ours",
                        service_id, (self.clock() - held).total_seconds())
            return True

    def _release(self, service_id: str) -> None:
        self._held.pop(service_id, None)
        with transaction(self.factory) as s:
            s.execute(update(m.ServiceLease).where(m.ServiceLease.service_id == service_id,
                                                   m.ServiceLease.holder == self.name)
                      .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC)))

    # --- daemon ---------------------------------------------------------------------------
    def run_forever(self, interval: float = 5.0, extra: list[object] | None = None) -> str:
        """SIGTERM/SIGINT stop new work; an in-flight transaction is awaited by `send`. The
        `extra` passes (notices) run every `interval` in a thread of their own: between payout
        cycles they delayed a settlement by the length of a pass (seconds to tens of seconds at
        thousands of policies on a loaded machine: the due list, the expiring notices' first pass)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        passes = threading.Thread(target=self._passes, args=(interval, extra or []), name="worker-passes",
                                  daemon=True)
        if extra:
            passes.start()
        cycles = paid = failed = 0
        while not self.stopping.is_set():
            wait = interval
            try:
                r = self.run_once()
                cycles += 1
                paid += len(r.settled) + len(r.lapsed) + r.cohorts.paid
                failed += len(r.failed) + len(r.expire_failed) + len(r.lapse_failed)
                if r.final_in is not None:
                    # An outage becomes payable at a known chain time: the next cycle starts then
                    # (plus one block's worth of slack for the block carrying that time), not up
                    # to a whole interval later.
                    wait = min(interval, max(FINAL_POLL, r.final_in + FINAL_POLL))
            except Exception:
                log.exception("payout cycle failed; retrying after the interval")
            self.stopping.wait(wait)
        if passes.is_alive():
            passes.join(timeout=30)  # a pass under way ends; it sends nothing
        return (f"payout worker stopped after {cycles} cycles, {paid} policies settled, "
                f"{failed} policy failures")

    def _passes(self, interval: float, extra: list[object]) -> None:
        while not self.stopping.is_set():
            for job in extra:
                # Not while a service settles (up to PASS_YIELD_SECONDS): a pass is CPU in this
                # process (the due list at 10,000 policies), the GIL shared with the settle loop.
                deadline = time.monotonic() + PASS_YIELD_SECONDS
                while self._settling.is_set() and time.monotonic() < deadline and not self.stopping.is_set():
                    self.stopping.wait(0.2)
                if self.stopping.is_set():
                    break
                try:
                    job.run_once()  # type: ignore[attr-defined]
                except Exception:
                    log.exception("%s pass failed; retrying after the interval", type(job).__name__)
            self.stopping.wait(interval)
