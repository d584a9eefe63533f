"""The payout worker: batches of 50, a lease per service against racing replicas, and no
transaction at all when nothing new is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI

from contracts import eip712
from contracts.reverts import ContractRevert
from service.chain.gateway import Gateway, chain_error
from service.db import models as m
from service.errors import ChainError
from service.worker.bisect import send_bisected
from service.worker.payouts import PayoutWorker
from tests.chain import USD
from tests.service.helpers import HOUR, Api, outage, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


def test_settles_in_batches_of_50(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service, payout_kind="fixed", amount=20 * USD)
    quote = api.quote(prod["id"], assessment["id"], headers)
    covers = [{"beneficiary": "0x" + keccak(text=f"{service}/{i}")[:20].hex(), "holder_ref": f"c{i}"}
              for i in range(60)]
    issued = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                               headers=headers), 201)["policies"]
    outage(api, service, 2 * HOUR, headers)
    state = app.state
    w = PayoutWorker(state.gateway, state.factory, state.indexer, batch=50)
    first = state.gateway.w3.eth.block_number + 1
    result = w.run_once()
    ids = {p["id"] for p in issued}
    assert ids <= set(result.settled)
    # The 60 went out in 2 settle transactions (the cycle may also settle or expire covers that
    # earlier tests left on the shared chain).
    paid = [e for e in state.gateway.book.events.PayoutSent.get_logs(from_block=first) if e["args"]["policyId"] in ids]
    assert {e["args"]["policyId"] for e in paid} == ids
    assert len({e["transactionHash"] for e in paid}) == 2
    assert all(api.chain.balance(c["beneficiary"]) == 20 * USD for c in covers)


def test_replicas_do_not_race_for_a_service(api: Api, app: FastAPI, distributor) -> None:
    from tests.service.helpers import issue

    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    before = api.chain.balance(policy["beneficiary"])
    outage(api, service, 2 * HOUR + 1, headers)
    state = app.state
    a = PayoutWorker(state.gateway, state.factory, state.indexer, name="replica-a")
    b = PayoutWorker(state.gateway, state.factory, state.indexer, name="replica-b")
    service_id = api.ok(api.c.get(f"/v1/products/{policy['product_id']}", headers=headers))["service_id"]
    assert a._acquire(service_id)  # replica A is settling this service right now
    sent = state.gateway.sender.sent
    blocked = b.run_once()
    assert service_id in blocked.skipped_services
    assert policy["id"] not in blocked.settled  # (another test's leftover cover on the shared chain may be)
    assert api.chain.balance(policy["beneficiary"]) == before
    done = a.run_once()  # A holds the lease, so it may proceed
    assert policy["id"] in done.settled
    assert api.chain.balance(policy["beneficiary"]) == before + 100 * USD
    # Lease released; B now finds nothing due and sends nothing.
    sent = state.gateway.sender.sent
    assert b.run_once().settled == []
    assert state.gateway.sender.sent == sent
    assert api.chain.balance(policy["beneficiary"]) == before + 100 * USD


def test_expiry_returns_collateral_after_grace(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service(), grace_seconds=60)
    quote = api.quote(prod["id"], assessment["id"], headers, cover_seconds=120)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "44" * 20, "holder_ref": "short"}
    policy = api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)
    pool = app.state.gateway.pool.functions
    state = app.state
    w = PayoutWorker(state.gateway, state.factory, state.indexer)
    assert policy["id"] not in w.run_once().expired  # still in cover
    locked = pool.lockedCapital().call()
    api.chain.travel(120 + 60 + 10)
    assert policy["id"] in w.run_once().expired
    assert pool.lockedCapital().call() == locked - 500 * USD
    assert api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))["status"] == "expired"
    assert policy["id"] not in w.run_once().expired


def test_stale_projection_sends_nothing(api: Api, app: FastAPI, distributor) -> None:
    """Another party settled on-chain and our projection lags: the simulation refuses the stale
    record (PolicyMismatch) before anything is signed; the worker catches up and sends nothing."""
    from contracts.records import PolicyRecord
    from service.db import models as m
    from tests.chain import TEST_GAS
    from tests.service.helpers import issue

    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR + 1, headers)
    state = app.state
    with state.factory() as s:
        stale = s.get(m.Policy, policy["id"])
    api.chain.book.functions.settle([policy["id"]], [PolicyRecord.of(stale).as_tuple()]).transact(
        {"from": api.chain.owner, "gas": TEST_GAS})  # someone else settles first

    class LaggingIndexer:
        """Skips the cycle's first sync, as if this replica had not seen the block yet."""

        confirmations = 0

        def __init__(self) -> None:
            self.calls = 0

        def sync(self) -> int:
            self.calls += 1
            return 0 if self.calls == 1 else state.indexer.sync()

    w = PayoutWorker(state.gateway, state.factory, LaggingIndexer())  # type: ignore[arg-type]
    sent = state.gateway.sender.sent
    result = w.run_once()
    assert policy["id"] not in result.settled
    assert state.gateway.sender.sent == sent
    assert result.failed_services == []
    assert result.failed == []
    assert api.chain.balance(policy["beneficiary"]) == 100 * USD


# --- finding 4: one payee that cannot receive blocks nobody else ------------------------------

class RefusingGateway:
    """The real chain, except that a settle or expire batch holding a refused payee's policy
    reverts as a blacklisting token makes it revert; `down` services fail like a dead RPC."""

    def __init__(self, inner: Gateway, refused: set[int], down: set[int] | None = None) -> None:
        self.inner = inner
        self.refused = refused
        self.down = down or set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _refuse(self, fn: Any) -> None:
        if fn.fn_name in ("settle", "expire"):
            ids = set(fn.args[0])
            if ids & self.down:
                raise ConnectionError("connection refused")
            if ids & self.refused:
                raise ContractRevert("Error", {"message": "ERC20: recipient is blocked"})

    def send(self, fn: Any, account: Any = None, **kw: Any) -> Any:
        try:
            self._refuse(fn)
        except ContractRevert as exc:
            raise chain_error(exc) from None
        return self.inner.send(fn, account, **kw)

    def broadcast(self, fn: Any, account: Any = None, *gas: Any, **kw: Any) -> Any:  # the worker's pipeline
        self._refuse(fn)
        return self.inner.broadcast(fn, account, *gas, **kw)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def fixed_covers(api: Api, distributor: tuple[str, dict[str, str]], service: str, n: int,
                 **body: Any) -> list[dict[str, Any]]:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service, payout_kind="fixed", amount=20 * USD, **body.pop("product", {}))
    quote = api.quote(prod["id"], assessment["id"], headers, **body.pop("quote", {}))
    covers = [{"beneficiary": "0x" + keccak(text=f"{service}/{i}")[:20].hex(), "holder_ref": f"c{i}"}
              for i in range(n)]
    return list(api.ok(api.c.post("/v1/policies/batch?wait=true",
                                  json={"quote_id": quote["id"], "covers": covers, **body}, headers=headers),
                       201)["policies"])


def test_finding4_failing_payee_batch_is_bisected_others_paid(api: Api, app: FastAPI, distributor) -> None:
    """One payee in a batch of 10 cannot receive: the batch is bisected down to that policy,
    the nine others are paid in the same cycle, and the refused one is retried with a backoff
    (not every cycle) until it can be paid."""
    _, headers = distributor
    service = unique_service()
    policies = fixed_covers(api, distributor, service, 10)
    blocked = policies[3]
    outage(api, service, 2 * HOUR, headers)
    state = app.state
    gw = RefusingGateway(state.gateway, refused={blocked["id"]})
    clock = Clock()
    w = PayoutWorker(gw, state.factory, state.indexer, batch=50, clock=clock,  # type: ignore[arg-type]
                     retry_seconds=60, retry_max_seconds=600)

    first = w.run_once()
    others = [p for p in policies if p is not blocked]
    assert sorted(first.settled) == sorted(p["id"] for p in others)
    assert first.failed == [blocked["id"]]
    assert first.failed_services == []
    assert first.transactions == 4  # halves of 10 → 5 paid; 5 → 2 paid + 3 → 1 paid + 2 → 1 paid + refused
    assert all(api.chain.balance(p["beneficiary"]) == 20 * USD for p in others)
    assert api.chain.balance(blocked["beneficiary"]) == 0
    assert w.metrics.payout_failures.labels("settle")._value.get() == 1
    with state.factory() as s:
        row = s.get(m.PayoutRetry, (blocked["id"], "settle"))
        assert row is not None
        assert row.attempts == 1
        assert "recipient is blocked" in row.last_error
        assert row.next_attempt_at == clock.now + timedelta(seconds=60)

    sent = state.gateway.sender.sent
    assert w.run_once().failed == []
    assert state.gateway.sender.sent == sent
    clock.advance(61)
    assert w.run_once().failed == [blocked["id"]]  # retried once the backoff elapsed; doubled
    with state.factory() as s:
        row = s.get(m.PayoutRetry, (blocked["id"], "settle"))
        assert row is not None
        assert row.attempts == 2
        assert row.next_attempt_at == clock.now + timedelta(seconds=120)

    gw.refused.clear()  # the payee can receive again
    clock.advance(121)
    last = w.run_once()
    assert blocked["id"] in last.settled  # (with any other test's leftover on the shared chain)
    assert last.failed == []
    assert api.chain.balance(blocked["beneficiary"]) == 20 * USD
    assert all(api.chain.balance(p["beneficiary"]) == 20 * USD for p in others)  # nobody paid twice
    with state.factory() as s:
        assert s.get(m.PayoutRetry, (blocked["id"], "settle")) is None


def test_finding4_expiry_runs_despite_failing_service(api: Api, app: FastAPI, distributor) -> None:
    """A service whose settlement fails outright (here its RPC calls die) is skipped for the
    cycle: later services are still paid, and expiry still runs, with an expiring policy whose
    payee cannot receive bisected out of its batch."""
    _, headers = distributor
    failing, healthy, short = unique_service(), unique_service(), unique_service()
    [down] = fixed_covers(api, distributor, failing, 1)
    [paid] = fixed_covers(api, distributor, healthy, 1)
    expiring = fixed_covers(api, distributor, short, 3, quote={"cover_seconds": 120}, product={"grace_seconds": 60})
    outage(api, failing, 2 * HOUR, headers)  # first in the cycle's order
    outage(api, healthy, 2 * HOUR, headers)  # ...and both far past the short covers' grace
    state = app.state
    refused = expiring[1]
    gw = RefusingGateway(state.gateway, refused={refused["id"]}, down={down["id"]})
    locked = state.gateway.pool.functions.lockedCapital().call()
    w = PayoutWorker(gw, state.factory, state.indexer, batch=50)  # type: ignore[arg-type]

    result = w.run_once()
    assert result.failed_services == ["0x" + eip712.service_id(failing).hex()]
    assert paid["id"] in result.settled
    assert down["id"] not in result.settled
    assert api.chain.balance(paid["beneficiary"]) == 20 * USD
    assert api.chain.balance(down["beneficiary"]) == 0
    assert {expiring[0]["id"], expiring[2]["id"]} <= set(result.expired)
    assert refused["id"] not in result.expired
    assert result.expire_failed == [refused["id"]]
    assert result.expiry_error is None
    assert state.gateway.pool.functions.lockedCapital().call() <= locked - 2 * 500 * USD
    # The failed service's outage was not marked handled: the next cycle settles it.
    gw.down.clear()
    again = w.run_once()
    assert again.settled == [down["id"]]
    assert api.chain.balance(down["beneficiary"]) == 20 * USD


def test_bisection_isolates_each_failing_item() -> None:
    bad = {3, 7, 8}
    calls: list[list[int]] = []

    def send(batch: list[int]) -> list[int]:
        calls.append(batch)
        if bad & set(batch):
            raise ChainError("refused", type="error", status=400)
        return batch

    split = send_bisected(list(range(10)), send)
    assert sorted(i for b in split.sent for i in b) == [i for i in range(10) if i not in bad]
    assert [i for i, _ in split.failed] == [3, 7, 8]
    with pytest.raises(ChainError):  # an unknown outcome is never bisected (it may be mined)
        send_bisected([1, 2], lambda b: (_ for _ in ()).throw(ChainError("t", type="no_receipt")))


def test_a_busy_database_does_not_lose_a_lease_renewed_less_than_half_its_term_ago(app: FastAPI, monkeypatch) -> None:
    """A long write in another process (SQLite: the API indexing thousands of payouts) made the
    renewal before a settle fail, and with it the whole pass; the lease renewed recently is ours."""
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError

    from service.worker import payouts

    state, clock = app.state, Clock()
    a = PayoutWorker(state.gateway, state.factory, state.indexer, lease_seconds=120, clock=clock, name="a")
    b = PayoutWorker(state.gateway, state.factory, state.indexer, lease_seconds=120, clock=clock, name="b")
    lease = unique_service()
    assert a._acquire(lease)
    real = payouts.transaction

    @contextmanager
    def busy(factory: Any) -> Any:
        raise OperationalError("UPDATE service_leases", {}, Exception("database is locked"))
        yield

    monkeypatch.setattr(payouts, "transaction", busy)
    clock.advance(59)
    assert a._renew(lease)  # renewed 59 s ago: 61 s of its term left, no replica can take it
    with pytest.raises(OperationalError):
        b._renew(lease)  # never held by b: the error stands
    monkeypatch.setattr(payouts, "transaction", real)
    assert not b._acquire(lease)  # indeed still a's
    assert a._renew(lease)  # renewed now: the term counts from here
    monkeypatch.setattr(payouts, "transaction", busy)
    clock.advance(60)
    with pytest.raises(OperationalError):
        a._renew(lease)  # half its term gone: no longer sure it is ours
    monkeypatch.setattr(payouts, "transaction", real)
    a._release(lease)


def test_a_long_notice_pass_never_holds_up_the_payout_loop(app: FastAPI, monkeypatch) -> None:
    """The notice passes ran between payout cycles: a pass of tens of seconds (thousands of
    policies on a loaded machine) delayed the settlement of an outage final meanwhile."""
    import signal
    import threading

    from service.worker.payouts import CycleResult

    state = app.state
    w = PayoutWorker(state.gateway, state.factory, state.indexer)
    cycles: list[int] = []
    released = threading.Event()
    outcome: dict[str, Any] = {}

    class SlowPass:
        def run_once(self) -> None:
            if "waited" not in outcome:
                outcome["waited"] = released.wait(30)  # True only if the payout loop went on meanwhile
                outcome["cycles"] = len(cycles)

    def cycle() -> CycleResult:
        cycles.append(1)
        if len(cycles) == 5:
            released.set()
        if len(cycles) >= 5 and "waited" in outcome:
            w.stopping.set()
        return CycleResult()

    monkeypatch.setattr(w, "run_once", cycle)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        w.run_forever(0.01, [SlowPass()])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert outcome["waited"] and outcome["cycles"] >= 5


def test_the_worker_looks_again_when_an_outage_becomes_final(app: FastAPI, monkeypatch) -> None:
    """A cycle that saw an episode becoming final in `final_in` seconds (chain time) is followed
    by the next one then (+ FINAL_POLL), not a whole interval later; without one, the interval."""
    import signal

    from service.worker.payouts import FINAL_POLL, CycleResult

    state = app.state
    w = PayoutWorker(state.gateway, state.factory, state.indexer)
    results = iter([CycleResult(final_in=2.0), CycleResult(), CycleResult(final_in=0.0),
                    CycleResult(final_in=600.0)])
    waits: list[float] = []

    def wait(timeout: float) -> bool:
        waits.append(timeout)
        if len(waits) == 4:
            w.stopping.set()
        return w.stopping.is_set()

    monkeypatch.setattr(w, "run_once", lambda: next(results))
    monkeypatch.setattr(w.stopping, "wait", wait)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        w.run_forever(5.0)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert waits == [2.0 + FINAL_POLL, 5.0, FINAL_POLL, 5.0]


def test_concurrent_syncs_in_one_process_apply_a_page_once(api: Api, app: FastAPI, monkeypatch) -> None:
    """The API's request threads each synced the same page in a write transaction (one won the
    cursor, the others were rolled back as races), keeping SQLite's write lock for the others."""
    import threading
    import time

    indexer = app.state.indexer
    indexer.sync()
    api.chain.tester.mine_blocks(2)  # new blocks: a page to apply
    applied: list[int] = []
    apply = indexer._apply_range

    def slow(*args: Any, **kw: Any) -> int:
        applied.append(1)
        time.sleep(0.3)  # both threads are inside sync meanwhile
        return apply(*args, **kw)

    monkeypatch.setattr(indexer, "_apply_range", slow)
    threads = [threading.Thread(target=indexer.sync) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(applied) == 1
