"""Incidents (issue 13, item 3): intake, the §8.2.1 a) one-hour clock, the 180-day log-retention
check, the assessor's §8 report built through the API, anchored as kind Incident for the subject
binding the insured to the covered service, and a claim approved on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_utils import decode_hex
from fastapi import FastAPI

from contracts import eip712, enums, registry
from service.db import models as m
from service.domain import incidents
from tests.chain import USD
from tests.service.helpers import HOUR, Api, issue, outage, unique_service
from tests.service.test_claims import open_claim

T0 = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)


def report_body(**extra: Any) -> dict[str, Any]:
    return {
        "timeline": [{"at": "2031-05-01T07:10:00Z", "description": "service stopped answering"},
                     {"at": "2031-05-01T06:55:00Z", "description": "origin deploy started"}],
        "reconstruction": "a faulty deploy stopped the origin process; no attacker involvement found",
        "losses": [{"loss_type": "business_interruption_loss", "description": "downtime of the platform",
                    "amount_minor": 40 * 100, "basis": "gross profit per hour × 5 h"},
                   {"loss_type": "emergency_response_costs", "description": "on-call forensics",
                    "amount_minor": 10 * 100, "basis": "invoice 2031-117"}],
        "cause": {"entry_vector": "environmental", "attack_path": "deploy → origin crash", "attack_source": "none",
                  "technical_causes": ["no canary"], "management_causes": ["no change review"]},
        "responsibility": {"within_cover": True, "attribution": "infrastructure failure",
                           "reasoning": "a verified outage beyond the threshold is within the cover"},
        "secondary_risks": ["customers may churn"],
        "advice": ["canary deploys", "keep logs ≥ 180 days"],
        "log_retention_days": 365,
        **extra,
    }


def window(api: Api, service_id: str) -> dict[str, int]:
    [w] = api.ok(api.c.get("/v1/outages", params={"service_id": service_id}, headers=api.admin))["windows"]
    return {"start": w["start"], "end": w["end"]}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The service's clock, set by the test: now[0]."""
    now = [T0]
    monkeypatch.setattr(incidents, "utcnow", lambda: now[0])
    return now


def test_the_report_through_the_api_is_bound_and_approves_the_claim(api: Api, app: FastAPI, distributor) -> None:
    service, policy, claim = open_claim(api, app, distributor)
    tenant, headers = distributor
    sid = "0x" + eip712.service_id(service).hex()
    w = window(api, sid)
    assessor = api.staff("assessor")

    i = api.ok(api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "platform down 5 h",
                                                "outage": w}, headers=headers), 201)
    assert (i["tenant_id"], i["service_id"], i["status"], i["outage"]) == (tenant, sid, "reported", w)
    assert i["response"]["within_1h"] is None and 0 < i["response"]["seconds_left"] <= HOUR
    assert i["log_retention"] == {"days": None, "meets_minimum": None, "minimum_days": 180, "source": None}
    early = api.c.post(f"/v1/incidents/{i['id']}/report", json=report_body(), headers=assessor)
    assert (early.status_code, early.json()["type"]) == (409, "assessment_not_started")

    started = api.ok(api.c.post(f"/v1/incidents/{i['id']}/assessment", headers=assessor))
    assert started["status"] == "assessing" and started["response"]["within_1h"] is True
    a = api.ok(api.c.post(f"/v1/incidents/{i['id']}/report", json=report_body(), headers=assessor), 201)
    assert a["anchored"] is False
    insured = decode_hex(policy["subject"])
    binding = registry.incident_subject(insured, decode_hex(sid))
    assert a["subject"] == "0x" + binding.hex()
    doc = api.ok(api.c.get(f"/v1/assessments/{a['id']}/report", headers=headers))
    section = doc["incident"]
    assert doc["kind"] == "incident" and doc["subject"]["commitment"] == a["subject"]
    assert section["outage"] == {"service_id": sid, **w}
    assert section["response_within_1h"] is True
    assert [e["description"] for e in section["timeline"]] == ["origin deploy started", "service stopped answering"]
    assert section["losses"]["total_minor"] == 50 * 100 and section["losses"]["first_party_total_minor"] == 50 * 100
    assert [x["basis"] for x in section["losses"]["items"]] == ["gross profit per hour × 5 h", "invoice 2031-117"]
    assert section["responsibility"]["policy_ref"] == f"policy {policy['id']}"
    assert section["log_retention"]["meets_minimum"] is True
    assert doc["scores"]["answers"]  # the re-assessment: the underwriting report's answers by default

    anchored = api.ok(api.c.post(f"/v1/assessments/{a['id']}/anchor", headers=assessor))
    assert anchored["anchored"] is True
    shown = api.ok(api.c.get(f"/v1/incidents/{i['id']}", headers=headers))
    assert shown["status"] == "anchored" and shown["report"]["anchored"] is True
    anchor_id = shown["report"]["anchor_id"]
    assert anchor_id == "0x" + registry.anchor_id(api.chain.assessor, decode_hex(a["report_hash"])).hex()
    with app.state.factory() as s:
        row = s.get(m.Anchor, anchor_id)
        assert row is not None and row.kind == enums.ReportKind.INCIDENT and row.subject == a["subject"]
    again = api.c.post(f"/v1/incidents/{i['id']}/report", json=report_body(), headers=assessor)
    assert (again.status_code, again.json()["type"]) == (409, "report_anchored")

    done = api.ok(api.c.post(f"/v1/claims/{claim['id']}/approve", json={"incident_report": anchor_id,
                                                                        "amount": 40 * USD},
                             headers=api.staff("claims")))
    assert (done["status"], done["approved"], done["incident_report"]) == ("approved", 40 * USD, anchor_id)


def test_one_hour_clock(api: Api, distributor, clock: list[datetime]) -> None:
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service())
    assessor = api.staff("assessor")

    def reported(**extra: Any) -> dict[str, Any]:
        return dict(api.ok(api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "down",
                                                            **extra}, headers=headers), 201))

    on_time, late, silent = reported(), reported(reported_at="2031-05-01T07:59:59Z"), reported()
    assert on_time["reported_at"].startswith("2031-05-01T08:00:00")
    clock[0] = T0 + timedelta(hours=1)  # exactly one hour after the report: on time
    got = api.ok(api.c.post(f"/v1/incidents/{on_time['id']}/assessment", headers=assessor))["response"]
    assert (got["within_1h"], got["started_at"][:19], got["deadline"][:19]) == (True, "2031-05-01T09:00:00",
                                                                                  "2031-05-01T09:00:00")
    got = api.ok(api.c.post(f"/v1/incidents/{late['id']}/assessment", headers=assessor))["response"]
    assert got["within_1h"] is False  # reported 1 s earlier: 1 h 1 s
    waiting = api.ok(api.c.get(f"/v1/incidents/{silent['id']}", headers=headers))["response"]
    assert (waiting["started_at"], waiting["within_1h"], waiting["seconds_left"]) == (None, None, 0)
    clock[0] = T0 + timedelta(hours=1, seconds=1)
    assert api.ok(api.c.get(f"/v1/incidents/{silent['id']}", headers=headers))["response"]["within_1h"] is False
    clock[0] = T0 + timedelta(hours=5)  # starting again changes nothing
    again = api.ok(api.c.post(f"/v1/incidents/{on_time['id']}/assessment", headers=assessor))["response"]
    assert (again["within_1h"], again["started_at"][:19]) == (True, "2031-05-01T09:00:00")
    future = api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "x",
                                               "reported_at": "2031-05-01T13:06:00Z"}, headers=headers)
    assert (future.status_code, future.json()["type"]) == (400, "invalid_reported_at")
    old = api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "x",
                                            "reported_at": "0001-01-01T00:00:00+01:00"}, headers=headers)
    assert (old.status_code, old.json()["type"]) == (400, "invalid_reported_at")  # no overflow: a 400
    naive = api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "x",
                                              "reported_at": "2031-05-01T08:00:00"}, headers=headers)
    assert naive.status_code == 422


def test_log_retention_check(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    prod, policy = issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR, headers, final=False)
    w = window(api, prod["service_id"])
    assessor = api.staff("assessor")
    short, enough = (api.ok(api.c.post("/v1/incidents", json={"policy_id": policy["id"], "description": "down",
                                                              "log_retention_days": d}, headers=headers), 201)
                     for d in (179, 180))
    assert (short["log_retention"]["meets_minimum"], short["log_retention"]["source"]) == (False, "reported")
    assert enough["log_retention"] == {"days": 180, "meets_minimum": True, "minimum_days": 180, "source": "reported"}
    api.ok(api.c.post(f"/v1/incidents/{enough['id']}/assessment", headers=assessor))
    no_window = api.c.post(f"/v1/incidents/{enough['id']}/report", json=report_body(), headers=assessor)
    assert (no_window.status_code, no_window.json()["type"]) == (400, "no_outage_window")
    api.ok(api.c.post(f"/v1/incidents/{enough['id']}/report", json=report_body(log_retention_days=90, outage=w),
                      headers=assessor), 201)
    shown = api.ok(api.c.get(f"/v1/incidents/{enough['id']}", headers=headers))
    assert shown["log_retention"] == {"days": 90, "meets_minimum": False, "minimum_days": 180, "source": "assessed"}
    assert shown["status"] == "reported_on" and shown["report"]["outage"] == {"service_id": prod["service_id"], **w}
    # A draft is replaced by a new one until it is anchored.
    second = api.ok(api.c.post(f"/v1/incidents/{enough['id']}/report", json=report_body(outage=w), headers=assessor),
                    201)
    assert api.ok(api.c.get(f"/v1/incidents/{enough['id']}", headers=headers))["report"]["assessment_id"] == \
        second["id"]


def test_service_incidents_tenancy_and_bad_input(api: Api, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    prod, policy = issue(api, tenant, headers, service)
    sid = prod["service_id"]
    outage(api, service, 2 * HOUR, headers, final=False)
    w = window(api, sid)
    assessor = api.staff("assessor")
    other_tenant = api.tenant()
    other = api.key(other_tenant, "distributor")

    def post(body: dict[str, Any], key: dict[str, str] = headers) -> tuple[int, str]:
        r = api.c.post("/v1/incidents", json={"description": "down", **body}, headers=key)
        return r.status_code, r.json().get("type", "")

    assert post({}) == (400, "no_policy_or_service")
    assert post({"policy_id": 2**62}) == (404, "not_found")
    assert post({"policy_id": policy["id"]}, other) == (404, "not_found")  # another tenant's policy
    assert post({"service_id": sid}, other) == (404, "not_found")  # holds no policy on it
    assert post({"policy_id": policy["id"], "service_id": "0x" + "ab" * 32}) == (400, "service_mismatch")
    assert post({"policy_id": policy["id"], "outage": {"start": w["end"], "end": w["end"] + 60}}) == \
        (409, "outage_not_verified")
    assert post({"policy_id": policy["id"], "outage": {"start": w["start"], "end": w["start"]}}) == \
        (400, "invalid_outage_window")
    assert post({"policy_id": policy["id"], "description": " \t"}) == (400, "invalid_description")
    assert post({"policy_id": policy["id"], "extra": 1})[0] == 422
    assert post({"policy_id": policy["id"]}, api.staff("auditor")) == (403, "forbidden")
    assert post({"policy_id": policy["id"]}, api.staff("claims"))[0] == 201  # insurer staff for the insured

    i = api.ok(api.c.post("/v1/incidents", json={"service_id": sid, "description": "API errors", "outage": w},
                          headers=headers), 201)
    assert (i["policy_id"], i["tenant_id"]) == (None, tenant)
    assert api.c.get(f"/v1/incidents/{i['id']}", headers=other).status_code == 404
    assert all(x["tenant_id"] == tenant for x in api.ok(api.c.get("/v1/incidents", headers=headers)))
    assert i["id"] not in {x["id"] for x in api.ok(api.c.get("/v1/incidents", headers=other))}
    assert i["id"] in {x["id"] for x in api.ok(api.c.get("/v1/incidents", params={"service_id": sid},
                                                          headers=api.staff("auditor")))}
    assert api.c.post(f"/v1/incidents/{i['id']}/assessment", headers=headers).status_code == 403
    api.ok(api.c.post(f"/v1/incidents/{i['id']}/assessment", headers=assessor))
    url = f"/v1/incidents/{i['id']}/report"
    assert api.c.post(url, json=report_body(), headers=headers).status_code == 403

    def report(body: dict[str, Any]) -> tuple[int, str]:
        r = api.c.post(url, json=body, headers=assessor)
        return r.status_code, r.json().get("type", "")

    assert report(report_body()) == (400, "no_policy")
    _, elsewhere = issue(api, tenant, headers, unique_service())
    assert report(report_body(policy_id=elsewhere["id"])) == (400, "policy_mismatch")
    assert report(report_body(policy_id=policy["id"], outage={"start": 1, "end": 2})) == (409, "outage_not_verified")
    assert report(report_body(policy_id=policy["id"], losses=[]))[0] == 422
    assert report(report_body(policy_id=policy["id"], losses=[{"loss_type": "ransom", "description": "x",
                                                               "amount_minor": 1, "basis": "y"}]))[0] == 422
    assert report(report_body(policy_id=policy["id"], reconstruction="   ")) == (400, "invalid_report")
    assert report(report_body(policy_id=policy["id"], currency="usd"))[0] == 422
    far = [{"at": "9999-12-31T23:59:59-01:00", "description": "x"}]
    assert report(report_body(policy_id=policy["id"], timeline=far)) == (400, "invalid_timeline")
    assert report(report_body(policy_id=policy["id"], answers={"base.im.01": "yes"}))[0] == 422  # unanswered items
    ok = api.ok(api.c.post(url, json=report_body(policy_id=policy["id"]), headers=assessor), 201)
    assert ok["subject"] == "0x" + registry.incident_subject(decode_hex(policy["subject"]), decode_hex(sid)).hex()
    assert api.ok(api.c.get(f"/v1/incidents/{i['id']}", headers=headers))["policy_id"] == policy["id"]
    assert api.c.get("/v1/incidents/nope", headers=headers).status_code == 404
