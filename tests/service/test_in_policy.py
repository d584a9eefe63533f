"""§7 in-policy assessments through the API: monitoring facts (the chain's episodes, what the oracle
nodes publish over HTTP, an unreachable node), anchoring that supersedes the baseline on-chain,
the refusals; and the §7.2.1 due list at its boundaries in chain time, the activities route and
the worker pass publishing assessment.due / overdue."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from sqlalchemy import select

from contracts import eip712, registry
from service import notices
from service.db import models as m
from service.domain import due
from service.worker.due_notices import DueNotifier
from tests.service.helpers import HOUR, Api, answers, unique_service

DAY = 86_400
EPISODES_IN_ALL = (0, 2**64 - 1, 10_000)


class FakeNode:
    """A real HTTP server on loopback answering what an oracle node's public API answers."""

    def __init__(self, episodes: list[dict[str, Any]], reports: list[dict[str, Any]],
                 targets: list[dict[str, Any]] | None) -> None:
        docs = {"/v1/episodes": {"node": "0x" + "11" * 20, "episodes": episodes},
                "/v1/reports": {"node": "0x" + "11" * 20, "reports": reports}}
        if targets is not None:
            docs["/v1/targets"] = {"node": "0x" + "11" * 20, "targets": targets}
        self.seen: list[str] = []

        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                node.seen.append(self.path)
                doc = docs.get(self.path.split("?")[0])
                body = json.dumps(doc).encode() if doc is not None else b'{"detail": "Not Found"}'
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def no_nodes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "oracle_nodes", {})


def covered(api: Api, tenant: str, headers: dict[str, str], *, level: str = "lower",
            cover_seconds: int = 30 * DAY) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A baseline report anchored for a new subject, a product on a new service, a policy on it."""
    service = unique_service()
    baseline = api.anchored_assessment(tenant, level)
    prod = api.product(service)
    quote = api.quote(prod["id"], baseline["id"], headers, cover_seconds=cover_seconds)
    assert quote["decision"] == "offer", quote
    body = {"quote_id": quote["id"], "beneficiary": "0x" + keccak(text=service)[:20].hex(), "holder_ref": "c-1"}
    policy = api.ok(api.c.post("/v1/policies", json=body, headers=headers), 201)
    return baseline, policy, service


def in_policy_body(baseline: dict[str, Any], level: str = "low", **extra: Any) -> dict[str, Any]:
    return {"kind": "in_policy", "baseline": baseline["id"], "answers": answers(level), **extra}


def test_monitoring_facts_equal_the_chain_and_the_nodes(api: Api, app: FastAPI, distributor,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    baseline, policy, service = covered(api, tenant, headers)
    sid = "0x" + eip712.service_id(service).hex()
    # Two verified outages in the period, relayed as the nodes would.
    for duration in (2 * HOUR, HOUR):
        start = api.chain.now() + 60
        api.chain.travel(60 + duration + 400)
        api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(service, start, start + duration),
                          headers=headers))
    chain_episodes = api.chain.oracle.functions.episodesIn(eip712.service_id(service), *EPISODES_IN_ALL).call()[0]
    assert len(chain_episodes) == 2
    anchored_at = api.chain.registry.functions.verify(api.chain.assessor, baseline["report_hash"]).call()[3]
    now = api.chain.now()
    node_episode = {"episode_id": "e1", "target": "t", "service_id": sid, "start": chain_episodes[0][0],
                    "end": chain_episodes[0][1], "down_seconds": 2 * HOUR, "ongoing": False, "updated_at": now}
    other = {**node_episode, "episode_id": "e2", "service_id": "0x" + "ab" * 32}  # another service: not counted
    node = FakeNode([node_episode, other], [{"service_id": sid, "seq": 1}, {"service_id": sid, "seq": 2}],
                    [{"service_id": sid, "cert_days_left": 40}, {"service_id": sid, "cert_days_left": 12}])
    old_node = FakeNode([node_episode], [], None)  # publishes no /v1/targets (an older node)
    down = closed_port_url()
    signers = {"0x" + "01" * 20: node.url, "0x" + "02" * 20: down, "0x" + "03" * 20: old_node.url}
    monkeypatch.setattr(app.state.settings, "oracle_nodes", signers)
    try:
        body = in_policy_body(baseline, changes=[{"area": "supplier_change", "observed_at": now - 100,
                                                  "description": "new CDN provider"}],
                              advice=["rotate the CDN credentials"])
        created = api.ok(api.c.post("/v1/assessments", json=body, headers=headers), 201)
    finally:
        node.close()
        old_node.close()
    assert created["kind"] == "in_policy" and created["anchored"] is False
    assert created["subject"] == baseline["subject"]
    assert "subject_salt" not in created
    report = api.ok(api.c.get(f"/v1/assessments/{created['id']}/report", headers=headers))
    section = report["in_policy"]
    assert report["kind"] == "in_policy"
    assert report["subject"]["commitment"] == baseline["subject"]
    assert section["baseline_report_hash"] == baseline["report_hash"]
    assert section["changes"][0]["area"] == "supplier_change"
    # lower → low: the items that were "no" are remediated
    assert section["control_effectiveness"]["remediated"] and not section["control_effectiveness"]["still_open"]
    mon = section["monitoring"]
    assert mon["period"] == {"start": anchored_at, "end": now}
    assert mon["policies"] == [{"policy_id": policy["id"], "product_id": policy["product_id"], "service_id": sid,
                                "cover_start": policy["cover_start"], "cover_end": policy["cover_end"]}]
    [svc] = mon["services"]
    assert svc["service_id"] == sid
    got = [(e["start"], e["end"], e["down_seconds"], e["maintenance_seconds"], e["ongoing"])
           for e in svc["chain"]["episodes"]]
    assert got == [(e[0], e[1], e[2], e[3], e[4]) for e in chain_episodes]
    assert svc["chain"]["down_seconds"] == sum(e[2] for e in chain_episodes) == 3 * HOUR
    assert svc["chain"]["episode_count"] == 2
    by_signer = {n["signer"]: n for n in mon["nodes"]}
    assert [n["signer"] for n in mon["nodes"]] == sorted(signers)
    assert by_signer["0x" + "02" * 20]["status"] == "unreachable" and by_signer["0x" + "02" * 20]["reason"]
    seen = by_signer["0x" + "01" * 20]
    assert seen["status"] == "reachable"
    facts = seen["services"][sid]
    period = now - anchored_at
    assert facts["down_seconds"] == 2 * HOUR
    assert facts["availability_bps"] == (period - 2 * HOUR) * 10_000 // period
    assert facts["reports_signed"] == 2
    assert facts["cert_days_left"] == 12  # the shortest of its TLS probes
    assert "cert_days_left" not in by_signer["0x" + "03" * 20]["services"][sid]
    assert any(p.startswith(f"/v1/episodes?since={anchored_at}") for p in node.seen)


def test_anchoring_supersedes_the_baseline(api: Api, distributor, no_nodes) -> None:
    tenant, headers = distributor
    baseline, policy, _ = covered(api, tenant, headers)
    first = api.ok(api.c.post("/v1/assessments", json=in_policy_body(baseline), headers=headers), 201)
    second = api.ok(api.c.post("/v1/assessments", json=in_policy_body(baseline, "lower"), headers=headers), 201)
    assessor = api.staff("assessor")
    anchored = api.ok(api.c.post(f"/v1/assessments/{first['id']}/anchor", headers=assessor))
    assert anchored["anchored"] is True
    reg = api.chain.registry.functions
    base_id = registry.anchor_id(api.chain.assessor, bytes.fromhex(baseline["report_hash"][2:]))
    new_id = registry.anchor_id(api.chain.assessor, bytes.fromhex(first["report_hash"][2:]))
    old = reg.verify(api.chain.assessor, baseline["report_hash"]).call()
    assert old[9] == new_id  # superseded_by
    new = reg.verify(api.chain.assessor, first["report_hash"]).call()
    assert new[0] is True and new[6] == 1  # valid, kind InPolicy
    assert reg.underwritingStatus(new_id, bytes.fromhex(baseline["subject"][2:])).call()[0] is True
    assert reg.underwritingStatus(base_id, bytes.fromhex(baseline["subject"][2:])).call()[0] is False
    # anchoring again answers the first anchoring
    assert api.ok(api.c.post(f"/v1/assessments/{first['id']}/anchor", headers=assessor))["anchor_tx"] == \
        anchored["anchor_tx"]
    # the other follow-up of the same baseline can no longer be anchored: its baseline is superseded
    r = api.c.post(f"/v1/assessments/{second['id']}/anchor", headers=assessor)
    assert r.status_code == 409 and r.json()["type"] == "baseline_superseded", r.text
    r = api.c.post("/v1/assessments", json=in_policy_body(baseline), headers=headers)
    assert r.status_code == 409 and r.json()["type"] == "baseline_superseded"
    assert new_id.hex() in r.json()["detail"]
    # the in-policy report is the subject's current report: it can be followed in turn, once its
    # period (from its anchoring, by default) is not empty
    r = api.c.post("/v1/assessments", json=in_policy_body(first), headers=headers)
    assert r.status_code == 400 and r.json()["type"] == "invalid_period"
    api.chain.travel(60)
    third = api.ok(api.c.post("/v1/assessments", json=in_policy_body(first), headers=headers), 201)
    api.ok(api.c.post(f"/v1/assessments/{third['id']}/anchor", headers=assessor))
    assert reg.verify(api.chain.assessor, first["report_hash"]).call()[9] == \
        registry.anchor_id(api.chain.assessor, bytes.fromhex(third["report_hash"][2:]))
    assert policy["subject"] == baseline["subject"]


def test_refusals(api: Api, distributor, no_nodes) -> None:
    tenant, headers = distributor
    baseline, policy, _ = covered(api, tenant, headers)
    post = lambda body, h=headers: api.c.post("/v1/assessments", json=body, headers=h)  # noqa: E731

    def refused(r: Any, status: int, kind: str) -> None:
        assert r.status_code == status, r.text
        assert r.json()["type"] == kind and r.json()["detail"], r.text

    # a baseline not anchored
    loose = api.ok(api.c.post("/v1/assessments", json={**_pre(tenant)}, headers=api.admin), 201)
    refused(post(in_policy_body(loose)), 409, "baseline_not_anchored")
    # a policy of another subject
    _, other_policy, _ = covered(api, tenant, headers)
    refused(post(in_policy_body(baseline, policy_ids=[other_policy["id"]])), 409, "subject_mismatch")
    # unknown baseline, another tenant's baseline or policy
    refused(post(in_policy_body({"id": "f" * 32})), 404, "not_found")
    stranger = api.key(api.tenant(), "distributor")
    refused(post(in_policy_body(baseline), stranger), 404, "not_found")
    refused(post(in_policy_body(baseline, policy_ids=[10**12])), 404, "not_found")
    # a period that is empty or in the future
    now = api.chain.now()
    refused(post(in_policy_body(baseline, period_start=now - 10, period_end=now - 10)), 400, "invalid_period")
    refused(post(in_policy_body(baseline, period_end=now + 10 * DAY)), 400, "invalid_period")
    # answers missing, unknown kind, unknown field: schema or rule errors with a type
    incomplete = in_policy_body(baseline)
    incomplete["answers"] = dict(list(incomplete["answers"].items())[:3])
    refused(post(incomplete), 400, "invalid_answers")
    refused(post({**in_policy_body(baseline), "kind": "bogus"}), 422, "validation_error")
    refused(post({**in_policy_body(baseline), "org_identifier": "x"}), 422, "validation_error")
    refused(post(in_policy_body(baseline, changes=[{"area": "weather", "observed_at": 1, "description": "x"}])),
            422, "validation_error")
    # an auditor may not create one
    refused(post(in_policy_body(baseline), api.key(tenant, "auditor")), 403, "forbidden")
    # an incident-kind baseline is not followed (a pre-underwriting default body still works)
    assert api.ok(post({**_pre(tenant), "kind": "pre_underwriting"}, api.admin), 201)["kind"] == "pre_underwriting"
    assert policy["id"]


def _pre(tenant: str) -> dict[str, Any]:
    from tests.service.helpers import assessment_body

    return assessment_body("low", tenant_id=tenant)


def _item(api: Api, headers: dict[str, str], policy_id: int, activity: str) -> dict[str, Any]:
    out = api.ok(api.c.get("/v1/assessments/due", headers=headers))
    [p] = [p for p in out["policies"] if p["policy_id"] == policy_id]
    return next(i for i in p["activities"] if i["activity"] == activity)


def _travel_to(api: Api, t: int) -> None:
    """The latest block (what the service reads as chain time) at exactly `t`: eth-tester's
    time_travel(T) mines a block at T - 1 and leaves the pending one at T."""
    api.chain.tester.time_travel(t + 1)
    assert api.chain.now() == t


def test_due_list_boundaries_activities_and_notices(api: Api, app: FastAPI, distributor, no_nodes) -> None:
    tenant, headers = distributor
    baseline, policy, _ = covered(api, tenant, headers, level="low", cover_seconds=200 * DAY)
    start = policy["cover_start"]
    out = api.ok(api.c.get("/v1/assessments/due", headers=headers))
    [mine] = [p for p in out["policies"] if p["policy_id"] == policy["id"]]
    assert (mine["risk_level"], mine["tier"], mine["source"]) == ("low", "low", "§7.2.1 c)")
    items = {i["activity"]: i for i in mine["activities"]}
    quarter, half = 31_536_000 // 4, 31_536_000 // 2
    assert items["event_monitoring"]["interval_seconds"] == quarter
    assert items["security_assessment"]["interval_seconds"] == half
    assert items["staff_training"]["interval_seconds"] == 31_536_000
    monitoring_due = start + quarter
    assert items["event_monitoring"]["due_at"] == monitoring_due
    assert all(i["status"] == "ok" and i["last_done"] is None for i in items.values())

    # the horizon: `due` from due_at − 14 days; overdue strictly after due_at
    horizon = 14 * DAY
    _travel_to(api, monitoring_due - horizon - 1)
    assert _item(api, headers, policy["id"], "event_monitoring")["status"] == "ok"
    _travel_to(api, monitoring_due - horizon)
    assert _item(api, headers, policy["id"], "event_monitoring")["status"] == "due"
    _travel_to(api, monitoring_due - 1)
    assert _item(api, headers, policy["id"], "event_monitoring")["status"] == "due"
    _travel_to(api, monitoring_due)
    assert _item(api, headers, policy["id"], "event_monitoring")["status"] == "due"

    published: list[tuple[str, str, dict[str, Any], list[str]]] = []

    def publish(session: Any, event: str, data: dict[str, Any], *, key: str, tenant_ids: Any = (), **kw: Any) -> int:
        published.append((event, key, data, list(tenant_ids)))
        return notices.publish(session, event, data, key=key, tenant_ids=tenant_ids, **kw)

    with app.state.factory.begin() as s:
        hook = m.Webhook(id=m.new_id(), tenant_id=tenant, url=f"https://hooks.example/{m.new_id()}",
                         events=["assessment.due", "assessment.overdue"], secret_sealed="x", scope="tenant")
        s.add(hook)
        hook_id = hook.id

    def deliveries() -> list[tuple[str, int, str]]:
        with app.state.factory() as s:
            rows = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook_id)
                             .order_by(m.WebhookDelivery.id))
            return [(r.event_type, r.payload["data"]["policy_id"], r.payload["data"]["activity"]) for r in rows]

    notifier = DueNotifier(app.state.gateway, app.state.factory, publish=publish)
    notifier.run_once()
    mine_published = [p for p in published if p[2]["policy_id"] == policy["id"]]
    assert [(e, k) for e, k, _, _ in mine_published] == [
        ("assessment.due", f"assessment.due:{policy['id']}:event_monitoring:{monitoring_due}")]
    assert mine_published[0][3] == [tenant]
    assert deliveries() == [("assessment.due", policy["id"], "event_monitoring")]
    notifier.run_once()  # the same occurrence again: nothing new
    assert deliveries() == [("assessment.due", policy["id"], "event_monitoring")]

    _travel_to(api, monitoring_due + 1)
    assert _item(api, headers, policy["id"], "event_monitoring")["status"] == "overdue"
    published.clear()
    notifier.run_once()
    keys = [k for _, k, d, _ in published if d["policy_id"] == policy["id"]]
    assert keys == [f"assessment.overdue:{policy['id']}:event_monitoring:{monitoring_due}"]
    notifier.run_once()
    assert deliveries() == [("assessment.due", policy["id"], "event_monitoring"),
                            ("assessment.overdue", policy["id"], "event_monitoring")]
    with app.state.factory() as s:
        [payload] = [r.payload for r in s.scalars(select(m.WebhookDelivery).where(
            m.WebhookDelivery.webhook_id == hook_id, m.WebhookDelivery.event_type == "assessment.overdue"))]
    assert payload["data"] == {"policy_id": policy["id"], "subject": policy["subject"], "activity": "event_monitoring",
                               "frequency": "quarterly", "due_at": monitoring_due, "status": "overdue",
                               "last_done": None, "risk_level": "low", "tier": "low",
                               "report": policy["report_hash"]}
    overdue = api.ok(api.c.get("/v1/assessments/due?status=overdue", headers=headers))
    assert [i["activity"] for p in overdue["policies"] if p["policy_id"] == policy["id"] for i in p["activities"]] \
        == ["event_monitoring"]

    # recording the activity: ok again, due one interval after it was performed
    done_at = api.chain.now() - 10
    rec = api.ok(api.c.post("/v1/assessments/activities", headers=headers, json={
        "policy_id": policy["id"], "activity": "event_monitoring", "performed_at": done_at,
        "note": "SIEM review Q1"}), 201)
    assert rec["subject"] == policy["subject"] and rec["performed_at"] == done_at
    item = _item(api, headers, policy["id"], "event_monitoring")
    assert (item["status"], item["last_done"], item["due_at"]) == ("ok", done_at, done_at + quarter)
    listed = api.ok(api.c.get(f"/v1/assessments/activities?policy_id={policy['id']}", headers=headers))
    assert [a["id"] for a in listed] == [rec["id"]]

    # a security assessment is done by anchoring an in-policy report of the subject
    ip = api.ok(api.c.post("/v1/assessments", json=in_policy_body(baseline), headers=headers), 201)
    api.ok(api.c.post(f"/v1/assessments/{ip['id']}/anchor", headers=api.staff("assessor")))
    item = _item(api, headers, policy["id"], "security_assessment")
    assert item["last_done"] is not None and item["due_at"] == item["last_done"] + half

    # activity route refusals
    def bad(body: dict[str, Any], status: int, kind: str, h: dict[str, str] = headers) -> None:
        r = api.c.post("/v1/assessments/activities", headers=h, json=body)
        assert r.status_code == status and r.json()["type"] == kind, r.text

    base = {"policy_id": policy["id"], "activity": "staff_training", "note": "phishing drill"}
    bad({**base, "performed_at": api.chain.now() + 3600}, 400, "activity_in_future")
    bad({**base, "activity": "security_assessment"}, 422, "validation_error")
    bad({**base, "policy_id": 10**12}, 404, "not_found")
    stranger = api.key(api.tenant(), "distributor")
    bad(base, 404, "not_found", stranger)
    bad(base, 403, "forbidden", api.key(tenant, "auditor"))

    # tenancy of the due list
    theirs = api.ok(api.c.get("/v1/assessments/due", headers=stranger))
    assert all(p["policy_id"] != policy["id"] for p in theirs["policies"])
    r = api.c.get(f"/v1/assessments/due?tenant_id={tenant}", headers=stranger)
    assert r.status_code == 404 and r.json()["type"] == "not_found"
    staff = api.ok(api.c.get(f"/v1/assessments/due?tenant_id={tenant}", headers=api.staff("auditor")))
    assert {p["tenant_id"] for p in staff["policies"]} == {tenant}
    assert any(p["policy_id"] == policy["id"] for p in staff["policies"])


def test_schedule_core_boundaries() -> None:
    from service.assessment import RiskLevel, plan_for

    plan = plan_for(RiskLevel.HIGH)
    start = 1_000_000
    week = 31_536_000 // 52
    h = due.horizon(week)
    assert h == week // 4
    for now, status in ((start + week - h - 1, "ok"), (start + week - h, "due"), (start + week, "due"),
                        (start + week + 1, "overdue")):
        items = {i.activity: i for i in due.schedule(plan, start, {}, now)}
        assert items["event_monitoring"].status == status, now
    # a done activity moves the basis, never before the cover start
    items = {i.activity: i for i in due.schedule(plan, start, {"staff_training": start - 10**6}, start)}
    assert items["staff_training"].due_at == start + 31_536_000 // 4


def test_monitoring_reads_a_real_node_targets_route(tmp_path: Any) -> None:
    """Drift check: what `cybercover-oracle` serves at `GET /v1/targets` is what
    `service.domain.monitoring` reads (the lowest `cert_days_left` of the service's TLS probes)."""
    from fastapi.testclient import TestClient

    from oracles.api import create_app
    from oracles.clock import ManualClock
    from oracles.outcome import Outcome, ProbeResult
    from oracles.schedule import Slot
    from service.domain.monitoring import Period, node_facts
    from tests.oracles.helpers import T0, config_dict, http_target, make_node, node_key

    def tls(name: str) -> dict[str, Any]:
        return {**http_target("https://x.example"), "name": name, "kind": "tls", "url": None,
                "address": "login.example:443", "service": "https://login.example"}

    node = make_node(config_dict(tmp_path, targets=[tls("a"), tls("b"), http_target("https://shop.example")]),
                     node_key("drift"), ManualClock(T0))
    try:
        for name, days in (("a", 40), ("b", 12)):
            spec = node._specs[name]
            node._record(spec, Slot(name, T0), T0, ProbeResult(Outcome.OK, "valid", 5, cert_days_left=days))
        sid = "0x" + eip712.service_id("https://login.example").hex()
        with TestClient(create_app(node), base_url="http://node") as client:
            facts = node_facts(node.address, "http://node", [sid], Period(T0 - 3600, T0),
                               transport=client._transport)
        assert facts["status"] == "reachable", facts
        assert facts["services"][sid]["cert_days_left"] == 12
    finally:
        import asyncio
        asyncio.run(node.aclose())
