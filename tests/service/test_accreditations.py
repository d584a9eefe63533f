"""Assessor accreditation (issue 13, item 6): Appendix B scores → a proposal, reviewed by a second
accreditor, then `setAssessor` through the governance timelock.

Properties:
- nothing reaches the chain before confirm + execute: proposing sends no transaction, confirming
  only schedules (the capability is unchanged through the whole delay), and a rejected or
  same-reviewer proposal never changes it;
- the capability set on-chain equals the engine's, and the engine's equals an independent model
  (Appendix B: the plain sum of the ten 0–10 sub-items; ≥ 85 preferred, ≥ 70 qualified);
- one open accreditation per assessor; 4xx with a type for every refusal.

Every test accredits fresh random addresses: the service's own assessor is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import to_checksum_address
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import governance
from contracts.sender import send
from service.assessment.provider import APPENDIX_B
from tests.chain import TEST_GAS
from tests.service.helpers import GOVERNANCE_DELAY, Api, Chain

CRITERIA = [(d.id, c.id) for d in APPENDIX_B for c in d.criteria]


def scores(values: list[int] | int) -> dict[str, dict[str, int]]:
    vals = values if isinstance(values, list) else [values] * len(CRITERIA)
    out: dict[str, dict[str, int]] = {}
    for (dim, crit), v in zip(CRITERIA, vals, strict=True):
        out.setdefault(dim, {})[crit] = v
    return out


def model(values: list[int]) -> tuple[int, str]:
    """Independent of the engine: Appendix B's weights (30/30/20/20 % over 3/3/2/2 sub-items) make
    each sub-item point worth one point of the 0–100 total."""
    total = sum(values)
    return total, "preferred" if total >= 85 else "qualified" if total >= 70 else "not_accredited"


def fresh() -> str:
    return to_checksum_address("0x" + os.urandom(20).hex())


def capability(chain: Chain, who: str) -> int:
    return int(chain.registry.functions.capabilityOf(who).call())


@pytest.fixture(scope="module", autouse=True)
def timelock_accredits(chain: Chain) -> Iterator[None]:
    """As on a governed deployment (contracts.deploy hands ACCREDITOR_ROLE to the timelock); the
    owner keeps its role, so the other fixtures stay direct."""
    role = chain.registry.functions.ACCREDITOR_ROLE().call()
    timelock = chain.dep.contracts["Governance"].address
    send(chain.w3, chain.registry.functions.grantRole(role, timelock), chain.owner, gas=TEST_GAS)
    yield


@pytest.fixture
def accreditors(api: Api) -> tuple[dict[str, str], dict[str, str]]:
    return api.staff("accreditor"), api.staff("accreditor")


def propose(api: Api, who: dict[str, str], assessor: str, values: list[int] | int, status: int = 201,
            **extra: Any) -> Any:
    body = {"assessor": assessor, "dimensions": scores(values), **extra}
    return api.ok(api.c.post("/v1/accreditations", json=body, headers=who), status)


def post(api: Api, acc_id: str, action: str, who: dict[str, str], status: int = 200, **body: Any) -> Any:
    r = api.c.post(f"/v1/accreditations/{acc_id}/{action}", json=body or None, headers=who)
    return api.ok(r, status)


def refused(r: Any, status: int, type_: str) -> None:
    assert (r.status_code, r.json()["type"]) == (status, type_), r.text
    assert r.json()["detail"]


def test_nothing_reaches_the_chain_before_confirm_and_execute(api: Api, chain: Chain, accreditors) -> None:
    first, second = accreditors
    who = fresh()
    values = [9, 9, 8, 9, 8, 9, 9, 8, 9, 9]  # 87: preferred
    block = chain.w3.eth.block_number
    p = propose(api, first, who, values, note="ISO 27001 certificate, 3 audited years")
    assert chain.w3.eth.block_number == block  # no transaction at all
    assert (p["status"], p["capability"], p["grade"], p["accredited"]) == ("proposed", *model(values), True)
    assert p["result"]["capability_score"] == 87
    assert (p["previous_capability"], p["on_chain_capability"], p["operation"]) == (0, 0, None)
    assert p["proposed_by"] and p["confirmed_by"] is None

    done = post(api, p["id"], "confirm", second, 202)
    assert (done["status"], done["operation_state"]) == ("scheduled", "waiting")
    assert done["ready_at"] >= chain.now() + GOVERNANCE_DELAY - 5
    assert done["confirmed_by"] not in (None, p["proposed_by"])
    assert capability(chain, who) == 0  # scheduled only
    refused(api.c.post(f"/v1/accreditations/{p['id']}/execute", headers=first), 409, "operation_not_ready")
    refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=first), 409, "accreditation_scheduled")
    chain.travel(done["ready_at"] - chain.now() - 30)
    refused(api.c.post(f"/v1/accreditations/{p['id']}/execute", headers=second), 409, "operation_not_ready")
    assert capability(chain, who) == 0

    chain.travel(done["ready_at"] - chain.now() + 1)
    assert api.ok(api.c.get(f"/v1/accreditations/{p['id']}", headers=api.staff("auditor")))["operation_state"] == \
        "ready"
    eff = post(api, p["id"], "execute", first)
    assert (eff["status"], eff["operation_state"], eff["on_chain_capability"]) == ("effective", "done", 87)
    assert eff["executed_tx"] and eff["effective_at"] >= done["ready_at"]
    assert capability(chain, who) == 87
    assert chain.registry.functions.assessorIndexOf(who).call() > 0  # accredited: it has an index
    refused(api.c.post(f"/v1/accreditations/{p['id']}/execute", headers=first), 409, "accreditation_effective")
    refused(api.c.post(f"/v1/accreditations/{p['id']}/reject", json={"reason": "late"}, headers=second), 409,
            "accreditation_effective")


def test_the_same_reviewer_is_refused(api: Api, chain: Chain, accreditors) -> None:
    first, second = accreditors
    who = fresh()
    p = propose(api, first, who, 8)
    block = chain.w3.eth.block_number
    refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=first), 409, "same_reviewer")
    assert chain.w3.eth.block_number == block
    assert api.ok(api.c.get(f"/v1/accreditations/{p['id']}", headers=second))["status"] == "proposed"
    # The insurer's admin acts as any staff role, under the same rule.
    own = propose(api, api.admin, fresh(), 8)
    refused(api.c.post(f"/v1/accreditations/{own['id']}/confirm", headers=api.admin), 409, "same_reviewer")
    assert post(api, own["id"], "confirm", first, 202)["status"] == "scheduled"
    assert post(api, own["id"], "reject", first, reason="test done")["status"] == "rejected"
    assert post(api, p["id"], "reject", first, reason="withdrawn by the proposer")["status"] == "rejected"
    assert capability(chain, who) == 0


def test_one_open_accreditation_per_assessor_and_reaccreditation(api: Api, chain: Chain, accreditors) -> None:
    first, second = accreditors
    who = fresh()
    p = propose(api, first, who, 9)
    refused(api.c.post("/v1/accreditations", json={"assessor": who.lower(), "dimensions": scores(5)},
                       headers=second), 409, "accreditation_open")
    r = post(api, p["id"], "reject", second, reason="references not checked")
    assert (r["status"], r["reject_reason"]) == ("rejected", "references not checked")
    assert r["rejected_by"] and r["rejected_at"] and r["operation"] is None
    refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=second), 409, "accreditation_rejected")
    assert capability(chain, who) == 0

    # A scheduled accreditation blocks another; rejecting it cancels the timelock operation.
    q = propose(api, second, who, 9)
    q = post(api, q["id"], "confirm", first, 202)
    refused(api.c.post("/v1/accreditations", json={"assessor": who, "dimensions": scores(7)}, headers=first), 409,
            "accreditation_open")
    r = post(api, q["id"], "reject", first, reason="adverse finding during the notice")
    assert (r["status"], r["operation_state"]) == ("rejected", "unset")
    assert r["cancelled_tx"]
    chain.travel(GOVERNANCE_DELAY + 1)
    refused(api.c.post(f"/v1/accreditations/{q['id']}/execute", headers=second), 409, "accreditation_rejected")
    assert capability(chain, who) == 0

    # Accredited at 90, then re-accredited at 60: below 70, no longer accredited on-chain.
    for values, want in ((9, 90), (6, 60)):
        a = propose(api, first, who, values)
        assert a["previous_capability"] == (0 if want == 90 else 90)
        a = post(api, a["id"], "confirm", second, 202)
        chain.travel(a["ready_at"] - chain.now() + 1)
        assert post(api, a["id"], "execute", second)["on_chain_capability"] == want
        assert capability(chain, who) == want
    assert a["accredited"] is False and a["grade"] == "not_accredited"
    listed = api.ok(api.c.get("/v1/accreditations", params={"assessor": who}, headers=api.staff("auditor")))
    assert listed["total"] == 4
    assert [i["status"] for i in listed["items"]] == ["effective", "effective", "rejected", "rejected"]
    assert [i["capability"] for i in listed["items"]][:2] == [60, 90]
    only = api.ok(api.c.get("/v1/accreditations", params={"assessor": who, "status": "rejected"}, headers=first))
    assert {i["id"] for i in only["items"]} == {p["id"], q["id"]}


def test_executed_directly_on_the_timelock_is_recorded_effective(api: Api, chain: Chain, accreditors) -> None:
    """Any holder of the timelock's executor role may run the operation itself; the next execute
    through the API records what the chain did."""
    first, second = accreditors
    who = fresh()
    p = post(api, propose(api, first, who, 8)["id"], "confirm", second, 202)
    chain.travel(p["ready_at"] - chain.now() + 1)
    timelock = chain.dep.contract(chain.w3, "Governance")
    op = governance.Operation((p["target"],), (0,), (bytes.fromhex(p["payload"][2:]),), governance.ZERO32,
                              bytes.fromhex(p["salt"][2:]), bytes.fromhex(p["operation"][2:]), p["ready_at"])
    governance.execute(chain.w3, timelock, op, chain.operator)
    assert capability(chain, who) == 80
    done = post(api, p["id"], "execute", first)
    assert (done["status"], done["operation_state"], done["executed_tx"]) == ("effective", "done", None)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.integers(0, 10), min_size=len(CRITERIA), max_size=len(CRITERIA)))
def test_on_chain_capability_equals_the_engines(api: Api, chain: Chain, values: list[int]) -> None:
    first, second = api.staff("accreditor"), api.staff("accreditor")
    who = fresh()
    p = propose(api, first, who, values)
    assert (p["capability"], p["grade"]) == model(values)
    p = post(api, p["id"], "confirm", second, 202)
    chain.travel(p["ready_at"] - chain.now() + 1)
    done = post(api, p["id"], "execute", first)
    assert capability(chain, who) == done["on_chain_capability"] == model(values)[0]


def test_who_may(api: Api, accreditors) -> None:
    first, _ = accreditors
    client = api.tenant()
    body = {"assessor": fresh(), "dimensions": scores(8)}
    for role in ("assessor", "underwriter", "claims", "auditor", "distributor"):
        refused(api.c.post("/v1/accreditations", json=body, headers=api.staff(role)), 403, "forbidden")
    for role in ("admin", "auditor", "distributor"):
        who = api.key(client, role)
        refused(api.c.post("/v1/accreditations", json=body, headers=who), 403, "forbidden")
        refused(api.c.get("/v1/accreditations", headers=who), 403, "forbidden")
    refused(api.c.post(f"/v1/tenants/{client}/keys", json={"role": "accreditor"}, headers=api.admin), 400,
            "role_not_for_tenant")
    p = propose(api, first, fresh(), 8)
    for role in ("assessor", "underwriter", "auditor"):
        assert api.ok(api.c.get(f"/v1/accreditations/{p['id']}", headers=api.staff(role)))["id"] == p["id"]
        refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=api.staff(role)), 403, "forbidden")
    post(api, p["id"], "reject", first, reason="test done")


@pytest.mark.parametrize(("body", "status", "type_"), [
    ({"assessor": "0x" + "00" * 20, "dimensions": scores(8)}, 400, "zero_address"),
    ({"assessor": "0x1234", "dimensions": scores(8)}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores(11)}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores(-1)}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": {**scores(8), "charisma": {"x": 1}}}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": {k: v for k, v in scores(8).items() if k != "robustness"}}, 422,
     "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": {**scores(8), "robustness": {"years_in_business": 8}}}, 422,
     "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": {**scores(8), "robustness": {**scores(8)["robustness"], "x": 1}}}, 422,
     "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores([True] + [8] * 9)}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores([8.5] + [8] * 9)}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores(8), "capability": 100}, 422, "validation_error"),
    ({"assessor": "ASSESSOR", "dimensions": scores(8), "note": ""}, 422, "validation_error"),
])
def test_bad_proposals_are_a_4xx(api: Api, accreditors, body: dict[str, Any], status: int, type_: str) -> None:
    body = {**body, "assessor": fresh() if body["assessor"] == "ASSESSOR" else body["assessor"]}
    refused(api.c.post("/v1/accreditations", json=body, headers=accreditors[0]), status, type_)


def test_other_refusals_are_a_4xx(api: Api, chain: Chain, app: FastAPI, accreditors,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = accreditors
    for action in ("confirm", "execute"):
        refused(api.c.post(f"/v1/accreditations/{'ab' * 16}/{action}", headers=first), 404, "not_found")
    refused(api.c.get(f"/v1/accreditations/{'ab' * 16}", headers=first), 404, "not_found")
    refused(api.c.get("/v1/accreditations/NOT-AN-ID", headers=first), 422, "validation_error")
    refused(api.c.get("/v1/accreditations", params={"status": "pending"}, headers=first), 422, "validation_error")
    # An offset past any SQL integer (schemathesis found a 500): refused like the other listings' (10**9 at most).
    refused(api.c.get("/v1/accreditations", params={"offset": 3292473476451500478693376}, headers=first), 422,
            "validation_error")
    assert api.ok(api.c.get("/v1/accreditations", params={"offset": 10**9}, headers=first))["items"] == []
    p = propose(api, first, fresh(), 8)
    refused(api.c.post(f"/v1/accreditations/{p['id']}/reject", json={}, headers=second), 422, "validation_error")
    refused(api.c.post(f"/v1/accreditations/{p['id']}/reject", json={"reason": ""}, headers=second), 422,
            "validation_error")
    refused(api.c.post(f"/v1/accreditations/{p['id']}/execute", headers=second), 409, "accreditation_proposed")

    # A timelock without ACCREDITOR_ROLE could never execute: refused before scheduling.
    role = chain.registry.functions.ACCREDITOR_ROLE().call()
    timelock = chain.dep.contracts["Governance"].address
    send(chain.w3, chain.registry.functions.revokeRole(role, timelock), chain.owner, gas=TEST_GAS)
    try:
        refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=second), 409, "timelock_not_accreditor")
    finally:
        send(chain.w3, chain.registry.functions.grantRole(role, timelock), chain.owner, gas=TEST_GAS)
    monkeypatch.setattr(app.state.gateway, "timelock", None)
    refused(api.c.post(f"/v1/accreditations/{p['id']}/confirm", headers=second), 409, "no_governance")
    monkeypatch.undo()
    row = api.ok(api.c.get(f"/v1/accreditations/{p['id']}", headers=second))
    assert (row["status"], row["confirmed_by"], row["operation"]) == ("proposed", None, None)
    post(api, p["id"], "reject", second, reason="test done")
