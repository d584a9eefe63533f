"""Tenants, keys and roles; cross-tenant isolation; the one error shape."""

from __future__ import annotations

from typing import get_args

from fastapi import FastAPI
from sqlalchemy import select

from service.api.deps import CLIENT_ROLES, ROLES
from service.api.routes.tenants import Role
from service.db import models as m
from tests.service.helpers import Api, assessment_body, issue, product_body, unique_service


def test_keys_are_hashed_and_shown_once(api: Api, app: FastAPI) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "auditor")
    key = headers["X-API-Key"]
    with app.state.factory() as s:
        stored = s.scalars(select(m.ApiKey.key_hash)).all()
    assert key not in stored
    assert len(key) > 40
    assert api.c.get("/v1/products", headers=headers).status_code == 200


def test_unauthenticated_and_wrong_role(api: Api) -> None:
    r = api.c.get("/v1/policies")
    assert r.status_code == 401
    assert r.json() == {"type": "unauthorized", "detail": "missing X-API-Key header"}
    r = api.c.get("/v1/policies", headers={"X-API-Key": "nope"})
    assert r.status_code == 401
    assert r.json()["type"] == "unauthorized"
    auditor = api.key(api.tenant(), "auditor")
    r = api.c.post("/v1/products", json=product_body(unique_service()), headers=auditor)
    assert r.status_code == 403
    assert r.json()["type"] == "forbidden"
    r = api.c.post("/v1/tenants", json={"name": "x"}, headers=auditor)
    assert r.status_code == 403
    distributor = api.key(api.tenant(), "distributor")
    assert api.c.post("/v1/assessments/abc/anchor", headers=distributor).status_code == 403


def test_distributor_sees_and_changes_only_its_own_covers(api: Api, distributor) -> None:
    tenant, headers = distributor
    _, policy = issue(api, tenant, headers, unique_service())
    other_tenant = api.tenant()
    other = api.key(other_tenant, "distributor")

    r = api.c.get(f"/v1/policies/{policy['id']}", headers=other)
    assert r.status_code == 404
    assert r.json()["type"] == "not_found"
    assert api.ok(api.c.get("/v1/policies", headers=other))["total"] == 0
    assert api.ok(api.c.get("/v1/policies", headers=headers))["total"] >= 1
    assert api.ok(api.c.get("/v1/payouts", headers=other)) == []
    assert api.ok(api.c.get("/v1/claims", headers=other)) == []
    # The other tenant cannot quote on, or issue from, this tenant's assessment and quotes.
    with_quote = api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=api.admin))
    assert with_quote["tenant_id"] == tenant
    q = api.c.post("/v1/quotes", json={"product_id": policy["product_id"], "assessment_id": "0" * 32}, headers=other)
    assert q.status_code == 404
    with app_session(api) as s:
        owner = s.get(m.PolicyOwner, policy["id"])
        quote_id, assessment_id = owner.quote_id, s.get(m.Quote, owner.quote_id).assessment_id
    assert api.c.get(f"/v1/quotes/{quote_id}", headers=other).status_code == 404
    assert api.c.get(f"/v1/assessments/{assessment_id}", headers=other).status_code == 404
    q = api.c.post("/v1/quotes", json={"product_id": policy["product_id"], "assessment_id": assessment_id},
                   headers=other)
    assert q.status_code == 404
    r = api.c.post("/v1/policies", json={"quote_id": quote_id, "beneficiary": "0x" + "55" * 20, "holder_ref": "h"},
                   headers=other)
    assert r.status_code == 404
    assert r.json()["type"] == "not_found"
    # The insurer's staff see every tenant.
    auditor = api.staff("auditor")
    assert api.c.get(f"/v1/policies/{policy['id']}", headers=auditor).status_code == 200


def app_session(api: Api):  # noqa: ANN201
    return api.c.app.state.factory()  # type: ignore[attr-defined]


def test_error_shape_everywhere(api: Api) -> None:
    r = api.c.get("/v1/nowhere", headers=api.admin)
    assert r.status_code == 404
    assert set(r.json()) == {"type", "detail"}
    r = api.c.post("/v1/products", json={"name": ""}, headers=api.admin)
    assert r.status_code == 422
    assert r.json()["type"] == "validation_error"
    assert "service" in r.json()["detail"]
    r = api.c.post("/v1/products", content=b"{not json", headers={**api.admin, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert set(r.json()) == {"type", "detail"}
    r = api.c.get("/v1/policies/999999999", headers=api.admin)
    assert r.status_code == 404
    assert r.json()["type"] == "not_found"
    r = api.c.delete("/v1/products", headers=api.admin)
    assert r.status_code == 405
    assert r.json()["type"] == "method_not_allowed"
    bad = assessment_body()
    bad["answers"] = {"base.nope": "yes"}
    r = api.c.post("/v1/assessments", json=bad, headers=api.admin)
    assert r.status_code == 422
    assert r.json()["type"] == "assessment_error"
    assert "base.nope" in r.json()["detail"]


def test_chain_reverts_become_typed_errors(api: Api) -> None:
    r = api.c.post("/v1/products", json=product_body(unique_service(), unit_seconds=1, payout_kind="per_unit",
                                                     threshold_seconds=1, auto_pay_limit=0), headers=api.admin)
    assert r.status_code == 201  # accepted by the chain
    body = api.chain.reports(unique_service(), 100, 200)
    body["reports"] = body["reports"][:2]  # below quorum
    r = api.c.post("/v1/oracle/reports", json=body, headers=api.admin)
    assert r.status_code == 400
    assert r.json()["type"] == "quorum_not_met"
    body = api.chain.reports(unique_service(), 100, 200)
    body["reports"][0]["signer"] = body["reports"][1]["signer"]
    r = api.c.post("/v1/oracle/reports", json=body, headers=api.admin)
    assert r.status_code == 400
    assert r.json()["type"] == "bad_signature"
    future = api.chain.now() + 10_000
    r = api.c.post("/v1/oracle/reports", json=api.chain.reports(unique_service(), future, future + 100),
                   headers=api.admin)
    assert r.status_code == 400
    assert r.json()["type"] == "window_in_future"


def test_health_and_metrics(api: Api) -> None:
    h = api.ok(api.c.get("/healthz"))
    assert h["status"] == "ok"
    assert h["database"] == "ok"
    assert h["chain_block"] > 0
    text = api.c.get("/metrics", headers=api.admin).text
    assert 'cybercover_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert api.c.get("/docs").status_code == 200
    assert "/v1/oracle/reports" in api.ok(api.c.get("/openapi.json"))["paths"]


def test_web_pages_are_public_and_outside_the_api_schema(api: Api, distributor) -> None:
    """The pages need no key (a bad one changes nothing: they never read it), answer HTML, are not
    in the OpenAPI schema, and leave /v1 as guarded as before. The cover page's key is its ref."""
    tenant, headers = distributor
    prod, policy = issue(api, tenant, headers, unique_service())
    pages = ["/web", "/status", f"/status/{prod['service_id']}", "/console", policy["cover_page"]]
    for url in pages:
        for sent in ({}, {"X-API-Key": "not-a-key"}):
            r = api.c.get(url, headers=sent)
            assert r.status_code == 200, (url, sent, r.text[:200])
            assert r.headers["content-type"].startswith("text/html")
    assert api.c.get(policy["cover_page"].split("?")[0]).status_code == 404  # no ref, no cover
    paths = api.ok(api.c.get("/openapi.json"))["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/healthz", "/metrics"))], sorted(paths)
    assert api.c.get("/v1/policies").status_code == 401


def test_revoked_key_is_refused(api: Api) -> None:
    tenant = api.tenant()
    headers = api.key(tenant, "auditor")
    with app_session(api) as s:
        key_id = s.scalars(select(m.ApiKey.id).where(m.ApiKey.tenant_id == tenant)).one()
    assert api.c.get("/v1/products", headers=headers).status_code == 200
    assert api.c.delete(f"/v1/tenants/{tenant}/keys/{key_id}", headers=headers).status_code == 403
    assert api.c.delete(f"/v1/tenants/{tenant}/keys/{key_id}", headers=api.admin).status_code == 204
    r = api.c.get("/v1/products", headers=headers)
    assert r.status_code == 401
    assert r.json()["type"] == "unauthorized"
    assert api.c.delete(f"/v1/tenants/other/keys/{key_id}", headers=api.admin).status_code == 404


def test_product_deactivation_stops_quotes_and_issuance(api: Api, distributor) -> None:
    tenant, headers = distributor
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service())
    quote = api.quote(prod["id"], assessment["id"], headers)
    off = api.ok(api.c.patch(f"/v1/products/{prod['id']}", json={"active": False}, headers=api.admin))
    assert off["active"] is False
    r = api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": assessment["id"]}, headers=headers)
    assert r.status_code == 409
    assert r.json()["type"] == "product_inactive"
    r = api.c.post("/v1/policies", json={"quote_id": quote["id"], "beneficiary": "0x" + "21" * 20,
                                         "holder_ref": "late"}, headers=headers)
    assert r.status_code == 409
    assert r.json()["type"] == "product_inactive"
    assert api.c.patch(f"/v1/products/{prod['id']}", json={"active": True}, headers=headers).status_code == 403
    assert api.ok(api.c.patch(f"/v1/products/{prod['id']}", json={"active": True}, headers=api.admin))["active"]


def test_every_role_is_minted_where_it_belongs(api: Api) -> None:
    """The key route accepts exactly the roles deps knows (accreditor included); insurer staff and
    machine roles only in the insurer's tenant."""
    assert set(get_args(Role)) == set(ROLES)
    client = api.tenant()
    for role in ROLES:
        insurer = api.c.post(f"/v1/tenants/{api.insurer}/keys", json={"role": role}, headers=api.admin)
        assert insurer.status_code == 201, insurer.text
        r = api.c.post(f"/v1/tenants/{client}/keys", json={"role": role}, headers=api.admin)
        if role in CLIENT_ROLES:
            assert r.status_code == 201, r.text
        else:
            assert (r.status_code, r.json()["type"]) == (400, "role_not_for_tenant"), r.text
    accreditor = api.staff("accreditor")
    assert api.ok(api.c.get("/v1/accreditations", headers=accreditor))["total"] >= 0
    assert api.c.get("/v1/policies", headers=accreditor).status_code == 200  # staff: reads like an auditor
    assert api.c.post("/v1/products", json=product_body(unique_service()), headers=accreditor).status_code == 403
