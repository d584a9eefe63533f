"""Claims that end (issue 9, item 5) through the API: a partial approval against the incident
report bound to the insured subject and the service, a rejection with a written reason and no
incident report, and a claim nobody decided closed by the payout worker after its deadline."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from fastapi import FastAPI

from service.db import models as m
from tests.chain import USD
from tests.service.helpers import HOUR, Api, incident_on_file, issue, outage, unique_service, worker


def open_claim(api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]],
               **product: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A per-hour policy (50 an hour, auto-pay 150) and a 5 h outage: 150 paid, a 50 claim open."""
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service, **product)
    outage(api, service, 5 * HOUR, headers)
    worker(app).run_once()
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", params={"status": "open"}, headers=headers))
               if c["policy_id"] == policy["id"]]
    assert claim["amount"] == 50 * USD
    assert claim["deadline"] > api.chain.now()
    assert api.chain.balance(policy["beneficiary"]) == 150 * USD
    return service, policy, claim


def test_partial_approval_pays_the_approved_amount_and_declines_the_rest(api: Api, app: FastAPI,
                                                                          distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    reviewer = api.staff("claims")
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))["episodes"][0]
    incident = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    url = f"/v1/claims/{claim['id']}/approve"

    too_much = api.c.post(url, json={"incident_report": incident, "amount": 51 * USD}, headers=reviewer)
    assert too_much.status_code == 400
    assert too_much.json()["type"] == "invalid_approval_amount"
    assert api.c.post(url, json={"incident_report": incident, "amount": 0}, headers=reviewer).status_code == 422
    # An incident report of the same insured but another service does not decide this claim.
    elsewhere = api.chain.anchor_incident(f"elsewhere {service}", policy, unique_service())
    wrong = api.c.post(url, json={"incident_report": elsewhere, "amount": 20 * USD}, headers=reviewer)
    assert wrong.status_code == 400
    assert wrong.json()["type"] == "invalid_incident_report"

    reason = "30 USD of the downtime fell in the announced maintenance window"
    done = api.ok(api.c.post(url, json={"incident_report": incident, "amount": 20 * USD, "reason": reason},
                             headers=reviewer))
    assert (done["status"], done["approved"], done["declined"]) == ("approved", 20 * USD, 30 * USD)
    assert done["incident_report"] == incident
    assert done["reason"] == reason
    assert done["reason_hash"] is None
    assert api.chain.balance(policy["beneficiary"]) == 170 * USD
    got = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=distributor[1]))
    assert (got["paid"], got["settled"], got["open_claim"]) == (170 * USD, 200 * USD, 0)
    assert api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1])) == done
    again = api.c.post(url, json={"incident_report": incident}, headers=reviewer)
    assert again.status_code == 409
    assert again.json()["type"] == "claim_not_open"
    worker(app).run_once()  # the declined part is never paid later
    assert api.chain.balance(policy["beneficiary"]) == 170 * USD


def test_rejection_needs_only_a_written_reason(api: Api, app: FastAPI, distributor) -> None:
    _, policy, claim = open_claim(api, app, distributor)
    reviewer = api.staff("claims")
    url = f"/v1/claims/{claim['id']}/reject"
    missing = api.c.post(url, json={}, headers=reviewer)
    assert missing.status_code == 422
    assert "reason" in missing.json()["detail"]

    reason = "the insured reported the outage as a planned migration"
    done = api.ok(api.c.post(url, json={"reason": reason}, headers=reviewer))  # no incident report at all
    assert (done["status"], done["approved"], done["declined"]) == ("rejected", None, 50 * USD)
    assert done["reason"] == reason
    assert done["reason_hash"] == "0x" + keccak(text=reason).hex()
    assert done["incident_report"] is None
    [event] = api.chain.book.events.ClaimRejected.get_logs(from_block=0, argument_filters={"claimId": claim["id"]})
    assert event["args"]["reason"] == keccak(text=reason)
    assert event["args"]["amount"] == 50 * USD
    with app.state.factory() as s:
        note = s.get(m.ClaimNote, claim["id"])
        assert note is not None
        assert note.action == "reject"
        assert note.decided_by
    assert api.chain.balance(policy["beneficiary"]) == 150 * USD
    listed = api.ok(api.c.get("/v1/claims", params={"status": "rejected"}, headers=distributor[1]))
    assert [c["id"] for c in listed if c["policy_id"] == policy["id"]] == [claim["id"]]
    again = api.c.post(url, json={"reason": reason}, headers=reviewer)
    assert again.status_code == 409
    assert again.json()["type"] == "claim_not_open"


def test_undecided_claim_lapses_and_the_worker_pays_it(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor, claim_seconds=HOUR)
    reviewer = api.staff("claims")
    incident = api.chain.anchor_incident(f"late {service}", policy, service)
    # Nobody decides within the hour; the worker does not touch a claim still in its decision time.
    assert claim["id"] not in worker(app).run_once().lapsed
    api.chain.travel(HOUR + 1)

    late = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": incident}, headers=reviewer)
    assert late.status_code == 409
    assert late.json()["type"] == "claim_deadline_passed"
    late = api.c.post(f"/v1/claims/{claim['id']}/reject", json={"reason": "too late"}, headers=reviewer)
    assert late.status_code == 409
    assert late.json()["type"] == "claim_deadline_passed"

    result = worker(app).run_once()
    assert result.lapsed == [claim["id"]]
    assert result.lapse_failed == []
    assert api.chain.balance(policy["beneficiary"]) == 200 * USD  # deemed approved in full
    closed = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))
    assert (closed["status"], closed["approved"], closed["declined"]) == ("lapsed", 50 * USD, 0)
    got = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=distributor[1]))
    assert (got["paid"], got["open_claim"]) == (200 * USD, 0)
    assert worker(app).run_once().lapsed == []  # closed once
    assert api.chain.balance(policy["beneficiary"]) == 200 * USD
    lapsed = api.ok(api.c.get("/v1/claims", params={"status": "lapsed"}, headers=distributor[1]))
    assert claim["id"] in [c["id"] for c in lapsed]
