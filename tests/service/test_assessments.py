"""Assessments through the API: scored report stored, JSON/HTML, anchored, verified."""

from __future__ import annotations

from eth_utils import keccak

from contracts import registry
from contracts.sender import send
from service.assessment import report_hash
from tests.chain import TEST_GAS
from tests.service.helpers import Api, assessment_body


def test_assess_anchor_verify(api: Api) -> None:
    assessor = api.staff("assessor")
    created = api.ok(api.c.post("/v1/assessments", json=assessment_body("lower"), headers=assessor), 201)
    assert created["risk_level"] == "lower"
    assert created["underwriting"] == "standard"
    assert created["anchored"] is False
    assert created["subject_salt"].startswith("0x")
    got = api.ok(api.c.get(f"/v1/assessments/{created['id']}", headers=assessor))
    assert "subject_salt" not in got

    report = api.ok(api.c.get(f"/v1/assessments/{created['id']}/report", headers=assessor))
    assert "0x" + report_hash(report).hex() == created["report_hash"]
    assert report["assessor"]["address"] == api.chain.assessor
    html = api.c.get(f"/v1/assessments/{created['id']}/report", params={"format": "html"}, headers=assessor)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text
    by_accept = api.c.get(f"/v1/assessments/{created['id']}/report", headers={**assessor, "Accept": "text/html"})
    assert by_accept.headers["content-type"].startswith("text/html")

    missing = api.c.get(f"/v1/reports/{created['report_hash']}/verification", headers=assessor)
    assert missing.status_code == 200
    assert missing.json()["valid"] is False
    anchored = api.ok(api.c.post(f"/v1/assessments/{created['id']}/anchor", headers=assessor))
    assert anchored["anchored"]
    assert anchored["anchor_tx"].startswith("0x")
    again = api.ok(api.c.post(f"/v1/assessments/{created['id']}/anchor", headers=assessor))
    assert again["anchor_tx"] == anchored["anchor_tx"]
    v = api.ok(api.c.get(f"/v1/reports/{created['report_hash']}/verification", headers=assessor))
    assert v["valid"] is True
    assert v["assessor"] == api.chain.assessor
    assert v["tx"] == anchored["anchor_tx"]
    assert v["document_on_file"] is True
    assert (v["risk_level"], v["kind"], v["score_bps"]) == ("lower", "pre_underwriting", created["score_bps"])
    assert set(v) == set(missing.json())  # one shape, anchored or not

    unknown = api.c.get("/v1/reports/0x" + "12" * 32 + "/verification", headers=assessor)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "not_found"


def test_quote_requires_anchored_report(api: Api, distributor) -> None:
    tenant, headers = distributor
    a = api.ok(api.c.post("/v1/assessments", json=assessment_body(), headers=headers), 201)
    assert a["tenant_id"] == tenant
    prod = api.product("https://unanchored.example")
    r = api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": a["id"]}, headers=headers)
    assert r.status_code == 409
    assert r.json()["type"] == "report_not_underwritable"


def test_verify_a_bare_hash_against_the_named_assessor(api: Api) -> None:
    """Without the document on file, the route checks the anchor of `?assessor=` (default: the
    service's assessor): the anchor id commits to the assessor."""
    auditor = api.key(api.tenant(), "auditor")
    h = keccak(text=f"report not on file {api.chain.now()}")
    send(api.chain.w3, api.chain.registry.functions.anchor(h, 8000, 1, b"\x22" * 32, b"\x00" * 32, 0),
         api.chain.assessor, gas=TEST_GAS)
    v = api.ok(api.c.get(f"/v1/reports/0x{h.hex()}/verification", headers=auditor))
    assert v["valid"] is True
    assert v["assessor"] == api.chain.assessor
    assert v["document_on_file"] is False
    assert v["anchor_id"] == "0x" + registry.anchor_id(api.chain.assessor, h).hex()
    named = api.ok(api.c.get(f"/v1/reports/0x{h.hex()}/verification", params={"assessor": api.chain.assessor},
                             headers=auditor))
    assert named == v
    assert (v["risk_level"], v["kind"], v["score_bps"], v["reason"]) == ("lower", "pre_underwriting", 8000, None)
    on_file = api.c.get(f"/v1/reports/{api.anchored_assessment(api.tenant())['report_hash']}/verification",
                        headers=api.admin)
    assert set(v) == set(on_file.json())  # one shape, document on file or not
    other = api.c.get(f"/v1/reports/0x{h.hex()}/verification", params={"assessor": api.chain.owner},
                      headers=auditor)
    assert other.status_code == 404
    assert other.json()["type"] == "not_found"


def test_quote_refused_once_the_assessor_loses_accreditation(api: Api, distributor) -> None:
    tenant, headers = distributor
    a = api.anchored_assessment(tenant)
    prod = api.product(f"https://accreditation-{api.chain.now()}.example")
    body = {"product_id": prod["id"], "assessment_id": a["id"]}
    set_assessor = api.chain.registry.functions.setAssessor
    send(api.chain.w3, set_assessor(api.chain.assessor, 69), api.chain.owner, gas=TEST_GAS)
    try:
        r = api.c.post("/v1/quotes", json=body, headers=headers)
        assert r.status_code == 409
        assert r.json()["type"] == "report_not_underwritable"
    finally:
        send(api.chain.w3, set_assessor(api.chain.assessor, 88), api.chain.owner, gas=TEST_GAS)
    assert api.ok(api.c.post("/v1/quotes", json=body, headers=headers), 201)["decision"] == "offer"
