"""After losing the database, the projection is rebuilt from the chain alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from contracts import eip712
from contracts.sender import send
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_sessionmaker
from tests.chain import TEST_GAS
from tests.service.conftest import fresh_engine
from tests.service.helpers import HOUR, Api, issue, outage, unique_service, worker

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

TABLES: dict[type[m.Base], tuple[str, ...]] = {
    m.Product: ("id", "service_id", "trigger_seconds", "payout_kind", "auto_pay_limit", "policy_limit", "active",
                "grace_seconds", "max_cover_seconds", "max_start_delay", "min_premium", "medium_limit", "min_rate_ppm",
                "claim_seconds", "exposure_cap", "event_cap", "cancellation_fee"),
    m.Policy: ("id", "product_id", "issuer", "beneficiary", "holder", "subject", "report_hash", "limit", "premium",
               "settled", "paid", "open_claim", "status", "tx", "schedule_hash", "renewal_of", "renewed_by",
               "event_settled", "refund", "released", "cancel_tx"),
    m.Outage: ("service_id", "index", "start", "end", "ongoing", "version", "verified_at", "start_since"),
    m.Claim: ("id", "policy_id", "amount", "entitlement", "status", "deadline", "approved", "incident_report",
              "reason_hash", "reason"),
    m.Payout: ("policy_id", "beneficiary", "amount", "entitlement", "status", "block", "tx", "log_index"),
    m.Anchor: ("anchor_id", "report_hash", "assessor", "subject", "score_bps", "risk_level", "kind", "revoked"),
    m.ServiceCap: ("service_id", "cap", "block", "tx"),
    m.MaintenanceRules: ("service_id", "maintainer", "min_notice", "max_seconds_per_period", "block"),
    m.MaintenanceWindow: ("service_id", "index", "start", "end", "declared_at", "cancelled", "block", "tx"),
    m.ExcludedEvent: ("service_id", "index", "start", "end", "reason_hash", "declared_at", "block", "tx"),
}


def snapshot(factory: Any) -> dict[str, list[tuple[Any, ...]]]:
    with factory() as s:
        return {t.__tablename__: sorted(tuple(getattr(r, c) for c in cols) for r in s.scalars(select(t)))
                for t, cols in TABLES.items()}


def test_reindex_restores_policies_outages_claims_payouts(api: Api, app: FastAPI, backend: str,
                                                         tmp_path: Path) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    service = unique_service()
    _, paid_policy = issue(api, tenant, headers, service)
    outage(api, service, 5 * HOUR, headers)  # auto-pays 150 and opens a 50 claim
    worker(app).run_once()
    reviewer = api.staff("claims")
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", params={"status": "open"}, headers=reviewer))
               if c["policy_id"] == paid_policy["id"]]
    api.ok(api.c.post(f"/v1/claims/{claim['id']}/reject", json={"reason": "outside the cover's terms"},
                      headers=reviewer))
    # Exclusions: rules, a declared and a cancelled window, an excluded event.
    sid = "0x" + eip712.service_id(service).hex()
    api.chain.travel(600)  # past the outage's merge gap: no maintenance is declared while one may grow
    api.ok(api.c.put(f"/v1/services/{sid}/maintenance-rules", headers=api.staff("underwriter"),
                     json={"tenant_id": tenant, "min_notice_seconds": 60, "max_seconds_per_period": 4 * HOUR}))
    start = api.chain.now() + HOUR
    for offset in (0, 2 * HOUR):
        api.ok(api.c.post(f"/v1/services/{sid}/maintenance", json={"start": start + offset, "end": start + offset + 60},
                          headers=headers), 201)
    api.ok(api.c.delete(f"/v1/services/{sid}/maintenance/1", headers=headers))
    send(api.chain.w3, api.chain.oracle.functions.declareExcludedEvent([bytes.fromhex(sid[2:])], 1, 2, b"\x01" * 32),
         api.chain.owner, gas=TEST_GAS)
    app.state.indexer.sync()
    before = snapshot(app.state.factory)
    assert len(before["maintenance_windows"]) >= 2
    assert before["maintenance_rules"]
    assert before["excluded_events"]
    assert before["payouts"]
    assert before["claims"]
    assert before["outages"]
    assert before["policies"]

    engine = fresh_engine(backend, tmp_path, schema="cybercover_reindex")  # the database is gone
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        applied = Indexer(app.state.gateway, factory).rebuild()
        assert applied >= sum(len(v) for v in before.values())
        assert snapshot(factory) == before
        # Rebuilding again over a populated projection gives the same result.
        Indexer(app.state.gateway, factory).rebuild()
        assert snapshot(factory) == before
    finally:
        engine.dispose()


def test_concurrent_indexers_apply_every_event_once(api: Api, app: FastAPI, backend: str, tmp_path: Path) -> None:
    """Replicas index at the same time: the cursor compare-and-set lets one page win; the
    others roll back and retry, so no payout or claim is recorded twice."""
    import threading

    app.state.indexer.sync()
    before = snapshot(app.state.factory)
    engine = fresh_engine(backend, tmp_path, schema="cybercover_concurrent")
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                Indexer(app.state.gateway, factory, page=7).sync(notify=False)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert snapshot(factory) == before
    finally:
        engine.dispose()
