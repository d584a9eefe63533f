"""The whole money path through the API: assessment → quote → policy → co-signed oracle
reports relayed → verified outage → worker → automatic payout; review → approve → paid."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.records import PolicyRecord
from service.db import models as m
from tests.chain import TEST_GAS, USD
from tests.service.helpers import HOUR, Api, incident_on_file, issue, outage, unique_service, worker


def test_outage_pays_automatically_once(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    ben = policy["beneficiary"]
    assert policy["status"] == "active"
    assert policy["tenant_id"] == tenant
    assert policy["paid"] == 0
    before = api.chain.balance(ben)

    verified = outage(api, service, 2 * HOUR + 1, headers)  # 2 started hours beyond the 1 h trigger
    assert verified["end"] - verified["start"] == 2 * HOUR + 1
    assert verified["tx_hash"].startswith("0x")
    listed = api.ok(api.c.get("/v1/outages", params={"service_id": verified["service_id"]}, headers=headers))
    assert [o["index"] for o in listed["windows"]] == [verified["index"]]
    assert verified["replaced"] == 0
    [episode] = listed["episodes"]
    assert (episode["start"], episode["down_seconds"], episode["windows"]) == (verified["start"], 2 * HOUR + 1, 1)
    assert episode["final"]
    assert episode["final_at"] <= listed["chain_time"]
    assert [p["status"] for p in api.ok(api.c.get("/v1/payouts", params={"policy_id": policy["id"]},
                                                  headers=headers))] == []

    result = worker(app).run_once()
    assert policy["id"] in result.settled
    assert api.chain.balance(ben) == before + 100 * USD
    got = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))
    assert (got["paid"], got["settled"]) == (100 * USD, 100 * USD)
    payouts = api.ok(api.c.get("/v1/payouts", params={"policy_id": policy["id"]}, headers=headers))
    assert [(p["amount"], p["status"], p["beneficiary"]) for p in payouts] == [(100 * USD, "sent", ben)]

    # A second cycle settles nothing (nothing new due: no transaction at all) ...
    sent = app.state.gateway.sender.sent
    again = worker(app).run_once()
    assert policy["id"] not in again.settled
    assert app.state.gateway.sender.sent == sent
    # ... and a second settle sent straight to the chain pays nothing.
    with app.state.factory() as s:
        record = PolicyRecord.of(s.get(m.Policy, policy["id"])).as_tuple()
    book = api.chain.book
    book.functions.settle([policy["id"]], [record]).transact({"from": api.chain.owner, "gas": TEST_GAS})
    assert api.chain.balance(ben) == before + 100 * USD

    # The same reports again: the window is already covered → 409 already_covered.
    dup = api.c.post("/v1/oracle/reports", json=api.chain.reports(service, verified["start"], verified["end"]),
                     headers=headers)
    assert dup.status_code == 409
    assert dup.json()["type"] == "already_covered"


def test_claim_above_auto_pay_goes_to_review_then_approval_pays(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    ben = policy["beneficiary"]
    before = api.chain.balance(ben)
    outage(api, service, 5 * HOUR, headers)  # 4 started hours: 200 USD, auto-pay limit 150
    worker(app).run_once()
    assert api.chain.balance(ben) == before + 150 * USD

    claims = api.ok(api.c.get("/v1/claims", params={"status": "open"}, headers=headers))
    [claim] = [c for c in claims if c["policy_id"] == policy["id"]]
    assert claim["amount"] == 50 * USD

    reviewer = api.staff("claims")
    not_incident = api.ok(api.c.get(f"/v1/assessments/{policy['report_hash']}", headers=api.admin), 404)
    assert not_incident["type"] == "not_found"
    bad = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": policy["report_hash"]},
                     headers=reviewer)
    assert bad.status_code == 400
    assert bad.json()["type"] == "invalid_incident_report"
    denied = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": policy["report_hash"]},
                        headers=headers)
    assert denied.status_code == 403
    assert denied.json()["type"] == "forbidden"

    # An incident report on another service of the same insured decides nothing here.
    elsewhere = api.chain.anchor_incident(f"incident elsewhere {service}", policy, unique_service())
    wrong = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": elsewhere}, headers=reviewer)
    assert wrong.status_code == 400
    assert wrong.json()["type"] == "invalid_incident_report"
    not_on_file = api.chain.anchor_incident(f"incident report for {service}", policy, service)
    refused = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": not_on_file}, headers=reviewer)
    assert (refused.status_code, refused.json()["type"]) == (400, "incident_report_not_on_file")
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=headers))["episodes"][0]
    incident = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    approved = api.ok(api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": incident},
                                 headers=reviewer))
    assert approved["status"] == "approved"
    assert approved["incident_report"] == incident
    assert api.chain.balance(ben) == before + 200 * USD
    again = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": incident}, headers=reviewer)
    assert again.status_code == 409
    assert again.json()["type"] == "claim_not_open"
    worker(app).run_once()
    assert api.chain.balance(ben) == before + 200 * USD
    assert api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))["paid"] == 200 * USD


def test_repeated_idempotency_key_returns_first_response_and_moves_nothing(api: Api, distributor) -> None:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service())
    quote = api.quote(prod["id"], assessment["id"], headers)
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "77" * 20, "holder_ref": "c-1"}
    keyed = {**headers, "Idempotency-Key": f"issue-{quote['id']}"}
    first = api.ok(api.c.post("/v1/policies", json=body, headers=keyed), 201)
    count = api.chain.book.functions.policyCount().call()
    paid_by = api.chain.balance(api.chain.operator)
    second = api.c.post("/v1/policies", json=body, headers=keyed)
    assert second.status_code == 201
    assert second.json() == first
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert api.chain.book.functions.policyCount().call() == count
    assert api.chain.balance(api.chain.operator) == paid_by
    other = api.c.post("/v1/policies", json={**body, "holder_ref": "c-2"}, headers=keyed)
    assert other.status_code == 422
    assert other.json()["type"] == "idempotency_key_reused"
    assert api.chain.book.functions.policyCount().call() == count


def test_quotes_decline_high_and_sub_limit_medium(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service())
    high = api.anchored_assessment(tenant, "high")
    q = api.quote(prod["id"], high["id"], headers)
    assert q["decision"] == "decline"
    assert "high" in q["reason"]
    assert q["premium"] is None
    medium = api.anchored_assessment(tenant, "medium")
    q = api.quote(prod["id"], medium["id"], headers)
    assert q["decision"] == "offer"
    assert q["premium"] == 9 * USD // 4  # 10.95 % a year on 250 USD for 30 days
    assert q["pricing"]["rate_ppm"] == 109_500
    assert q["limit"] == 250 * USD
    assert q["conditions"]
    declined = api.ok(api.c.post("/v1/policies", json={"quote_id": api.quote(prod["id"], high["id"], headers)["id"],
                                                       "beneficiary": "0x" + "66" * 20, "holder_ref": "x"},
                                 headers=headers), 409)
    assert declined["type"] == "quote_declined"


def test_batch_issuance_in_chunks(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    app.state.settings.issue_batch = 7  # force several issueBatch transactions
    try:
        assessment = api.anchored_assessment(tenant)
        prod = api.product(unique_service())
        quote = api.quote(prod["id"], assessment["id"], headers)
        covers = [{"beneficiary": "0x" + f"{i + 1:040x}", "holder_ref": f"cust-{i}"} for i in range(20)]
        out = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                                headers=headers), 201)
    finally:
        app.state.settings.issue_batch = 100
    issued = out["policies"]
    assert out["error"] is None
    assert len(issued) == 20
    assert len({p["id"] for p in issued}) == 20
    assert sorted(p["holder_ref"] for p in issued) == sorted(c["holder_ref"] for c in covers)
    page = api.ok(api.c.get("/v1/policies", params={"product_id": prod["id"], "limit": 8, "offset": 16},
                            headers=headers))
    assert page["total"] == 20
    assert len(page["items"]) == 4
    too_many = api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers * 51},
                          headers=headers)
    assert too_many.status_code == 422
    assert too_many.json()["type"] == "validation_error"


def test_idempotency_key_in_flight_is_refused(api: Api, app: FastAPI, distributor) -> None:
    """A repeat arriving while the first request is still sending gets 409, never a second issue."""
    from service.api.idempotency import _fingerprint
    from service.api.routes.policies import PolicyIn

    tenant, headers = distributor
    body = {"quote_id": "q" * 32, "beneficiary": "0x" + "33" * 20, "holder_ref": "r"}
    with app.state.factory.begin() as s:
        s.add(m.IdempotencyRecord(tenant_id=tenant, key="in-flight",
                                  request_hash=_fingerprint("POST", "/v1/policies", PolicyIn(**body))))
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "in-flight"})
    assert r.status_code == 409
    assert r.json()["type"] == "idempotency_in_progress"
    # A refusal is the stored outcome too: replayed, not re-run.
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "refused"})
    assert r.status_code == 404
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "refused"})
    assert r.status_code == 404
    assert r.headers.get("Idempotent-Replayed") == "true"


def test_batch_failing_midway_reports_what_was_issued(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service())
    quote = api.quote(prod["id"], assessment["id"], headers)
    covers = [{"beneficiary": "0x" + f"{i + 1:040x}", "holder_ref": f"c{i}"} for i in range(4)]
    covers[2]["beneficiary"] = "0x" + "00" * 20  # refused on-chain: PolicyBookZeroBeneficiary
    keyed = {**headers, "Idempotency-Key": f"batch-{quote['id']}"}
    app.state.settings.issue_batch = 2
    try:
        first = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                                  headers=keyed), 201)
        count = api.chain.book.functions.policyCount().call()
        again = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                                  headers=keyed), 201)
    finally:
        app.state.settings.issue_batch = 100
    assert [p["holder_ref"] for p in first["policies"]] == ["c0", "c1"]
    assert first["error"]["type"] == "zero_beneficiary"
    assert first["error"]["not_issued_from"] == 2
    assert again == first
    assert api.chain.book.functions.policyCount().call() == count
