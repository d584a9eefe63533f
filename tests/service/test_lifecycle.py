"""Cancellation, renewal and aggregate caps through the API, against the chain.

Money properties checked here (the contract's own property tests are in tests/contracts):
- a cancellation refunds floor(premium × (coverEnd − max(t, coverStart)) / (coverEnd − coverStart))
  less the product's fee (not below 0) at the block time t of the cancel, never more than the
  premium, and releases the policy's collateral exactly once whatever the caller repeats;
- a policy with an outage in progress or after a payout is never cancelled;
- a renewal starts exactly at the old cover end, is issued at most once, and pays an outage in
  the first hours of the new cover (no second waiting period).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.records import PolicyRecord
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_sessionmaker
from service.errors import ServiceError
from tests.chain import USD
from tests.service.conftest import fresh_engine
from tests.service.helpers import (
    HOUR,
    RATES,
    Api,
    assessment_body,
    issue,
    outage,
    product_body,
    unique_service,
    worker,
)
from tests.service.test_reindex import snapshot

DAY = 86400
YEAR = 365 * DAY
LIMIT = 500 * USD


def premium(limit: int, rate_ppm: int, seconds: int) -> int:
    """Exposure pricing without a score adjustment, rounded up (service.domain.pricing's rule)."""
    return -(-limit * rate_ppm * seconds // (10**6 * YEAR))


def pool(api: Api) -> dict[str, int]:
    p = api.chain.dep.contract(api.chain.w3, "CoverPool")
    return {"locked": int(p.functions.lockedCapital().call()), "free": int(p.functions.freeCapital().call())}


def tx_time(api: Api, tx: str) -> int:
    receipt = api.chain.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    return int(api.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def expected_refund(premium: int, start: int, end: int, at: int, fee: int) -> int:
    """The cancellation rule, written out independently of the contract."""
    unexpired = end - max(at, start)
    return max(0, premium * unexpired // (end - start) - fee)


def cancel(api: Api, policy: dict[str, Any], headers: dict[str, str], status: int = 200, **body: Any) -> Any:
    return api.ok(api.c.post(f"/v1/policies/{policy['id']}/cancel", json=body or None, headers=headers), status)


def renew(api: Api, policy: dict[str, Any], headers: dict[str, str], status: int = 201, **body: Any) -> Any:
    return api.ok(api.c.post(f"/v1/policies/{policy['id']}/renew", json=body or None, headers=headers), status)


# --- cancellation ---------------------------------------------------------------------------

def test_cancel_refunds_the_unexpired_share_less_the_fee_and_releases_once(api: Api, distributor) -> None:
    tenant, headers = distributor
    fee = USD // 3
    prod, policy = issue(api, tenant, headers, unique_service(), cancellation_fee=fee)
    assert prod["cancellation_fee"] == fee
    api.chain.travel(7 * DAY + 12_345)
    before, issuer_before = pool(api), api.chain.balance(policy["issuer"])
    done = cancel(api, policy, headers, reason="customer left")
    at = tx_time(api, done["cancel_tx"])
    refund = expected_refund(policy["premium"], policy["cover_start"], policy["cover_end"], at, fee)
    assert 0 < refund < policy["premium"]
    assert done["status"] == "cancelled"
    assert done["refund"] == refund
    assert done["released"] == LIMIT
    assert api.chain.balance(policy["issuer"]) == issuer_before + refund
    after = pool(api)
    assert after["locked"] == before["locked"] - LIMIT
    assert after["free"] == before["free"] + LIMIT - refund
    # Again: refused, and nothing moves a second time.
    again = cancel(api, policy, headers, 409)
    assert again["type"] == "policy_not_active"
    assert pool(api) == after
    assert api.chain.balance(policy["issuer"]) == issuer_before + refund
    shown = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))
    assert (shown["status"], shown["refund"], shown["payouts"]) == ("cancelled", refund, [])
    listed = api.ok(api.c.get("/v1/policies", params={"status": "cancelled"}, headers=headers))["items"]
    assert [p["id"] for p in listed] == [policy["id"]]


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(elapsed=st.integers(min_value=60, max_value=31 * DAY), fee=st.integers(min_value=0, max_value=6 * USD),
       repeats=st.integers(min_value=1, max_value=3))
def test_refund_never_exceeds_the_premium_and_collateral_is_released_once(api: Api, distributor, elapsed: int,
                                                                          fee: int, repeats: int) -> None:
    """The adversary picks when to cancel (past cover end too), the fee (above the premium too)
    and how often to ask; the outcome matches the model and moves money at most once."""
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service(), cancellation_fee=fee)
    api.chain.travel(elapsed)
    before, issuer_before = pool(api), api.chain.balance(policy["issuer"])
    answers = [api.c.post(f"/v1/policies/{policy['id']}/cancel", headers=headers) for _ in range(repeats)]
    first = answers[0]
    if first.status_code == 409:  # only past the cover end
        assert first.json()["type"] == "cover_ended"
        assert api.chain.now() >= policy["cover_end"]
        assert pool(api) == before
        return
    body = first.json()
    at = tx_time(api, body["cancel_tx"])
    assert at < policy["cover_end"]
    refund = expected_refund(policy["premium"], policy["cover_start"], policy["cover_end"], at, fee)
    assert body["refund"] == refund <= policy["premium"]
    assert [a.status_code for a in answers[1:]] == [409] * (repeats - 1)
    assert pool(api) == {"locked": before["locked"] - LIMIT, "free": before["free"] + LIMIT - refund}
    assert api.chain.balance(policy["issuer"]) == issuer_before + refund


def test_cancel_refused_while_an_outage_is_in_progress(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    start = api.chain.now() + 60
    api.chain.travel(60 + HOUR + 60)
    api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(service, start, start + HOUR, ongoing=True),
                      headers=headers))
    locked = pool(api)["locked"]
    refused = cancel(api, policy, headers, 409)
    assert refused["type"] == "outage_in_progress"
    assert "ongoing" in refused["detail"]
    # Ended, but its start is not final yet / it could still merge with a next window.
    api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(service, start, start + HOUR + 30),
                      headers=headers))
    assert cancel(api, policy, headers, 409)["type"] == "outage_in_progress"
    # The chain refuses it too, by the same name (a race the projection lost).
    app.state.indexer.sync()
    gw = app.state.gateway
    with app.state.factory() as s:
        record = PolicyRecord.of(s.get(m.Policy, policy["id"])).as_tuple()
    with pytest.raises(ServiceError) as refused_on_chain:
        gw.send(gw.book.functions.cancel(policy["id"], record))
    assert (refused_on_chain.value.status, refused_on_chain.value.type) == (409, "outage_in_progress")
    assert pool(api)["locked"] == locked


def test_cancel_refused_after_a_payout(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR + 1, headers)
    worker(app).run_once()
    api.chain.travel(HOUR)  # past the merge gap: only the payout stands in the way
    paid = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))
    assert paid["paid"] > 0
    assert [p["amount"] for p in paid["payouts"]] == [paid["paid"]]
    assert paid["payouts"][0]["tx"].startswith("0x")
    refused = cancel(api, policy, headers, 409)
    assert refused["type"] == "policy_has_payout"


def test_cancel_access(api: Api, distributor) -> None:
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service())
    other = api.key(api.tenant(), "distributor")
    assert cancel(api, policy, other, 404)["type"] == "not_found"
    auditor = api.staff("auditor")
    assert cancel(api, policy, auditor, 403)["type"] == "forbidden"
    assert cancel(api, {"id": 2**62}, headers, 404)["type"] == "not_found"
    assert cancel(api, policy, headers, 422, reason="")["type"] == "validation_error"
    assert cancel(api, policy, headers, 422, note="x")["type"] == "validation_error"
    # The insurer's underwriter may cancel any tenant's policy.
    assert cancel(api, policy, api.staff("underwriter"))["status"] == "cancelled"


def test_cancel_is_idempotent_by_key(api: Api, distributor) -> None:
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service())
    keyed = {**headers, "Idempotency-Key": f"cancel-{policy['id']}"}
    first = api.c.post(f"/v1/policies/{policy['id']}/cancel", headers=keyed)
    second = api.c.post(f"/v1/policies/{policy['id']}/cancel", headers=keyed)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()


# --- renewal --------------------------------------------------------------------------------

def assess_again(api: Api, tenant: str, first: dict[str, Any], level: str) -> dict[str, Any]:
    """A new anchored assessment of the same organisation, committing to the same subject."""
    body = assessment_body(level, tenant_id=tenant, subject_salt=first["subject_salt"])
    a = api.ok(api.c.post("/v1/assessments", json=body, headers=api.admin), 201)
    assert a["subject"] == first["subject"]
    return dict(api.ok(api.c.post(f"/v1/assessments/{a['id']}/anchor", headers=api.admin)))


def insured(api: Api, tenant: str, headers: dict[str, str], service: str, **product: Any) -> tuple[dict, dict, dict]:
    """A 2-day policy on a fresh assessment whose salt the test keeps (to assess the subject again)."""
    created = api.ok(api.c.post("/v1/assessments", json=assessment_body(tenant_id=tenant), headers=api.admin), 201)
    api.ok(api.c.post(f"/v1/assessments/{created['id']}/anchor", headers=api.admin))
    prod = api.product(service, **product)
    quote = api.quote(prod["id"], created["id"], headers, cover_seconds=2 * DAY)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + keccak(text=service)[:20].hex(), "holder_ref": "c-1"}
    policy = api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)
    return created, prod, policy


def test_subject_salt_keeps_the_subject(api: Api, distributor) -> None:
    tenant, _ = distributor
    first = api.ok(api.c.post("/v1/assessments", json=assessment_body(tenant_id=tenant), headers=api.admin), 201)
    again = api.ok(api.c.post("/v1/assessments", json=assessment_body(tenant_id=tenant,
                                                                       subject_salt=first["subject_salt"]),
                              headers=api.admin), 201)
    fresh = api.ok(api.c.post("/v1/assessments", json=assessment_body(tenant_id=tenant), headers=api.admin), 201)
    assert again["subject"] == first["subject"] != fresh["subject"]
    assert again["subject_salt"] == first["subject_salt"]
    bad = api.ok(api.c.post("/v1/assessments", json=assessment_body(tenant_id=tenant, subject_salt="0x12"),
                            headers=api.admin), 422)
    assert "subject_salt" in bad["detail"]


def test_renewal_has_no_gap_no_waiting_period_and_happens_once(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, prod, old = insured(api, tenant, headers, service, waiting_seconds=DAY)
    new = renew(api, old, headers)
    assert new["cover_start"] == old["cover_end"]
    assert new["cover_end"] - new["cover_start"] == old["cover_end"] - old["cover_start"]
    assert (new["renewal_of"], new["limit"], new["product_id"]) == (old["id"], LIMIT, prod["id"])
    assert new["premium"] == old["premium"] == premium(LIMIT, RATES["low"], 2 * DAY)
    assert (new["holder"], new["subject"], new["beneficiary"]) == (old["holder"], old["subject"], old["beneficiary"])
    shown = api.ok(api.c.get(f"/v1/policies/{old['id']}", headers=headers))
    assert (shown["renewed_by"], shown["status"]) == (new["id"], "active")
    again = renew(api, old, headers, 409)
    assert again["type"] == "already_renewed"
    assert str(new["id"]) in again["detail"]
    # An outage in the first hours of the new cover pays: the waiting period applied once, to the old.
    api.chain.travel(old["cover_end"] - api.chain.now() + 60)
    outage(api, service, 2 * HOUR + 1, headers)
    worker(app).run_once()
    after_new = api.ok(api.c.get(f"/v1/policies/{new['id']}", headers=headers))
    after_old = api.ok(api.c.get(f"/v1/policies/{old['id']}", headers=headers))
    assert after_new["paid"] > 0
    assert after_old["paid"] == 0


def test_renewal_at_a_worse_level_reprices_and_high_declines(api: Api, distributor) -> None:
    tenant, headers = distributor
    first, _, old = insured(api, tenant, headers, unique_service())
    assess_again(api, tenant, first, "medium")
    medium = renew(api, old, headers)
    # The medium rate on the medium sub-limit (half the product limit), over the same 2 days.
    assert (medium["premium"], medium["limit"]) == (premium(250 * USD, RATES["medium"], 2 * DAY), 250 * USD)
    assert medium["premium"] > old["premium"]
    assess_again(api, tenant, first, "high")
    declined = renew(api, medium, headers, 409)
    assert declined["type"] == "renewal_declined"
    assert "high" in declined["detail"]
    assert api.ok(api.c.get(f"/v1/policies/{medium['id']}", headers=headers))["renewed_by"] is None


def test_renewal_bad_input(api: Api, distributor) -> None:
    tenant, headers = distributor
    _, _, old = insured(api, tenant, headers, unique_service())
    other = api.product(unique_service())
    wrong = renew(api, old, headers, 400, product_id=other["id"])
    assert wrong["type"] == "service_mismatch"
    assert renew(api, old, headers, 422, cover_seconds=10)["type"] == "validation_error"
    assert renew(api, old, headers, 404, product_id=2**32 - 1)["type"] == "not_found"
    assert renew(api, old, api.key(api.tenant(), "distributor"), 404)["type"] == "not_found"
    cancel(api, old, headers)
    assert renew(api, old, headers, 409)["type"] == "policy_not_active"


def test_reindex_rebuilds_cancelled_and_renewed_policies(api: Api, app: FastAPI, backend: str,
                                                        tmp_path: Path) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    _, _, old = insured(api, tenant, headers, unique_service())
    new = renew(api, old, headers)
    cancelled = cancel(api, new, headers)
    assert cancelled["status"] == "cancelled"
    app.state.indexer.sync()
    before = snapshot(app.state.factory)
    engine = fresh_engine(backend, tmp_path, schema="cybercover_lifecycle_reindex")
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        Indexer(app.state.gateway, factory).rebuild()
        assert snapshot(factory) == before
    finally:
        engine.dispose()


# --- caps -----------------------------------------------------------------------------------

def test_service_cap_and_event_cap_bind_at_issuance(api: Api, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    prod, _ = issue(api, tenant, headers, service, event_cap=LIMIT)
    underwriter = api.staff("underwriter")
    sid = prod["service_id"]
    shown = api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=headers))
    assert (shown["event_cap"], shown["event_exposure"], shown["service_exposure"], shown["service_cap"]) == (
        LIMIT, LIMIT, LIMIT, 0)
    # A second per-unit policy would make one episode able to pay 2 × the limit.
    assessment = api.anchored_assessment(tenant)
    quote = api.quote(prod["id"], assessment["id"], headers)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "77" * 20, "holder_ref": "c-2"}
    assert api.ok(api.c.post("/v1/policies", json=body, headers=headers), 409)["type"] == "event_cap_exceeded"
    # The service cap counts across products of the service.
    capped = api.ok(api.c.put(f"/v1/services/{sid}/cap", json={"cap": LIMIT + 1}, headers=underwriter))
    assert (capped["cap"], capped["exposure"], capped["products"]) == (LIMIT + 1, LIMIT, [prod["id"]])
    second = api.product(service)
    quote = api.quote(second["id"], assessment["id"], headers)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "78" * 20, "holder_ref": "c-3"}
    assert api.ok(api.c.post("/v1/policies", json=body, headers=headers), 409)["type"] == "service_cap_exceeded"
    assert api.ok(api.c.get(f"/v1/products/{second['id']}", headers=headers))["service_cap"] == LIMIT + 1
    api.ok(api.c.put(f"/v1/services/{sid}/cap", json={"cap": 0}, headers=underwriter))
    assert api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)["product_id"] == second["id"]
    assert api.ok(api.c.get(f"/v1/services/{sid}/cap", headers=headers))["exposure"] == 2 * LIMIT


def test_service_cap_bad_input_and_access(api: Api, distributor) -> None:
    _, headers = distributor
    underwriter = api.staff("underwriter")
    sid = "0x" + "ab" * 32
    assert api.ok(api.c.put(f"/v1/services/{sid}/cap", json={"cap": 1}, headers=headers), 403)["type"] == "forbidden"
    for bad in ({"cap": -1}, {"cap": 2**128}, {"cap": True}, {}):
        assert api.ok(api.c.put(f"/v1/services/{sid}/cap", json=bad, headers=underwriter), 422)["detail"]
    assert api.ok(api.c.put("/v1/services/0x12/cap", json={"cap": 1}, headers=underwriter), 422)["detail"]
    for bad in ({"event_cap": -1}, {"cancellation_fee": 2**96}):
        body = {**product_body(unique_service()), **bad}
        assert api.ok(api.c.post("/v1/products", json=body, headers=api.admin), 422)["detail"]
