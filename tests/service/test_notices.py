"""Notices (service.notices): every type is delivered to the right webhooks, signed, and
deduplicable — the same occurrence twice is one delivery, a reindex or a reorg replay none new."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from contracts import eip712
from contracts.sender import send
from service import notices
from service.db import models as m
from service.db.session import make_engine
from service.webhooks.delivery import Limits, WebhookDispatcher
from service.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, verify
from service.worker.notices import ExpiringNotices
from tests.chain import TEST_GAS, USD
from tests.service.conftest import build_app
from tests.service.helpers import HOUR, Api, issue, make_chain, outage, unique_service, worker
from tests.service.test_incidents import report_body
from tests.service.test_webhooks import Receiver

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

ALL = list(notices.EVENTS)
_made: list[str] = []  # webhooks written straight to the table: paused after each test


@pytest.fixture(autouse=True)
def _room_on_the_insurer_tenant(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """Insurer-wide webhooks all belong to the insurer's own tenant, which the whole session
    shares: the files run before this one on the same xdist worker leave theirs there, so the
    per-tenant limit (tested on a tenant of its own in test_webhooks) would refuse ours by chance."""
    monkeypatch.setattr(app.state.settings, "webhook_max_per_tenant", 1000)


@pytest.fixture(autouse=True)
def _quiet_outbox(app: FastAPI) -> Any:
    """The database is shared by the session: no delivery of another test is due in ours."""
    def settle() -> None:
        with app.state.factory.begin() as s:
            s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.delivered_at.is_(None)).values(failed=True))
    settle()
    yield
    settle()
    with app.state.factory.begin() as s:
        s.execute(update(m.Webhook).where(m.Webhook.id.in_(_made)).values(active=False))


def _hook(app: FastAPI, tenant_id: str, events: list[str], *, scope: str = "tenant", active: bool = True) -> str:
    with app.state.factory.begin() as s:
        hook = m.Webhook(id=m.new_id(), tenant_id=tenant_id, url=f"https://hooks.example/{m.new_id()}",
                         events=events, secret_sealed="x", active=active, scope=scope)
        s.add(hook)
    _made.append(hook.id)
    return hook.id


def _queued(app: FastAPI, hook_id: str) -> list[m.WebhookDelivery]:
    with app.state.factory() as s:
        return list(s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook_id)
                              .order_by(m.WebhookDelivery.id)))


def test_publish_fans_out_to_the_tenants_and_insurer_wide_once_per_key(api: Api, app: FastAPI) -> None:
    a, b = api.tenant(), api.tenant()
    hook_a = _hook(app, a, ["claim.decided", "payout.sent"])
    hook_a_other = _hook(app, a, ["payout.sent"])  # not subscribed to claim.decided
    hook_a_paused = _hook(app, a, ["claim.decided"], active=False)
    hook_b = _hook(app, b, ["claim.decided"])  # another tenant: not concerned
    hook_wide = _hook(app, api.insurer, ["claim.decided"], scope="insurer")
    key = f"claim.decided:{m.new_id()}"
    data = {"claim_id": 7, "decision": "approved"}
    with app.state.factory.begin() as s:
        n = notices.publish(s, "claim.decided", data, key=key, tenant_ids=[a], block=12, tx="0xab")
    assert n >= 2  # other tests' insurer-wide webhooks may be subscribed too
    [row] = _queued(app, hook_a)
    assert row.event_type == "claim.decided"
    assert row.event_id == notices.event_id(key, hook_a)
    assert row.payload == {"id": row.event_id, "type": "claim.decided", "block": 12, "tx": "0xab", "data": data}
    [wide] = _queued(app, hook_wide)
    assert wide.payload["tenant_ids"] == [a]  # the insurer sees whose notice it is
    assert wide.event_id != row.event_id
    for h in (hook_a_other, hook_a_paused, hook_b):
        assert _queued(app, h) == []
    with app.state.factory.begin() as s:  # the same occurrence again: nothing new
        assert notices.publish(s, "claim.decided", data, key=key, tenant_ids=[a], block=12, tx="0xab") == 0
    with app.state.factory.begin() as s:  # another occurrence: queued
        assert notices.publish(s, "claim.decided", data, key=key + "-2", tenant_ids=[a]) >= 2
    assert len(_queued(app, hook_a)) == 2
    assert _queued(app, hook_a)[1].payload["block"] is None


def test_publish_without_tenants_reaches_insurer_wide_only(api: Api, app: FastAPI) -> None:
    a = api.tenant()
    hook_a = _hook(app, a, ["risk.changed"])
    hook_wide = _hook(app, api.insurer, ["risk.changed"], scope="insurer")
    with app.state.factory.begin() as s:
        notices.publish(s, "risk.changed", {}, key=f"k:{m.new_id()}")
    assert _queued(app, hook_a) == []
    assert len(_queued(app, hook_wide)) == 1


def test_publish_refuses_an_unknown_type(app: FastAPI) -> None:
    with app.state.factory() as s, pytest.raises(ValueError, match="unknown notice type"):
        notices.publish(s, "policy.exploded", {}, key="x")


def test_events_cover_the_issue_and_the_old_names() -> None:
    issue = {"outage.started", "outage.verified", "outage.closed", "payout.sent", "payout.failed", "claim.opened",
             "claim.decided", "assessment.due", "assessment.overdue", "risk.changed", "policy.expiring",
             "policy.cancelled"}
    old = {"payout.credited", "claim.approved", "claim.rejected", "claim.lapsed", "policy.renewed"}
    incidents = {"incident.reported", "incident.report_anchored"}  # the §8 intake and report (finish13)
    issuance = {"policy.issued"}  # each cover of a batch answered before it is mined (issue 14)
    assert set(notices.EVENTS) == issue | old | incidents | issuance
    assert len(notices.EVENTS) == len(set(notices.EVENTS))


def test_an_occurrence_is_published_once_even_for_a_webhook_created_later(api: Api, app: FastAPI) -> None:
    a = api.tenant()
    key = f"policy.expiring:{m.new_id()}"
    with app.state.factory.begin() as s:
        assert notices.publish(s, "policy.expiring", {}, key=key, tenant_ids=[a]) == 0  # nobody subscribed yet
    late = _hook(app, a, ["policy.expiring"])
    with app.state.factory.begin() as s:
        assert notices.publish(s, "policy.expiring", {}, key=key, tenant_ids=[a]) == 0
        assert notices.published(s, key)
    assert _queued(app, late) == []


# --- end to end: the chain's and the worker's notices, delivered signed, once ---------------

@pytest.fixture
def local_dev(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.settings, "webhook_allow_loopback_http", True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _register(api: Api, headers: dict[str, str], url: str, events: list[str] = ALL) -> dict[str, Any]:
    return dict(api.ok(api.c.post("/v1/webhooks", json={"url": url, "events": events}, headers=headers), 201))


def _deliver_all(app: FastAPI) -> int:
    """Delivers everything due (a failed attempt — the test receiver's backlog is small — is due
    again at once, backoff 0); returns how many were delivered."""
    d = WebhookDispatcher.from_settings(app.state.factory, app.state.settings, allow_loopback_http=True,
                                        resolver=lambda host, port: ["127.0.0.1"], backoff=0,
                                        limits=Limits(tenant_concurrency=4, concurrency=4))
    total = 0
    # Until nothing is due: the insurer-wide hook also hears of every other cover on the session's
    # chain (policy.expiring), so the count depends on the files run before this one.
    for _ in range(100_000):
        r = d.run_once()
        total += r.delivered
        if not (r.delivered or r.retrying):
            break
    return total


def _received(receiver: Receiver, hooks: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The deliveries by webhook: each verifies under exactly one webhook's secret (its own)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for headers, body in receiver.received:
        payload = json.loads(body)
        [name] = [n for n, h in hooks.items() if verify(h["secret"], headers[SIGNATURE_HEADER], body)]
        assert not verify(hooks[name]["secret"], headers[SIGNATURE_HEADER], body + b" ")
        assert headers[EVENT_HEADER] == payload["id"]
        out[name].append(payload)
    return out


def _outbox(app: FastAPI, hook_ids: list[str]) -> int:
    with app.state.factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.WebhookDelivery)
                            .where(m.WebhookDelivery.webhook_id.in_(hook_ids))) or 0)


def _open_claim(api: Api, app: FastAPI, policy: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", params={"status": "open"}, headers=headers))
               if c["policy_id"] == policy["id"]]
    return dict(claim)


@pytest.mark.timeout(240)
def test_every_notice_type_is_delivered_signed_to_its_recipients_and_never_twice(
        api: Api, app: FastAPI, local_dev: None, receiver: Receiver) -> None:
    a, b = api.tenant(), api.tenant()
    ha, hb = api.key(a, "distributor"), api.key(b, "distributor")
    hooks = {"a": _register(api, ha, receiver.url + "/a"), "b": _register(api, hb, receiver.url + "/b"),
             "insurer": _register(api, api.staff("auditor"), receiver.url + "/insurer")}
    assert (hooks["a"]["scope"], hooks["b"]["scope"], hooks["insurer"]["scope"]) == ("tenant", "tenant", "insurer")
    assert sorted(hooks["a"]["events"]) == sorted(ALL)
    ids = [h["id"] for h in hooks.values()]

    # A: an outage on s1 pays 150 and opens a 50 claim, approved in part (20); another on s2
    # opens a claim that is rejected; a third cover (no outage) is cancelled.
    s1, s2, s3 = unique_service(), unique_service(), unique_service()
    _, p1 = issue(api, a, ha, s1)
    _, p2 = issue(api, a, ha, s2)
    _, p3 = issue(api, a, ha, unique_service())
    # B: its claim lapses (nobody decides within the hour), then its policy is renewed.
    _, pb = issue(api, b, hb, s3, claim_seconds=HOUR)
    o1 = outage(api, s1, 5 * HOUR, ha)
    outage(api, s2, 5 * HOUR, ha)
    outage(api, s3, 5 * HOUR, hb)
    worker(app).run_once()
    reviewer = api.staff("claims")
    c1, c2, cb = _open_claim(api, app, p1, ha), _open_claim(api, app, p2, ha), _open_claim(api, app, pb, hb)
    # Its incident goes through the §8 routes: incident.reported, then incident.report_anchored.
    w1 = {"start": o1["start"], "end": o1["end"]}
    i1 = api.ok(api.c.post("/v1/incidents", json={"policy_id": p1["id"], "description": "platform down 5 h",
                                                  "outage": w1, "log_retention_days": 200}, headers=ha), 201)
    assessor = api.staff("assessor")
    api.ok(api.c.post(f"/v1/incidents/{i1['id']}/assessment", headers=assessor))
    r1 = api.ok(api.c.post(f"/v1/incidents/{i1['id']}/report", json=report_body(), headers=assessor), 201)
    api.ok(api.c.post(f"/v1/assessments/{r1['id']}/anchor", headers=assessor))
    incident = api.ok(api.c.get(f"/v1/incidents/{i1['id']}", headers=ha))["report"]["anchor_id"]
    api.ok(api.c.post(f"/v1/claims/{c1['id']}/approve", json={"incident_report": incident, "amount": 20 * USD},
                      headers=reviewer))
    reason = "the outage was the insured's own migration"
    api.ok(api.c.post(f"/v1/claims/{c2['id']}/reject", json={"reason": reason}, headers=reviewer))
    api.ok(api.c.post(f"/v1/policies/{p3['id']}/cancel", headers=ha))
    api.chain.travel(HOUR + 1)
    assert cb["id"] in worker(app).run_once().lapsed
    # policy.expiring: p1, p2 and pb end within 31 days; p3 is cancelled. Twice: announced once.
    expiring = ExpiringNotices(app.state.gateway, app.state.factory, app.state.indexer, days=31)
    first = expiring.run_once()
    assert {p1["id"], p2["id"], pb["id"]} <= set(first.expiring)
    assert p3["id"] not in first.expiring
    assert not {p1["id"], pb["id"]} & set(expiring.run_once().expiring)
    renewed = api.ok(api.c.post(f"/v1/policies/{pb['id']}/renew", headers=hb), 201)
    app.state.indexer.sync()
    # The types other packages publish (assessment.due / .overdue from the due list, risk.changed
    # from re-rating) go through the same function.
    with app.state.factory.begin() as s:
        for event in ("assessment.due", "assessment.overdue", "risk.changed"):
            notices.publish(s, event, {"policy_ids": [p1["id"]]}, key=f"{event}:{p1['id']}:test", tenant_ids=[a])

    delivered = _deliver_all(app)
    with app.state.factory() as s:
        left = [(r.event_type, r.attempts, r.last_error, r.failed) for r in s.scalars(select(m.WebhookDelivery).where(
            m.WebhookDelivery.webhook_id.in_(ids), m.WebhookDelivery.delivered_at.is_(None)))]
    assert delivered == _outbox(app, ids), left
    got = _received(receiver, hooks)
    types = {name: sorted({p["type"] for p in payloads}) for name, payloads in got.items()}
    chain_a = {"outage.started", "outage.verified", "outage.closed", "payout.sent", "claim.opened",
               "claim.approved", "claim.rejected", "claim.decided", "policy.cancelled", "policy.expiring",
               "incident.reported", "incident.report_anchored", "policy.issued"}
    others = {"assessment.due", "assessment.overdue", "risk.changed"}
    chain_b = {"outage.started", "outage.verified", "outage.closed", "payout.sent", "claim.opened", "claim.lapsed",
               "claim.decided", "policy.expiring", "policy.renewed", "policy.issued"}
    assert types["a"] == sorted(chain_a | others)
    assert types["b"] == sorted(chain_b)
    # Insurer-wide: everyone's (payout.failed and payout.credited: the blacklisting token's test).
    assert set(types["insurer"]) >= chain_a | chain_b | others
    assert set(ALL) - set(types["insurer"]) == {"payout.failed", "payout.credited"}
    for name, payloads in got.items():
        assert len({p["id"] for p in payloads}) == len(payloads), name  # one delivery per event id

    def of(name: str, event: str, **match: Any) -> list[dict[str, Any]]:
        return [p for p in got[name] if p["type"] == event and all(p["data"].get(k) == v for k, v in match.items())]

    # A client sees its own tenant's only; the insurer sees whose notice it is.
    assert all(p["data"].get("policy_id") in (None, pb["id"], renewed["id"]) for p in got["b"])
    s3_id = "0x" + eip712.service_id(s3).hex()
    assert all(p["data"].get("service_id") in (None, s3_id) for p in got["b"])
    assert all("tenant_ids" not in p for p in got["a"] + got["b"])
    [wide] = of("insurer", "claim.decided", claim_id=c1["id"])
    assert wide["tenant_ids"] == [a]
    # Payloads.
    sid = "0x" + eip712.service_id(s1).hex()
    [started] = of("a", "outage.started", service_id=sid)
    assert (started["data"]["end"] - started["data"]["start"], started["data"]["downtime_seconds"]) == (5 * HOUR,) * 2
    assert (started["data"]["ongoing"], started["data"]["index"], started["data"]["replaced"]) == (False, 0, 0)
    assert started["block"] is not None and started["tx"].startswith("0x")
    [verified] = of("a", "outage.verified", service_id=sid)
    [closed] = of("a", "outage.closed", service_id=sid)
    assert verified["data"] == closed["data"] == started["data"]
    assert len(of("a", "outage.verified")) == len(of("a", "outage.closed")) == 2  # s1 and s2, once each
    assert not of("b", "outage.verified", service_id=sid)  # B has no live policy on s1
    assert len(of("insurer", "outage.verified", service_id=sid)) == 1
    [approved] = of("a", "claim.decided", claim_id=c1["id"])
    assert approved["data"] == {"claim_id": c1["id"], "policy_id": p1["id"], "decision": "approved",
                                "claimed": str(50 * USD), "approved_amount": str(20 * USD), "reason_hash": None,
                                "incident_report": incident}
    [rejected] = of("a", "claim.decided", claim_id=c2["id"])
    assert rejected["data"] == {"claim_id": c2["id"], "policy_id": p2["id"], "decision": "rejected",
                                "claimed": str(50 * USD), "approved_amount": "0",
                                "reason_hash": "0x" + keccak(text=reason).hex(), "incident_report": None}
    [lapsed] = of("b", "claim.decided", claim_id=cb["id"])
    assert (lapsed["data"]["decision"], lapsed["data"]["approved_amount"]) == ("lapsed", str(50 * USD))
    [reported] = of("a", "incident.reported")
    s1_id = "0x" + eip712.service_id(s1).hex()
    assert reported["data"] == {"incident_id": i1["id"], "policy_id": p1["id"], "service_id": s1_id, "tenant_id": a,
                                "description": "platform down 5 h", "reported_at": reported["data"]["reported_at"],
                                "response_deadline": reported["data"]["reported_at"] + HOUR, "outage": w1,
                                "log_retention_days": 200}
    assert (reported["block"], reported["tx"]) == (None, None)
    [anchored] = of("a", "incident.report_anchored")
    assert {k: anchored["data"][k] for k in ("incident_id", "policy_id", "service_id", "assessment_id", "anchor_id",
                                             "report_hash", "subject", "losses_total_minor", "currency")} == {
        "incident_id": i1["id"], "policy_id": p1["id"], "service_id": s1_id, "assessment_id": r1["id"],
        "anchor_id": incident, "report_hash": r1["report_hash"], "subject": r1["subject"],
        "losses_total_minor": str(50 * 100), "currency": "USD"}
    assert anchored["data"]["outage"] == {"service_id": s1_id, **w1}
    assert anchored["tx"] == anchored["data"]["anchor_tx"] and anchored["block"] == anchored["data"]["anchor_block"]
    assert not of("b", "incident.reported") and len(of("insurer", "incident.report_anchored")) == 1
    [cancelled] = of("a", "policy.cancelled")
    assert cancelled["data"]["policy_id"] == p3["id"]
    [exp] = of("a", "policy.expiring", policy_id=p1["id"])
    assert exp["data"]["policy_id"] == p1["id"] and exp["data"]["cover_end"] == p1["cover_end"]
    assert 0 < exp["data"]["seconds_left"] <= 31 * 86400
    assert exp["block"] is None

    # Deduplicable: the same occurrences again queue nothing — a second pass, a reindex, and a
    # replay of the whole chain with notifications on (what the indexer does after a reorg).
    queued = _outbox(app, ids)
    assert expiring.run_once().queued == 0
    app.state.indexer.rebuild()
    with app.state.factory.begin() as s:
        s.execute(update(m.ChainCursor).values(hash="0x" + "00" * 32))
    assert app.state.indexer.sync() > 0
    assert app.state.indexer.reorgs >= 1
    worker(app).run_once()
    assert _outbox(app, ids) == queued
    assert _deliver_all(app) == 0
    assert len(receiver.received) == sum(len(v) for v in got.values())


@pytest.fixture(scope="module")
def blacklisting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, FastAPI]]:
    chain = make_chain(token_artifact="BlacklistToken")
    tmp = tmp_path_factory.mktemp("notices-credited")
    engine = make_engine(f"sqlite:///{tmp / 'credited.db'}")
    app = build_app(chain, engine, Path(tmp))
    app.state.settings.webhook_allow_loopback_http = True
    yield Api(TestClient(app, raise_server_exceptions=False), chain), app
    engine.dispose()


def test_a_refused_transfer_is_notified_as_payout_failed_credited_for_pull(
        blacklisting: tuple[Api, FastAPI], receiver: Receiver) -> None:
    api, app = blacklisting
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    hooks = {"tenant": _register(api, headers, receiver.url + "/t", ["payout.failed", "payout.credited"]),
             "insurer": _register(api, api.staff("claims"), receiver.url + "/i", ["payout.failed"])}
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    send(api.chain.w3, api.chain.token.functions.setBlacklisted(policy["beneficiary"], True), api.chain.owner,
         gas=TEST_GAS)
    outage(api, service, 5 * HOUR, headers)
    worker(app).run_once()
    assert _deliver_all(app) == 3
    got = _received(receiver, hooks)
    assert sorted(p["type"] for p in got["tenant"]) == ["payout.credited", "payout.failed"]
    [failed] = [p for p in got["tenant"] if p["type"] == "payout.failed"]
    assert failed["data"] == {"policy_id": policy["id"], "amount": str(150 * USD),
                              "payee": policy["beneficiary"], "credited": True}
    [wide] = got["insurer"]
    assert (wide["type"], wide["data"], wide["tenant_ids"]) == ("payout.failed", failed["data"], [tenant])
    app.state.indexer.rebuild()
    worker(app).run_once()
    assert _deliver_all(app) == 0


def test_every_type_is_documented_in_the_readme_and_the_openapi_description(client: TestClient) -> None:
    assert set(notices.PAYLOADS) == set(notices.EVENTS)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert notices.table() in readme  # the README's table is the code's, word for word
    doc = client.get("/openapi.json").json()
    create = doc["paths"]["/v1/webhooks"]["post"]
    for event in notices.EVENTS:
        assert f"| `{event}` |" in create["description"], event
    body = doc["components"]["schemas"]["WebhookIn"]["properties"]["events"]
    enum = body["items"].get("enum") or doc["components"]["schemas"][body["items"]["$ref"].split("/")[-1]]["enum"]
    assert sorted(enum) == sorted(notices.EVENTS)


def test_webhook_routes_for_staff_and_refusals(api: Api, app: FastAPI, local_dev: None) -> None:
    """Staff of the insurer subscribe insurer-wide; the insurer's distributor and clients per
    tenant; a client's auditor may not; an unknown type or none at all is a 422."""
    url = f"http://127.0.0.1:9/{m.new_id()}"
    own = _register(api, api.key(api.insurer, "distributor"), url, ["payout.sent"])
    assert own["scope"] == "tenant"
    tenant = api.tenant()
    refused = api.c.post("/v1/webhooks", json={"url": url, "events": ["payout.sent"]},
                         headers=api.key(tenant, "auditor"))
    assert refused.status_code == 403
    assert refused.json()["type"] == "forbidden"
    for events in (["policy.exploded"], [], ALL + ["payout.sent"]):
        r = api.c.post("/v1/webhooks", json={"url": url + "x", "events": events}, headers=api.key(tenant, "admin"))
        assert r.status_code == 422, events
        assert r.json()["detail"]
    client_admin = _register(api, api.key(tenant, "admin"), url, ALL)
    assert client_admin["scope"] == "tenant"
    for hook_id in (own["id"], client_admin["id"]):
        _made.append(hook_id)
