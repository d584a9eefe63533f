"""Exclusions (issue 12, item 2), the service side: declared maintenance windows and excluded
events through the API, their projection, the episodes mirror against OutageOracle.episodesIn,
and what the worker pays.

Properties:
- the episodes mirror equals episodesIn (start, end, downtime split into down and maintenance
  seconds, ongoing, settled, windows, excluded event) for any windows, maintenance windows
  (cancelled or not) and excluded events, and any [from, until);
- an outage inside a declared window pays nothing; one that overlaps pays only beyond it;
- a window is never declared retroactively, nor beyond the period's budget (409 before any gas,
  and the chain's own refusal maps to the same type).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from contracts import eip712
from contracts.records import Episode as ChainEpisode
from contracts.reverts import ContractRevert
from contracts.sender import send
from service.chain.episodes import group
from service.db import models as m
from service.domain import exclusions as ex
from service.errors import ChainError
from tests.chain import ORACLES, QUORUM, TEST_GAS, USD
from tests.service.helpers import GOVERNANCE_DELAY, HOUR, Api, finality, issue, unique_service, worker

DAY = 86400


def sid_of(service: str) -> str:
    return "0x" + eip712.service_id(service).hex()


def relay(api: Api, service: str, start: int, end: int) -> dict[str, Any]:
    return dict(api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(service, start, end),
                                  headers=api.admin)))


def enable(api: Api, service: str, tenant: str, *, notice: int = HOUR, budget: int = 10 * HOUR) -> dict[str, Any]:
    body = {"tenant_id": tenant, "min_notice_seconds": notice, "max_seconds_per_period": budget}
    return dict(api.ok(api.c.put(f"/v1/services/{sid_of(service)}/maintenance-rules", json=body,
                                 headers=api.staff("underwriter"))))


def declare(api: Api, service: str, start: int, end: int, headers: dict[str, str], status: int = 201) -> Any:
    r = api.c.post(f"/v1/services/{sid_of(service)}/maintenance", json={"start": start, "end": end}, headers=headers)
    return api.ok(r, status)


def episodes(api: Api, service: str) -> list[dict[str, Any]]:
    listed = api.ok(api.c.get("/v1/outages", params={"service_id": sid_of(service)}, headers=api.admin))
    return list(reversed(listed["episodes"]))


def test_constants_are_the_contracts(api: Api) -> None:
    o = api.chain.oracle.functions
    assert (o.MAINTENANCE_PERIOD().call(), o.MAX_MAINTENANCE_PER_PERIOD().call(), o.MAX_EXCLUDED_EVENTS().call()) == (
        ex.MAINTENANCE_PERIOD, ex.MAX_MAINTENANCE_PER_PERIOD, ex.MAX_EXCLUDED_EVENTS)


# --- the worker's payouts --------------------------------------------------------------------

def test_outage_inside_a_declared_window_pays_nothing_and_one_past_it_pays_only_beyond(
        api: Api, app: FastAPI, distributor) -> None:
    """Per-unit cover: 50 per started hour beyond a 1 h threshold, limit 500, auto-pay 150.
    Window [M, M + 3h). Outage A inside it (2 h; alone it would pay 50): nothing. Outage B
    [≈M + 2h, M + 6h + 1) overlaps the window's last hour: 3 h + 1 s count, 150 paid, nothing to
    review; without the window it would count 4 h + 1 s (200: 150 paid and a 50 claim)."""
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    ben = policy["beneficiary"]
    enable(api, service, tenant)
    m0 = api.chain.now() + HOUR + 120
    window = declare(api, service, m0, m0 + 3 * HOUR, headers)
    assert (window["index"], window["cancelled"]) == (0, False)

    api.chain.travel(m0 + 2 * HOUR + 60 - api.chain.now())
    relay(api, service, m0 + 30, m0 + 30 + 2 * HOUR)
    api.chain.travel(finality(api.chain) + 1)
    worker(app).run_once()
    [a] = episodes(api, service)
    assert (a["down_seconds"], a["maintenance_seconds"], a["excluded_event"]) == (0, 2 * HOUR, 0)
    assert a["final"]
    assert api.chain.balance(ben) == 0

    api.chain.travel(m0 + 6 * HOUR + HOUR - api.chain.now())
    relay(api, service, m0 + 2 * HOUR + 30 + 300 + 1, m0 + 6 * HOUR + 1)  # beyond the merge gap: own episode
    api.chain.travel(finality(api.chain) + 1)
    result = worker(app).run_once()
    assert policy["id"] in result.settled
    b = episodes(api, service)[-1]
    assert b["maintenance_seconds"] == m0 + 3 * HOUR - b["start"]
    assert b["down_seconds"] == 3 * HOUR + 1
    assert api.chain.balance(ben) == 150 * USD
    claims = api.ok(api.c.get("/v1/claims", headers=api.staff("claims")))
    assert not [c for c in claims if c["policy_id"] == policy["id"]]
    # The book's figure, from the same episodes: entitlement 150, all paid.
    with app.state.factory() as s:
        row = s.get(m.Policy, policy["id"])
        assert (row.paid, row.settled) == (150 * USD, 150 * USD)


# --- declarations ------------------------------------------------------------------------------

def test_declaration_rules_never_retroactive_budget_order_and_cancel(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    issue(api, tenant, headers, service)
    not_enabled = declare(api, service, api.chain.now() + DAY, api.chain.now() + DAY + 60, headers, 409)
    assert not_enabled["type"] == "maintenance_not_enabled"
    enable(api, service, tenant, notice=HOUR, budget=2 * HOUR)
    now = api.chain.now()

    for start, end, status, kind in (
        (now - 600, now + 600, 409, "maintenance_notice_too_short"),  # retroactive
        (now + 600, now + 1200, 409, "maintenance_notice_too_short"),  # too little notice
        (now + 2 * HOUR, now + 2 * HOUR, 400, "invalid_maintenance_window"),  # end = start
        (now + 3 * HOUR, now + 2 * HOUR, 400, "invalid_maintenance_window"),  # end < start
    ):
        refused = declare(api, service, start, end, headers, status)
        assert refused["type"] == kind, refused
        assert refused["detail"]

    base = (now // ex.MAINTENANCE_PERIOD + 1) * ex.MAINTENANCE_PERIOD + DAY  # inside one period, well ahead
    first = declare(api, service, base, base + HOUR, headers)
    over = declare(api, service, base + 2 * HOUR, base + 3 * HOUR + 1, headers, 409)
    assert over["type"] == "maintenance_budget_exceeded"
    earlier = declare(api, service, base - 2 * HOUR, base - HOUR, headers, 409)
    assert earlier["type"] == "maintenance_out_of_order"
    second = declare(api, service, base + 2 * HOUR, base + 3 * HOUR, headers)  # exactly the budget
    assert second["index"] == first["index"] + 1

    # Cancelling returns the seconds to the budget; the place in the list stays.
    cancelled = api.ok(api.c.delete(f"/v1/services/{sid_of(service)}/maintenance/{second['index']}", headers=headers))
    assert cancelled["cancelled"]
    again = api.c.delete(f"/v1/services/{sid_of(service)}/maintenance/{second['index']}", headers=headers)
    assert (again.status_code, again.json()["type"]) == (409, "maintenance_already_cancelled")
    missing = api.c.delete(f"/v1/services/{sid_of(service)}/maintenance/99", headers=headers)
    assert missing.status_code == 404
    third = declare(api, service, base + 4 * HOUR, base + 5 * HOUR, headers)
    listed = api.ok(api.c.get(f"/v1/services/{sid_of(service)}/maintenance", headers=api.staff("auditor")))
    assert [(w["index"], w["cancelled"]) for w in listed["windows"]] == [
        (first["index"], False), (second["index"], True), (third["index"], False)]
    assert listed["rules"]["tenant_id"] == tenant
    assert (listed["rules"]["min_notice_seconds"], listed["rules"]["max_seconds_per_period"]) == (HOUR, 2 * HOUR)

    # Once a window has started it cannot be cancelled.
    api.chain.travel(base + 10 - api.chain.now())
    started = api.c.delete(f"/v1/services/{sid_of(service)}/maintenance/{first['index']}", headers=headers)
    assert (started.status_code, started.json()["type"]) == (409, "maintenance_started")
    # A declaration for the past: refused.
    late = declare(api, service, base + 5, base + 4 * HOUR - 1, headers, 409)
    assert late["type"] == "maintenance_notice_too_short"


def test_the_chain_refusal_maps_to_the_same_types(api: Api, app: FastAPI, distributor) -> None:
    """The off-chain checks are a courtesy: sent anyway, the contract refuses with the same type."""
    tenant, headers = distributor
    service = unique_service()
    issue(api, tenant, headers, service)
    enable(api, service, tenant, notice=HOUR, budget=HOUR)
    gw = app.state.gateway
    sid = eip712.service_id(service)
    now = api.chain.now()
    with pytest.raises(ChainError) as retro:
        gw.send(gw.oracle.functions.declareMaintenance(sid, now - 10, now + 10))
    assert (retro.value.status, retro.value.type) == (409, "maintenance_notice_too_short")
    with pytest.raises(ChainError) as budget:
        gw.send(gw.oracle.functions.declareMaintenance(sid, now + 2 * HOUR, now + 3 * HOUR + 1))
    assert (budget.value.status, budget.value.type) == (409, "maintenance_budget_exceeded")


def test_who_may_set_declare_and_read(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    other = api.tenant()
    other_headers = api.key(other, "distributor")
    service = unique_service()
    issue(api, tenant, headers, service)
    sid = sid_of(service)
    rules = {"tenant_id": tenant, "min_notice_seconds": 60, "max_seconds_per_period": 4 * HOUR}
    for who in (headers, api.staff("claims"), api.staff("auditor"), api.key(tenant, "admin")):
        assert api.c.put(f"/v1/services/{sid}/maintenance-rules", json=rules, headers=who).status_code == 403
    insurer_tenant = api.c.put(f"/v1/services/{sid}/maintenance-rules", json={**rules, "tenant_id": api.insurer},
                               headers=api.staff("underwriter"))
    assert (insurer_tenant.status_code, insurer_tenant.json()["type"]) == (400, "not_a_client_tenant")
    unknown_tenant = api.c.put(f"/v1/services/{sid}/maintenance-rules", json={**rules, "tenant_id": "nobody"},
                               headers=api.staff("underwriter"))
    assert unknown_tenant.status_code == 404
    enable(api, service, tenant, notice=60, budget=4 * HOUR)

    start = api.chain.now() + HOUR
    for who in (other_headers, api.staff("claims"), api.staff("auditor"), api.key(other, "admin")):
        assert api.c.post(f"/v1/services/{sid}/maintenance", json={"start": start, "end": start + 60},
                          headers=who).status_code == 403
    declare(api, service, start, start + 60, api.key(tenant, "admin"))  # the tenant's admin acts as its distributor
    declare(api, service, start + 120, start + 180, api.staff("underwriter"))
    assert api.c.delete(f"/v1/services/{sid}/maintenance/0", headers=other_headers).status_code == 403
    # Public: every person's key reads windows and events, any tenant's.
    for who in (other_headers, api.staff("auditor"), api.key(other, "auditor")):
        assert len(api.ok(api.c.get(f"/v1/services/{sid}/maintenance", headers=who))["windows"]) == 2
        assert api.ok(api.c.get(f"/v1/services/{sid}/excluded-events", headers=who)) == []
    assert api.c.get(f"/v1/services/{sid}/maintenance").status_code == 401


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/v1/services/0x" + "zz" * 32 + "/maintenance", {"start": 1, "end": 2}, 400),
    ("/v1/services/not%20a%20name/maintenance", {"start": 1, "end": 2}, 400),
    ("/v1/services/" + "0x" + "ab" * 32 + "/maintenance", {"start": 1, "end": 2}, 404),  # no product covers it
    ("/v1/services/x/maintenance", {"start": -1, "end": 2}, 422),
    ("/v1/services/x/maintenance", {"start": 1}, 422),
    ("/v1/services/x/maintenance", {"start": "2026-01-01T00:00:00Z", "end": 2}, 422),
    ("/v1/services/x/maintenance", {"start": True, "end": 2}, 422),
    ("/v1/services/x/maintenance", {"start": 1, "end": 2, "extra": 1}, 422),
    ("/v1/excluded-events", {"services": [], "start": 1, "end": 2, "reason": "war"}, 422),
    ("/v1/excluded-events", {"services": ["x"], "start": 1, "end": 2, "reason": ""}, 422),
    ("/v1/excluded-events", {"services": ["nothing-covers-this"], "start": 1, "end": 2, "reason": "war"}, 404),
    ("/v1/excluded-events", {"services": ["a b"], "start": 1, "end": 2, "reason": "war"}, 400),
])
def test_bad_input_is_a_4xx_with_a_detail(api: Api, path: str, body: dict[str, Any], status: int) -> None:
    r = api.c.post(path, json=body, headers=api.staff("underwriter"))
    assert r.status_code == status, r.text
    assert r.json()["detail"]


# --- excluded events ---------------------------------------------------------------------------

def test_excluded_event_through_the_timelock(api: Api, app: FastAPI, distributor) -> None:
    """Scheduled (202, operation id and ready time), executed only after the delay, once; then
    public with its reason text, flagged on the episodes it overlaps and listed by the product."""
    tenant, headers = distributor
    service, other = unique_service(), unique_service()
    prod, _ = issue(api, tenant, headers, service)
    issue(api, tenant, headers, other)
    uw = api.staff("underwriter")
    t = api.chain.now()
    relay(api, service, t - 3 * HOUR, t - 2 * HOUR)  # inside the event
    relay(api, service, t - 10 * HOUR, t - 9 * HOUR)  # before it
    reason = "State-backed attack on the provider's region (CERT advisory 2026-17)"
    body = {"services": [sid_of(service), sid_of(other)], "start": t - 4 * HOUR, "end": t - HOUR, "reason": reason}
    for who in (headers, api.staff("claims"), api.staff("auditor")):
        assert api.c.post("/v1/excluded-events", json=body, headers=who).status_code == 403
    bad = api.c.post("/v1/excluded-events", json={**body, "end": body["start"]}, headers=uw)
    assert (bad.status_code, bad.json()["type"]) == (400, "invalid_excluded_event")
    twice = api.c.post("/v1/excluded-events", json={**body, "services": [sid_of(service)] * 2}, headers=uw)
    assert (twice.status_code, twice.json()["type"]) == (400, "duplicate_service")

    op = api.ok(api.c.post("/v1/excluded-events", json=body, headers=uw), 202)
    assert op["state"] == "waiting"
    assert op["ready_at"] >= api.chain.now() + GOVERNANCE_DELAY - 5
    assert op["reason_hash"] == "0x" + keccak(text=reason).hex()
    early = api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=uw)
    assert (early.status_code, early.json()["type"]) == (409, "operation_not_ready")
    assert api.ok(api.c.get(f"/v1/services/{sid_of(service)}/excluded-events", headers=headers)) == []

    api.chain.travel(op["ready_at"] - api.chain.now() + 1)
    assert api.ok(api.c.get(f"/v1/excluded-events/{op['operation']}", headers=headers))["state"] == "ready"
    assert api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=headers).status_code == 403
    done = api.ok(api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=uw))
    assert done["state"] == "done"
    assert done["executed_tx"]
    again = api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=uw)
    assert (again.status_code, again.json()["type"]) == (409, "already_executed")
    assert api.c.get("/v1/excluded-events/0x" + "00" * 32, headers=uw).status_code == 404

    for s in (service, other):
        [event] = api.ok(api.c.get(f"/v1/services/{sid_of(s)}/excluded-events", headers=api.staff("auditor")))
        assert (event["index"], event["start"], event["end"], event["reason"]) == (0, t - 4 * HOUR, t - HOUR, reason)
    before, inside = episodes(api, service)
    assert (before["excluded_event"], inside["excluded_event"]) == (0, 1)

    product = api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=headers))
    codes = {x["code"]: x for x in product["exclusions"]}
    assert set(codes) == {"known_loss", "waiting_period", "excluded_events"}
    assert codes["excluded_events"]["declared"][0]["reason"] == reason
    assert codes["excluded_events"]["governance_delay_seconds"] == GOVERNANCE_DELAY
    assert all(x["en"] and x["zh"] for x in product["exclusions"])


def test_product_lists_maintenance_rules_once_set(api: Api, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    prod, _ = issue(api, tenant, headers, service, waiting_seconds=2 * HOUR)
    listed = api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=headers))["exclusions"]
    assert "scheduled_maintenance" not in {x["code"] for x in listed}
    assert next(x for x in listed if x["code"] == "waiting_period")["waiting_seconds"] == 2 * HOUR
    enable(api, service, tenant, notice=DAY, budget=4 * HOUR)
    start = api.chain.now() + 2 * DAY
    declare(api, service, start, start + HOUR, headers)
    listed = api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=api.staff("auditor")))["exclusions"]
    maint = next(x for x in listed if x["code"] == "scheduled_maintenance")
    assert (maint["min_notice_seconds"], maint["max_seconds_per_period"], maint["period_seconds"]) == (
        DAY, 4 * HOUR, ex.MAINTENANCE_PERIOD)
    assert maint["declared"] == [{"index": 0, "start": start, "end": start + HOUR}]


def test_a_claim_shows_the_excluded_event_its_cover_overlapped(api: Api, app: FastAPI, distributor) -> None:
    """The claim view names the event (period, reason text) of the episode in the policy's cover."""
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    t = api.chain.now() + 60
    api.chain.travel(60 + 5 * HOUR + 30)
    relay(api, service, t, t + 5 * HOUR)  # auto-pays 150 and opens a 50 claim
    api.chain.travel(finality(api.chain) + 1)
    worker(app).run_once()
    reviewer = api.staff("claims")
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", headers=reviewer)) if c["policy_id"] == policy["id"]]
    assert claim["excluded_event"] is None
    reason = "Cyber war: hostilities declared against the provider's country"
    op = api.ok(api.c.post("/v1/excluded-events", json={"services": [sid_of(service)], "start": t + HOUR,
                                                       "end": t + 2 * HOUR, "reason": reason},
                           headers=api.staff("underwriter")), 202)
    api.chain.travel(op["ready_at"] - api.chain.now() + 1)
    api.ok(api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=api.admin))
    shown = api.ok(api.c.get(f"/v1/claims/{claim['id']}", headers=headers))
    assert shown["excluded_event"] == {"service_id": sid_of(service), "index": 0, "start": t + HOUR,
                                       "end": t + 2 * HOUR, "reason": reason,
                                       "reason_hash": "0x" + keccak(text=reason).hex(),
                                       "declared_at": shown["excluded_event"]["declared_at"]}


def test_an_outage_inside_a_declared_excluded_event_never_auto_pays(api: Api, app: FastAPI, distributor) -> None:
    """The event is declared first (through the timelock); an outage inside it that would pay 150 at
    once pays nothing through the worker: all of its entitlement goes to a claim, reason excluded_event."""
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    t = api.chain.now() + 2 * HOUR
    op = api.ok(api.c.post("/v1/excluded-events", json={"services": [sid_of(service)], "start": t,
                                                       "end": t + 6 * HOUR, "reason": "state-backed attack"},
                           headers=api.staff("underwriter")), 202)
    api.chain.travel(op["ready_at"] - api.chain.now() + 1)
    api.ok(api.c.post(f"/v1/excluded-events/{op['operation']}/execute", headers=api.admin))
    api.chain.travel(t + 5 * HOUR + 60 - api.chain.now())
    relay(api, service, t + 60, t + 60 + 4 * HOUR)  # 3 started hours beyond the 1 h threshold: 150
    api.chain.travel(finality(api.chain) + 1)
    worker(app).run_once()
    [e] = episodes(api, service)
    assert e["excluded_event"] == 1
    assert api.chain.balance(policy["beneficiary"]) == 0
    claims = api.ok(api.c.get("/v1/claims", headers=api.staff("claims")))
    [claim] = [c for c in claims if c["policy_id"] == policy["id"]]
    assert (claim["amount"], claim["review_reason"], claim["status"]) == (150 * USD, "excluded_event", "open")
    with app.state.factory() as s:
        row = s.get(m.Policy, policy["id"])
        assert (row.paid, row.settled, row.event_settled) == (0, 150 * USD, 150 * USD)


# --- the episodes mirror against the contract --------------------------------------------------

spans = st.lists(st.tuples(st.integers(0, 1500), st.integers(1, 2400)), min_size=1, max_size=6)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(outages=spans, maintenance=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3000), st.booleans()),
                                           max_size=5),
       events=st.lists(st.tuples(st.integers(-2000, 12000), st.integers(1, 6000)), max_size=3),
       order=st.randoms(use_true_random=False), cut=st.tuples(st.integers(-500, 16000), st.integers(0, 20000)),
       events_first=st.booleans())
def test_episodes_mirror_equals_episodes_in(api: Api, app: FastAPI, outages: list[tuple[int, int]],
                                            maintenance: list[tuple[int, int, bool]],
                                            events: list[tuple[int, int]], order: Any, cut: tuple[int, int],
                                            events_first: bool) -> None:
    """Random windows (verified in a random order: merges and late insertions), maintenance windows
    declared ahead (some cancelled), excluded events before or after the outages: the projection's
    episodes equal episodesIn for a random [from, until)."""
    chain = api.chain
    o = chain.oracle.functions
    sid = eip712.service_id(unique_service())
    owner = chain.owner
    send(chain.w3, o.setMaintenanceRules(sid, (chain.operator, 0, ex.MAINTENANCE_PERIOD)), chain.operator,
         gas=TEST_GAS)
    base = chain.now() + 100
    at = base
    for gap, length, cancel in maintenance:
        at += gap
        send(chain.w3, o.declareMaintenance(sid, at, at + length), chain.operator, gas=TEST_GAS)
        if cancel:
            index = o.maintenanceCount(sid).call() - 1
            send(chain.w3, o.cancelMaintenance(sid, index), chain.operator, gas=TEST_GAS)
        at += length

    def declare_events() -> None:
        for offset, length in events:
            send(chain.w3, o.declareExcludedEvent([sid], base + offset, base + offset + length, keccak(b"e")), owner,
                 gas=TEST_GAS)

    if events_first:
        declare_events()
    windows, at = [], base
    for gap, length in outages:
        at += gap
        windows.append((at, at + length))
        at += length
    chain.travel(max(at, base) + 10 - chain.now())
    order.shuffle(windows)
    for start, end in windows:
        try:
            send(chain.w3, o.submit(sid, 1, _signed(chain, sid, start, end)), owner, gas=TEST_GAS)
        except ContractRevert as exc:  # a window inside earlier ones adds nothing: refused, as it should be
            assert exc.name == "OutageOracleWindowAlreadyCovered"
    if not events_first:
        declare_events()
    chain.travel(app.state.gateway.episode_params()[1] + 1)  # every start final: `settled` is compared too
    app.state.indexer.sync()

    merge_gap, fin = app.state.gateway.episode_params()
    hexed = "0x" + sid.hex()
    with app.state.factory() as s:
        rows = list(s.scalars(select(m.Outage).where(m.Outage.service_id == hexed)))
        maint = list(s.scalars(select(m.MaintenanceWindow).where(m.MaintenanceWindow.service_id == hexed)))
        evs = list(s.scalars(select(m.ExcludedEvent).where(m.ExcludedEvent.service_id == hexed)))
    # The projection is the chain's lists.
    assert [(w.start, w.end, w.cancelled) for w in sorted(maint, key=lambda w: w.index)] == [
        (x[0], x[1], x[3]) for x in (o.maintenanceAt(sid, i).call() for i in range(o.maintenanceCount(sid).call()))]
    assert [(e.start, e.end) for e in sorted(evs, key=lambda e: e.index)] == [
        tuple(o.excludedEventAt(sid, i).call()[:2]) for i in range(o.excludedEventCount(sid).call())]

    now = chain.now()
    frm, until = base + cut[0], base + cut[0] + cut[1]
    mirror = [e for e in group(hexed, rows, merge_gap, fin, maint, evs) if frm <= e.start < until]
    raw, truncated = o.episodesIn(sid, max(frm, 0), until, 1000).call()
    assert not truncated
    assert [(e.start, e.end, e.down_seconds, e.maintenance_seconds, e.ongoing, e.final(now), len(e.windows),
             e.excluded_event) for e in mirror] == [
        (c.start, c.end, c.down_seconds, c.maintenance_seconds, c.ongoing, c.settled, c.windows, c.excluded_event)
        for c in map(ChainEpisode.decode, raw)]


def _signed(chain: Any, sid: bytes, start: int, end: int) -> list[tuple[Any, ...]]:
    dom = eip712.oracle_domain(chain.w3.eth.chain_id, chain.oracle.address)
    out = []
    for o in ORACLES[:QUORUM]:
        root = keccak(text=f"evidence-{o.name}-{start}-{end}")
        msg = eip712.outage_report_message(sid, 1, start, end, False, root, 1)
        sig = eip712.sign_outage_report(o.key, dom, msg)
        out.append((start, end, False, root, 1, sig.r, sig.vs))
    return out


def test_mirror_by_hand() -> None:
    """Hand cases: overlap at either edge, a cancelled window, the lowest overlapping event."""
    w = [SimpleNamespace(index=i, start=s, end=e, ongoing=False, start_since=0) for i, (s, e) in
         enumerate([(100, 200), (250, 400), (1000, 1100)])]
    maint = [SimpleNamespace(start=150, end=260, cancelled=False), SimpleNamespace(start=300, end=350, cancelled=True),
             SimpleNamespace(start=1050, end=2000, cancelled=False)]
    evs = [SimpleNamespace(index=0, start=5000, end=6000), SimpleNamespace(index=1, start=1099, end=1100),
           SimpleNamespace(index=2, start=0, end=101)]
    a, b = group("s", w, 300, 60, maint, evs)
    assert (a.start, a.end, a.down_seconds, a.maintenance_seconds, a.excluded_event) == (100, 400, 50 + 140, 60, 3)
    assert (b.down_seconds, b.maintenance_seconds, b.excluded_event) == (50, 50, 2)
