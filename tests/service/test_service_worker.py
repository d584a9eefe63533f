"""The payout worker: batches of 50, a lease per service against racing replicas, and no
transaction at all when nothing new is due."""

from __future__ import annotations

from eth_utils import keccak
from fastapi import FastAPI

from service.worker.payouts import PayoutWorker
from tests.chain import USD
from tests.service.api_env import HOUR, Api, outage, unique_service


def test_settles_in_batches_of_50(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service, payout_kind="fixed", amount=20 * USD)
    quote = api.quote(prod["id"], assessment["id"], headers)
    covers = [{"beneficiary": "0x" + keccak(text=f"{service}/{i}")[:20].hex(), "holder_ref": f"c{i}"}
              for i in range(60)]
    issued = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers},
                               headers=headers), 201)["policies"]
    outage(api, service, 2 * HOUR, headers)
    state = app.state
    w = PayoutWorker(state.gateway, state.factory, state.indexer, batch=50)
    sent = state.gateway.sender.sent
    result = w.run_once()
    assert sorted(result.settled) == sorted(p["id"] for p in issued)
    assert result.transactions == 2 and state.gateway.sender.sent == sent + 2
    assert all(api.chain.balance(c["beneficiary"]) == 20 * USD for c in covers)


def test_replicas_do_not_race_for_a_service(api: Api, app: FastAPI, distributor) -> None:
    from tests.service.api_env import issue

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
    assert service_id in blocked.skipped_services and policy["id"] not in blocked.settled
    assert state.gateway.sender.sent == sent and api.chain.balance(policy["beneficiary"]) == before
    done = a.run_once()  # A holds the lease, so it may proceed
    assert policy["id"] in done.settled
    assert api.chain.balance(policy["beneficiary"]) == before + 100 * USD
    # Lease released; B now finds nothing due and sends nothing.
    sent = state.gateway.sender.sent
    assert b.run_once().settled == [] and state.gateway.sender.sent == sent
    assert api.chain.balance(policy["beneficiary"]) == before + 100 * USD


def test_expiry_returns_collateral_after_grace(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service(), grace_seconds=60)
    quote = api.quote(prod["id"], assessment["id"], headers)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "44" * 20, "holder_ref": "short", "cover_seconds": 120}
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
    from service.chain.records import as_tuple
    from service.db import models as m
    from tests.chain import TEST_GAS
    from tests.service.api_env import issue

    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR + 1, headers)
    state = app.state
    with state.factory() as s:
        stale = s.get(m.Policy, policy["id"])
    api.chain.book.functions.settle([policy["id"]], [as_tuple(stale)]).transact(
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
    assert policy["id"] not in result.settled and state.gateway.sender.sent == sent
    assert result.failed_services == [] and result.failed == []
    assert api.chain.balance(policy["beneficiary"]) == 100 * USD
