"""Reviewing a claim (issue 13, item 4): GET /v1/claims/{id} against the chain (episodes, signers,
tx and block, evidence links on the oracle nodes, the incident report and its window, amount in
review, deadline), each approval refusal, and partial approvals against an independent model of
the money: repeated, concurrent, too large, and after the deadline, a claim pays exactly once and
exactly what was approved."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from contracts import eip712
from contracts.registry import incident_subject
from contracts.sender import send
from service.api.routes.claims import get_node_client
from service.db import models as m
from tests.chain import ORACLES, QUORUM, TEST_GAS, USD
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
    return service, policy, claim


@pytest.fixture
def nodes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Three oracle nodes behind a mock transport (no network): node 1 serves its signed reports,
    node 2 does not answer, node 3 serves another signer's reports. `state["reports"]` is what
    node 1 answers."""
    state: dict[str, Any] = {"reports": [], "asked": []}
    urls = {ORACLES[0].address: "http://node-1.test:8701/", ORACLES[1].address.lower(): "http://node-2.test:8702",
            ORACLES[2].address: "http://node-3.test:8703"}

    def handler(request: httpx.Request) -> httpx.Response:
        state["asked"].append(str(request.url))
        host = request.url.host
        if host == "node-2.test":
            raise httpx.ConnectError("connection refused", request=request)
        assert request.url.path == "/v1/reports"
        reports = state["reports"] if host == "node-1.test" else [
            {**r, "signer": ORACLES[3].address} for r in state["reports"]]
        return httpx.Response(200, json={"node": "0x" + "00" * 20, "reports": reports})

    monkeypatch.setattr(app.state.settings, "oracle_nodes", urls)
    app.dependency_overrides[get_node_client] = lambda: httpx.Client(transport=httpx.MockTransport(handler))
    try:
        yield state
    finally:
        app.dependency_overrides.pop(get_node_client, None)


def test_the_view_shows_the_episode_signers_evidence_incident_and_deadline(api: Api, app: FastAPI, distributor,
                                                                            nodes) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    sid = "0x" + eip712.service_id(service).hex()
    [verified] = api.chain.oracle.events.OutageVerified.get_logs(
        from_block=0, argument_filters={"serviceId": eip712.service_id(service)})
    start, end = verified["args"]["start"], verified["args"]["end"]
    nodes["reports"] = [
        {"episode_id": f"svc-x@{start - 60}", "target": "svc-x", "service_id": sid, "config_version": 1,
         "start": start - 60, "end": end, "ongoing": False, "seq": 4, "signer": ORACLES[0].address},
        {"episode_id": "svc-x@1", "target": "svc-x", "service_id": sid, "config_version": 1,  # an older episode
         "start": 1, "end": 2, "ongoing": False, "seq": 1, "signer": ORACLES[0].address},
    ]
    url = f"/v1/claims/{claim['id']}"
    view = api.ok(api.c.get(url, headers=distributor[1]))
    now = api.chain.now()

    # The episode and its windows are the chain's.
    [ep] = view["episodes"]
    [chain_ep] = [e for e in api.chain.oracle.functions.episodesIn(eip712.service_id(service), policy["cover_start"],
                                                                   policy["cover_end"], 10).call()[0] if e[1]]
    assert (ep["start"], ep["end"], ep["down_seconds"], ep["maintenance_seconds"]) == tuple(chain_ep[:4])
    assert (ep["start"], ep["end"]) == (start, end)
    assert ep["entitlement"] == 200 * USD  # 4 started hours beyond the 1 h trigger, 50 each
    assert ep["excluded_event"] is None and ep["ongoing"] is False
    [w] = ep["windows"]
    assert w["signers_bitmap"] == str(verified["args"]["signers"]) == str(2**QUORUM - 1)
    assert w["config_version"] == verified["args"]["configVersion"]
    assert (w["block"], w["tx"]) == (verified["blockNumber"], verified["transactionHash"].to_0x_hex())
    config = api.chain.oracle.functions.config().call()
    assert w["signers"] == [s for i, s in enumerate(config[2]) if verified["args"]["signers"] >> i & 1]
    assert w["signers"] == [o.address for o in ORACLES[:QUORUM]]
    with app.state.factory() as s:  # named through the projected OracleConfigSet, not the chain's fallback
        projected = s.get(m.OracleConfig, verified["args"]["configVersion"])
        assert projected is not None and (projected.signers, projected.quorum) == (list(config[2]), config[1])

    # Evidence per signer: resolved on node 1, unreachable node 2, nothing of this signer on node 3.
    links = {s["address"]: s["evidence"] for s in ep["signers"]}
    assert set(links) == {o.address for o in ORACLES[:QUORUM]}
    assert all(s["windows"] == [w["index"]] for s in ep["signers"])
    one = links[ORACLES[0].address]
    assert one["status"] == "resolved"
    assert one["url"] == f"http://node-1.test:8701/v1/evidence/svc-x%40{start - 60}?seq=4"
    assert (one["episode_id"], one["seq"], one["node"]) == (f"svc-x@{start - 60}", 4, "http://node-1.test:8701")
    assert one["reports_url"] == f"http://node-1.test:8701/v1/reports?service_id={sid}&since={start}"
    two = links[ORACLES[1].address]
    assert (two["status"], two["url"]) == ("unreachable", None)
    assert "ConnectError" in two["error"]
    assert links[ORACLES[2].address]["status"] == "not_found"

    # No incident report on file yet; money and deadline.
    inc = view["incident"]
    assert (inc["on_file"], inc["anchor_id"], inc["verification"]["approvable"]) == (False, None, False)
    assert "not_on_file" in inc["verification"]["problems"]
    assert (view["in_review"], view["auto_pay_limit"], view["policy_paid"]) == (50 * USD, 150 * USD, 150 * USD)
    d = view["deadlines"]
    assert d["decision_deadline"] == claim["deadline"] == api.chain.book.functions.claim(claim["id"]).call()[3]
    assert d["seconds_left"] == claim["deadline"] - now and d["passed"] is False

    # The list shows the same claim without asking the nodes.
    asked = len(nodes["asked"])
    [listed] = [c for c in api.ok(api.c.get("/v1/claims", headers=distributor[1])) if c["id"] == claim["id"]]
    assert len(nodes["asked"]) == asked
    assert {s["evidence"]["status"] for s in listed["episodes"][0]["signers"]} == {"not_resolved"}
    assert listed["episodes"][0]["windows"] == ep["windows"]

    # An incident report on file about the episode's window: shown with its verification and window.
    anchor_id = incident_on_file(api, app, policy, service, start + 600, end - 600)
    inc = api.ok(api.c.get(url, headers=distributor[1]))["incident"]
    assert (inc["on_file"], inc["anchor_id"], inc["anchored"]) == (True, anchor_id, True)
    assert inc["outage"] == {"service_id": sid, "start": start + 600, "end": end - 600}
    assert inc["quantified_loss"] == {"currency": "USD", "total_minor": 500_00}
    assert inc["verification"] == {"anchored": True, "live": True, "incident_kind": True, "bound": True,
                                   "window_overlaps_claim": True, "approvable": True, "problems": [],
                                   "detail": None}
    assert inc["expected_subject"] == "0x" + incident_subject(bytes.fromhex(policy["subject"][2:]),
                                                              eip712.service_id(service)).hex()

    # Decided: nothing left in review, the deadline no longer counts down, the used report shown.
    done = api.ok(api.c.post(f"{url}/approve", json={"incident_report": anchor_id, "amount": 30 * USD},
                             headers=api.staff("claims")))
    assert (done["in_review"], done["deadlines"]["seconds_left"], done["incident"]["anchor_id"]) == (0, None, anchor_id)
    assert done["policy_paid"] == 180 * USD


def test_each_approval_refusal(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    reviewer = api.staff("claims")
    url = f"/v1/claims/{claim['id']}/approve"
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))["episodes"][0]
    before = api.chain.balance(policy["beneficiary"])

    def refused(report: str, kind: str, status: int = 400) -> None:
        r = api.c.post(url, json={"incident_report": report, "amount": 10 * USD}, headers=reviewer)
        assert r.status_code == status, r.text
        assert r.json()["type"] == kind
        assert r.json()["detail"]

    # Anchored on-chain for the right subject and service, but its document is not on file here.
    refused(api.chain.anchor_incident(f"chain only {service}", policy, service), "incident_report_not_on_file")
    # On file, but for another service of the same insured (the chain's binding refuses it).
    refused(incident_on_file(api, app, policy, unique_service(), ep["start"], ep["end"]), "invalid_incident_report")
    # On file, never anchored.
    refused(incident_on_file(api, app, policy, service, ep["start"], ep["end"], anchored=False),
            "invalid_incident_report")
    # The underwriting report: live, bound to another subject, not an incident report.
    refused(policy["report_hash"], "invalid_incident_report")
    # Bound and on file, but its window lies outside every episode of the claim (touching is not overlapping).
    refused(incident_on_file(api, app, policy, service, ep["end"], ep["end"] + HOUR), "incident_outside_outage")
    refused(incident_on_file(api, app, policy, service, ep["start"] - HOUR, ep["start"]), "incident_outside_outage")
    # Bound to this service, but it states a window of another service.
    refused(incident_on_file(api, app, policy, service, ep["start"], ep["end"], outage_service=unique_service()),
            "incident_outside_outage")
    # A revoked report no longer decides anything.
    revoked = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    send(api.chain.w3, api.chain.registry.functions.revoke(bytes.fromhex(revoked[2:])), api.chain.assessor,
         gas=TEST_GAS)
    refused(revoked, "invalid_incident_report")
    assert api.chain.balance(policy["beneficiary"]) == before
    ok = incident_on_file(api, app, policy, service, ep["end"] - 1, ep["end"] + HOUR)  # one second inside
    done = api.ok(api.c.post(url, json={"incident_report": ok, "amount": 10 * USD}, headers=reviewer))
    assert (done["status"], done["approved"]) == ("approved", 10 * USD)
    assert api.chain.balance(policy["beneficiary"]) == before + 10 * USD


# --- the money: an independent model of one claim ----------------------------------------------

@dataclass
class ClaimModel:
    """What the beneficiary must hold: the auto-paid part, plus exactly one decision's amount
    (approval: what was approved, ≤ the claim; rejection: nothing; lapse: the whole claim)."""

    held: int
    claim: int
    deadline: int
    status: str = "open"

    def approve(self, amount: int, now: int) -> str | None:
        """The refusal type, or None when it pays."""
        if self.status != "open":
            return "claim_not_open"
        if now > self.deadline:
            return "claim_deadline_passed"
        if amount > self.claim:
            return "invalid_approval_amount"
        self.status, self.held = "approved", self.held + amount
        return None

    def lapse(self, now: int) -> bool:
        if self.status != "open" or now <= self.deadline:
            return False
        self.status, self.held = "lapsed", self.held + self.claim
        return True


def paid_on_chain(api: Api, policy_id: int) -> int:
    return sum(e["args"]["amount"] for e in api.chain.book.events.PayoutSent.get_logs(
        from_block=0, argument_filters={"policyId": policy_id}))


def test_concurrent_approvals_pay_exactly_one_of_them_once(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))["episodes"][0]
    report = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    model = ClaimModel(api.chain.balance(policy["beneficiary"]), claim["amount"], claim["deadline"])
    assert paid_on_chain(api, policy["id"]) == model.held
    reviewers = [api.staff("claims") for _ in range(3)]
    amounts = [10 * USD, 20 * USD, 30 * USD, 40 * USD, 50 * USD, 51 * USD, 20 * USD, 50 * USD]

    def attempt(i: int) -> tuple[int, int, dict[str, Any]]:
        body = {"incident_report": report, "amount": amounts[i], "reason": f"decision {i}"}
        r = api.c.post(f"/v1/claims/{claim['id']}/approve", json=body, headers=reviewers[i % 3])
        return i, r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=len(amounts)) as pool:
        results = list(pool.map(attempt, range(len(amounts))))
    winners = [(i, body) for i, code, body in results if code == 200]
    assert len(winners) == 1, results
    [(won, body)] = winners
    assert model.approve(amounts[won], api.chain.now()) is None
    for i, code, body_ in results:
        if i == won:
            continue
        assert (code, body_["type"]) in {(409, "claim_not_open"), (409, "claim_decision_in_progress"),
                                         (400, "invalid_approval_amount")}, (i, code, body_)
        if amounts[i] > claim["amount"]:
            assert body_["type"] in ("invalid_approval_amount", "claim_not_open")
    assert (body["approved"], body["declined"]) == (amounts[won], claim["amount"] - amounts[won])
    got = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))
    assert (got["status"], got["approved"], got["reason"]) == ("approved", amounts[won], f"decision {won}")
    assert api.chain.balance(policy["beneficiary"]) == model.held == paid_on_chain(api, policy["id"])
    [decided] = api.chain.book.events.ClaimApproved.get_logs(from_block=0, argument_filters={"claimId": claim["id"]})
    assert decided["args"]["amount"] == amounts[won]

    # Repeated afterwards, with and without the same idempotency key, and the worker: nothing more.
    again = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": report}, headers=reviewers[0])
    assert (again.status_code, again.json()["type"]) == (409, model.approve(claim["amount"], api.chain.now()))
    worker(app).run_once()
    assert api.chain.balance(policy["beneficiary"]) == model.held == paid_on_chain(api, policy["id"])
    with app.state.factory() as s:
        assert s.get(m.ClaimNote, claim["id"]).reason == f"decision {won}"


def test_repeated_and_oversized_approvals_then_the_exact_amount(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))["episodes"][0]
    report = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    model = ClaimModel(api.chain.balance(policy["beneficiary"]), claim["amount"], claim["deadline"])
    reviewer = api.staff("claims")
    url = f"/v1/claims/{claim['id']}/approve"

    for amount in (claim["amount"] + 1, 2**96 - 1):  # more than the claim: refused, nothing moves
        r = api.c.post(url, json={"incident_report": report, "amount": amount}, headers=reviewer)
        assert (r.status_code, r.json()["type"]) == (400, model.approve(amount, api.chain.now()))
    for amount in (0, -1, 2**96):
        assert api.c.post(url, json={"incident_report": report, "amount": amount}, headers=reviewer).status_code == 422
    assert api.chain.balance(policy["beneficiary"]) == model.held

    keyed = {**reviewer, "Idempotency-Key": f"approve-{claim['id']}"}
    first = api.c.post(url, json={"incident_report": report, "amount": 37 * USD}, headers=keyed)
    assert first.status_code == 200 and model.approve(37 * USD, api.chain.now()) is None
    replay = api.c.post(url, json={"incident_report": report, "amount": 37 * USD}, headers=keyed)
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (200, "true")
    assert replay.json() == first.json()
    for amount in (37 * USD, 13 * USD, claim["amount"]):  # a fresh request: the claim is decided
        r = api.c.post(url, json={"incident_report": report, "amount": amount}, headers=reviewer)
        assert (r.status_code, r.json()["type"]) == (409, model.approve(amount, api.chain.now()))
    worker(app).run_once()
    assert api.chain.balance(policy["beneficiary"]) == model.held == paid_on_chain(api, policy["id"])
    assert api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=distributor[1]))["paid"] == model.held


def test_after_the_deadline_no_approval_pays_and_the_lapse_pays_once(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor, claim_seconds=HOUR)
    ep = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))["episodes"][0]
    report = incident_on_file(api, app, policy, service, ep["start"], ep["end"])
    model = ClaimModel(api.chain.balance(policy["beneficiary"]), claim["amount"], claim["deadline"])
    reviewer = api.staff("claims")
    api.chain.travel(claim["deadline"] - api.chain.now() + 1)
    api.chain.tester.mine_blocks(1)  # chain time (the latest block) is past the deadline
    view = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=distributor[1]))
    assert (view["deadlines"]["passed"], view["deadlines"]["seconds_left"], view["in_review"]) == (True, 0, 50 * USD)
    for amount in (10 * USD, claim["amount"], claim["amount"] + 1):
        r = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": report, "amount": amount},
                       headers=reviewer)
        assert (r.status_code, r.json()["type"]) == (409, model.approve(amount, api.chain.now()))
    assert api.chain.balance(policy["beneficiary"]) == model.held
    assert claim["id"] in worker(app).run_once().lapsed and model.lapse(api.chain.now())
    assert worker(app).run_once().lapsed == [] and not model.lapse(api.chain.now())
    r = api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": report}, headers=reviewer)
    assert (r.status_code, r.json()["type"]) == (409, model.approve(claim["amount"], api.chain.now()))
    assert api.chain.balance(policy["beneficiary"]) == model.held == paid_on_chain(api, policy["id"])
    with app.state.factory() as s:
        row = s.scalar(select(m.Claim).where(m.Claim.id == claim["id"]))
        assert (row.status, row.approved) == ("lapsed", claim["amount"])


def test_up_gives_the_api_and_worker_each_local_node_by_its_signer(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from eth_account import Account

    from service.commands.up import oracle_nodes_env
    from service.settings import Settings
    from service.stack.nodes import Target, node_config

    signers = [Account.create().address for _ in range(3)]
    ports = [9101, 9102, 9103]
    monkeypatch.setenv("CYBERCOVER_ORACLE_NODES", oracle_nodes_env(signers, ports))
    got = Settings().oracle_nodes
    assert got == {s: f"http://127.0.0.1:{p}" for s, p in zip(signers, ports, strict=True)}
    for i, s in enumerate(signers):  # the URL is where `up` makes that signer's node listen
        cfg = node_config(i, tmp_path, ports, "http://127.0.0.1:9000", 31337, "0x" + "11" * 20, signers,
                          [Target("https://covered.example/health", 60)], lambda _: None)
        assert got[s] == f"http://127.0.0.1:{cfg.node.listen_port}"


# --- the approval cap: the incident report's quantified loss ------------------------------------

def cap_model(total_minor: int, digits: int, decimals: int, claim: int, same_currency: bool) -> int:
    """Independent of the service's arithmetic: the loss as an exact fraction of the currency's
    major unit, in token units rounded down, then no more than the claim."""
    from fractions import Fraction
    from math import floor

    if not same_currency:
        return claim
    return min(claim, floor(Fraction(total_minor, 10**digits) * 10**decimals))


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 2**96), currency=st.sampled_from(["USD", "JPY", "KWD", "CLF", "EUR"]),
       token_currency=st.sampled_from(["USD", "JPY", "KWD", "CLF"]), decimals=st.integers(0, 18),
       claim=st.integers(1, 2**96 - 1))
def test_the_cap_equals_an_independent_model(total: int, currency: str, token_currency: str, decimals: int,
                                             claim: int) -> None:
    from service.domain.claim_view import approval_cap

    digits = {"USD": 2, "EUR": 2, "JPY": 0, "KWD": 3, "CLF": 4}[currency]
    report = {"incident": {"losses": {"currency": currency, "total_minor": total}}}
    cap = approval_cap(report, claim, token_currency, decimals)
    assert cap["amount"] == cap_model(total, digits, decimals, claim, currency == token_currency)
    assert cap["basis"] == ("quantified_loss" if cap["amount"] < claim else "claim")
    assert approval_cap(report, claim, None, None)["amount"] == claim  # not configured: the claim
    assert approval_cap(None, claim, token_currency, decimals)["amount"] == claim


def test_approval_is_capped_by_the_quantified_loss_in_token_units(api: Api, app: FastAPI, distributor,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    service, policy, claim = open_claim(api, app, distributor)  # a 50 USD claim
    headers, reviewer = distributor[1], api.staff("claims")
    view_url, url = f"/v1/claims/{claim['id']}", f"/v1/claims/{claim['id']}/approve"
    ep = api.ok(api.c.get(view_url, headers=headers))["episodes"][0]
    report = incident_on_file(api, app, policy, service, ep["start"], ep["end"], loss_minor=20_00)  # 20.00 USD
    held = api.chain.balance(policy["beneficiary"])

    cap = api.ok(api.c.get(view_url, headers=headers))["approval_cap"]  # no token currency configured
    assert (cap["amount"], cap["basis"], cap["token_currency"]) == (claim["amount"], "claim", None)
    assert cap["quantified_loss"] == {"currency": "USD", "total_minor": 20_00, "token_units": None}
    assert "CYBERCOVER_TOKEN_CURRENCY" in cap["detail"]

    monkeypatch.setattr(app.state.settings, "token_currency", "USD")
    monkeypatch.setattr(app.state.settings, "token_decimals", 6)
    cap = api.ok(api.c.get(view_url, headers=headers))["approval_cap"]
    assert (cap["amount"], cap["basis"], cap["claim"]) == (20 * USD, "quantified_loss", 50 * USD)
    assert cap["quantified_loss"]["token_units"] == 20 * USD
    for body in ({"incident_report": report, "amount": 20 * USD + 1}, {"incident_report": report}):
        r = api.c.post(url, json=body, headers=reviewer)  # above the loss (the default is the whole claim)
        assert (r.status_code, r.json()["type"]) == (400, "approval_above_quantified_loss"), r.text
        assert str(20 * USD) in r.json()["detail"]
    assert api.chain.balance(policy["beneficiary"]) == held
    # A report in another currency is not converted: the view states the claim as the cap.
    incident_on_file(api, app, policy, service, ep["start"], ep["end"], loss_minor=10_00, currency="EUR")
    cap = api.ok(api.c.get(view_url, headers=headers))["approval_cap"]
    assert (cap["amount"], cap["basis"]) == (claim["amount"], "claim") and "EUR" in cap["detail"]
    assert cap["quantified_loss"] == {"currency": "EUR", "total_minor": 10_00, "token_units": None}

    done = api.ok(api.c.post(url, json={"incident_report": report, "amount": 20 * USD}, headers=reviewer))
    assert (done["status"], done["approved"], done["declined"]) == ("approved", 20 * USD, 30 * USD)
    assert done["approval_cap"]["amount"] == 20 * USD  # the decision's report
    worker(app).run_once()
    assert api.chain.balance(policy["beneficiary"]) == held + 20 * USD
