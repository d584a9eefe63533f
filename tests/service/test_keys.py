"""API keys (issue 10, finding 7 and Deliver item 5): the nodes' least-privilege keys minted by
`up`, a refused target list as an error, key listing, expiry, last use, bootstrap rotation."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select, text, update

from service.api.app import bootstrap_admin
from service.api.deps import hash_key
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_engine, make_sessionmaker
from service.settings import Settings
from service.stack.node_access import TargetListError, TargetWatch, fetch_products, service_key
from service.stack.nodes import targets_from_products
from tests.service.helpers import ADMIN_KEY, Api, product_body, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

BASE = "http://testserver"  # the TestClient's own base URL: nothing leaves the process


def bad_relay_body(api: Api) -> dict:
    body = api.chain.reports(unique_service(), 100, 200)
    body["reports"][0]["signer"] = body["reports"][1]["signer"]
    return body


def key_row(app: FastAPI, headers: dict[str, str]) -> m.ApiKey:
    with app.state.factory() as s:
        return s.scalars(select(m.ApiKey).where(m.ApiKey.key_hash == hash_key(headers["X-API-Key"]))).one()


def test_finding7_node_relay_key_is_not_admin(api: Api, tmp_path: Path) -> None:
    relay = {"X-API-Key": service_key(BASE, ADMIN_KEY, tmp_path / "relay.apikey", "relay", client=api.c)}
    r = api.c.post("/v1/oracle/reports", json=bad_relay_body(api), headers=relay)
    assert r.status_code == 400
    assert r.json()["type"] == "bad_signature"
    for method, url, body in (("GET", "/v1/tenants", None), ("POST", "/v1/tenants", {"name": "relay-made"}),
                              ("GET", "/v1/products", None), ("GET", "/v1/policies", None),
                              ("POST", "/v1/products", product_body(unique_service())),
                              ("POST", f"/v1/tenants/{api.insurer}/keys", {"role": "admin"})):
        r = api.c.request(method, url, json=body, headers=relay)
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["type"] == "forbidden", (method, url, r.text)
    listed = api.ok(api.c.get(f"/v1/tenants/{api.insurer}/keys", headers=api.admin))
    [row] = [k for k in listed if relay["X-API-Key"].startswith(k["prefix"]) and k["role"] == "relay"]
    assert not row["revoked"]


def test_finding7_monitor_key_reads_the_product_list_only(api: Api, tmp_path: Path) -> None:
    monitor = {"X-API-Key": service_key(BASE, ADMIN_KEY, tmp_path / "monitor.apikey", "monitor", client=api.c)}
    product = api.product(unique_service())
    assert product["id"] in {p["id"] for p in api.ok(api.c.get("/v1/products", headers=monitor))}
    for method, url, body in (("GET", f"/v1/products/{product['id']}", None), ("GET", "/v1/policies", None),
                              ("GET", "/v1/outages", None), ("POST", "/v1/oracle/reports", bad_relay_body(api)),
                              ("PATCH", f"/v1/products/{product['id']}", {"active": False})):
        assert api.c.request(method, url, json=body, headers=monitor).status_code == 403, (method, url)


def test_finding7_up_mints_and_reuses_node_keys(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "relay.apikey"
    first = service_key(BASE, ADMIN_KEY, path, "relay", client=api.c)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == first
    assert service_key(BASE, ADMIN_KEY, path, "relay", client=api.c) == first  # still live: reused
    listed = api.ok(api.c.get(f"/v1/tenants/{api.insurer}/keys", headers=api.admin))
    [row] = [k for k in listed if first.startswith(k["prefix"])]
    assert api.c.delete(f"/v1/tenants/{api.insurer}/keys/{row['id']}", headers=api.admin).status_code == 204
    second = service_key(BASE, ADMIN_KEY, path, "relay", client=api.c)  # revoked: a new one
    assert second != first
    assert path.read_text() == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_finding7_refused_target_list_is_an_error_not_zero_targets(api: Api, tmp_path: Path) -> None:
    key = service_key(BASE, ADMIN_KEY, tmp_path / "monitor.apikey", "monitor", client=api.c)
    service = f"https://watched-{unique_service().split('//')[1]}"
    api.product(service)
    lines: list[str] = []
    clock = [0.0]
    watch = TargetWatch(lambda: fetch_products(BASE, key, client=api.c), lines.append, report_every=60,
                        clock=lambda: clock[0])
    products = watch.poll()
    targets = targets_from_products(products, lines.append)
    assert products is not None
    assert service in {t.url for t in targets}
    assert watch.healthy

    prefix = key[:10]
    listed = api.ok(api.c.get(f"/v1/tenants/{api.insurer}/keys", headers=api.admin))
    [row] = [k for k in listed if k["prefix"] == prefix]
    assert api.c.delete(f"/v1/tenants/{api.insurer}/keys/{row['id']}", headers=api.admin).status_code == 204

    with pytest.raises(TargetListError) as refused:
        fetch_products(BASE, key, client=api.c)
    assert refused.value.refused
    assert refused.value.status == 401
    assert watch.poll() is None  # not [] : `up` keeps the nodes on their last targets
    assert not watch.healthy
    assert watch.failures == 1
    assert len(lines) == 1
    assert "401" in lines[0]
    clock[0] = 30.0
    assert watch.poll() is None
    assert watch.failures == 2
    assert len(lines) == 1
    clock[0] = 61.0
    assert watch.poll() is None
    assert len(lines) == 2
    assert "3 failure(s) in a row" in lines[1]


def test_finding7_target_list_failures_of_any_kind_raise(api: Api) -> None:
    with pytest.raises(TargetListError, match="unreachable"):
        fetch_products("http://127.0.0.1:9", "k")  # the discard port on loopback: refused at once
    with pytest.raises(TargetListError) as missing:
        fetch_products(BASE, "no-such-key", client=api.c)
    assert missing.value.refused


def test_finding7_key_listing_never_shows_secrets(api: Api) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "auditor")
    r = api.c.get(f"/v1/tenants/{tenant}/keys", headers=api.admin)
    [row] = api.ok(r)
    assert set(row) == {"id", "tenant_id", "prefix", "role", "created_at", "last_used_at", "expires_at", "revoked"}
    secret = headers["X-API-Key"]
    assert secret not in r.text
    assert hash_key(secret) not in r.text
    assert secret.startswith(row["prefix"])
    assert api.c.get(f"/v1/tenants/{tenant}/keys", headers=headers).status_code == 403  # an auditor: no


def test_finding7_expired_key_is_refused(api: Api, app: FastAPI) -> None:
    tenant = api.tenant()
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    r = api.c.post(f"/v1/tenants/{tenant}/keys", json={"role": "auditor", "expires_at": past}, headers=api.admin)
    assert r.status_code == 400
    assert r.json()["type"] == "bad_expiry"
    r = api.c.post(f"/v1/tenants/{tenant}/keys", json={"role": "auditor", "expires_at": "2030-01-01T00:00:00"},
                   headers=api.admin)
    assert r.status_code == 422  # a naive time is ambiguous
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    minted = api.ok(api.c.post(f"/v1/tenants/{tenant}/keys", json={"role": "auditor", "expires_at": soon},
                               headers=api.admin), 201)
    headers = {"X-API-Key": minted["key"]}
    assert minted["expires_at"] is not None
    assert api.c.get("/v1/products", headers=headers).status_code == 200
    with app.state.factory.begin() as s:  # an hour later
        s.execute(update(m.ApiKey).where(m.ApiKey.id == minted["id"])
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    r = api.c.get("/v1/products", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"type": "unauthorized", "detail": "expired API key"}


def test_finding7_last_use_is_recorded_at_most_once_a_minute(api: Api, app: FastAPI) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "auditor")
    assert key_row(app, headers).last_used_at is None
    api.ok(api.c.get("/v1/products", headers=headers))
    first = key_row(app, headers).last_used_at
    assert first is not None
    assert datetime.now(UTC) - first < timedelta(minutes=1)
    api.ok(api.c.get("/v1/products", headers=headers))
    assert key_row(app, headers).last_used_at == first  # within the minute: no write
    [listed] = api.ok(api.c.get(f"/v1/tenants/{tenant}/keys", headers=api.admin))
    assert datetime.fromisoformat(listed["last_used_at"]) == first
    earlier = first - timedelta(minutes=2)
    with app.state.factory.begin() as s:
        s.execute(update(m.ApiKey).where(m.ApiKey.id == listed["id"]).values(last_used_at=earlier))
    api.ok(api.c.get("/v1/products", headers=headers))
    assert key_row(app, headers).last_used_at > first


def test_finding7_rotating_the_bootstrap_key_revokes_the_previous_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rotate.db'}")
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)

        def live() -> set[str]:
            with factory() as s:
                return set(s.scalars(select(m.ApiKey.key_hash).where(m.ApiKey.revoked.is_(False))))

        bootstrap_admin(factory, Settings(admin_key=SecretStr("old-admin-key")))
        bootstrap_admin(factory, Settings(admin_key=SecretStr("old-admin-key")))  # idempotent
        assert live() == {hash_key("old-admin-key")}
        bootstrap_admin(factory, Settings(admin_key=SecretStr("new-admin-key")))
        assert live() == {hash_key("new-admin-key")}
        bootstrap_admin(factory, Settings(admin_key=SecretStr("old-admin-key")))  # never revived
        assert live() == {hash_key("new-admin-key")}
        with factory() as s:
            insurers = s.scalars(select(m.Tenant).where(m.Tenant.insurer.is_(True))).all()
            assert [t.name for t in insurers] == ["insurer"]
    finally:
        engine.dispose()


def test_finding2_migration_flags_the_insurer_and_revokes_client_staff_keys(tmp_path: Path) -> None:
    """A database from before 0002: the bootstrap tenant becomes the insurer's, and the staff keys
    client tenants were given (the cross-tenant hole) are revoked."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0001")
        rows = [("t-ins", "insurer", "k1", "admin"), ("t-cli", "client", "k2", "underwriter"),
                ("t-cli", "client", "k3", "assessor"), ("t-cli", "client", "k4", "distributor"),
                ("t-cli", "client", "k5", "admin"), ("t-ins", "insurer", "k6", "claims")]
        with engine.begin() as conn:  # the 0001 columns only
            for tid, name in {(r[0], r[1]) for r in rows}:
                conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES (:i, :n, :c)"),
                             {"i": tid, "n": name, "c": datetime.now(UTC)})
            for tid, _name, kid, role in rows:
                conn.execute(text("INSERT INTO api_keys (id, tenant_id, role, key_hash, prefix, revoked, created_at)"
                                  " VALUES (:i, :t, :r, :h, :p, false, :c)"),
                             {"i": kid, "t": tid, "r": role, "h": hash_key(kid), "p": kid, "c": datetime.now(UTC)})
        upgrade(engine)
        with make_sessionmaker(engine)() as s:
            assert {t.id: t.insurer for t in s.scalars(select(m.Tenant))} == {"t-ins": True, "t-cli": False}
            revoked = {k.id for k in s.scalars(select(m.ApiKey).where(m.ApiKey.revoked.is_(True)))}
        assert revoked == {"k2", "k3"}
    finally:
        engine.dispose()
