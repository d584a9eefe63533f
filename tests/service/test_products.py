"""Products carry the on-chain issuance limits of issue 9 (item 4): defaults, the grace period
the oracle's finality needs, the premium floor a quote honours, the medium-risk limit and the
product's exposure and cap."""

from __future__ import annotations

from tests.chain import USD
from tests.service.helpers import Api, finality, product_body, unique_service

DAY = 86400
YEAR = 365 * DAY


def test_product_defaults_and_exposure(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service())
    assert (prod["max_cover_seconds"], prod["max_start_delay"], prod["claim_seconds"]) == (400 * DAY, 30 * DAY,
                                                                                            14 * DAY)
    assert (prod["min_premium"], prod["min_rate_ppm"], prod["exposure_cap"], prod["exposure"]) == (0, 0, 0, 0)
    assert prod["medium_limit"] == prod["policy_limit"] // 2
    assert prod["medium_sub_limit_bps"] == 5_000
    assert prod["grace_seconds"] == 7 * DAY >= finality(api.chain)
    on_chain = api.chain.book.functions.product(prod["id"]).call()
    assert tuple(on_chain[10:]) == (400 * DAY, 30 * DAY, 0, 250 * USD, 0, 14 * DAY, 0)

    assessment = api.anchored_assessment(tenant)
    quote = api.quote(prod["id"], assessment["id"], headers)
    assert quote["max_cover_seconds"] == 400 * DAY
    api.ok(api.c.post("/v1/policies", json={"quote_id": quote["id"], "beneficiary": "0x" + "51" * 20,
                                            "holder_ref": "exposure"}, headers=headers), 201)
    assert api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=headers))["exposure"] == 500 * USD
    too_long = api.c.post("/v1/policies", json={"quote_id": quote["id"], "beneficiary": "0x" + "51" * 20,
                                                "holder_ref": "long", "cover_seconds": 401 * DAY}, headers=headers)
    assert too_long.status_code == 400
    assert too_long.json()["type"] == "cover_too_long"


def test_grace_below_the_oracle_finality_is_refused(api: Api) -> None:
    short = api.c.post("/v1/products", json=product_body(unique_service(), grace_seconds=finality(api.chain) - 1),
                       headers=api.admin)
    assert short.status_code == 400
    assert short.json()["type"] == "grace_below_finality"
    body = product_body(unique_service(), min_premium=6 * USD)  # the low rate (5) could never be issued
    low_rate = api.c.post("/v1/products", json=body, headers=api.admin)  # a bound between fields: no schema says it
    assert low_rate.status_code == 400
    assert low_rate.json()["type"] == "bad_request"
    assert "rates.low is below min_premium" in low_rate.json()["detail"]


def test_premium_floor_bounds_the_cover_a_quote_allows(api: Api, distributor) -> None:
    tenant, headers = distributor
    # 10 % of the limit a year: the low rate, 5 USD on a 500 USD limit, covers 36.5 days at most.
    prod = api.product(unique_service(), min_rate_ppm=100_000)
    quote = api.quote(prod["id"], api.anchored_assessment(tenant)["id"], headers)
    longest = 5 * USD * 10**6 * YEAR // (500 * USD * 100_000)
    assert quote["max_cover_seconds"] == longest == 3_153_600
    body = {"quote_id": quote["id"], "beneficiary": "0x" + "52" * 20, "holder_ref": "floor"}
    r = api.c.post("/v1/policies", json={**body, "cover_seconds": longest + 1}, headers=headers)
    assert r.status_code == 400
    assert r.json()["type"] == "cover_too_long"
    api.ok(api.c.post("/v1/policies", json={**body, "cover_seconds": 30 * DAY}, headers=headers), 201)


def test_medium_limit_and_product_cap_are_enforced_on_chain(api: Api, distributor) -> None:
    tenant, headers = distributor
    medium = api.anchored_assessment(tenant, "medium")
    declines = api.product(unique_service(), medium_limit=0)
    q = api.quote(declines["id"], medium["id"], headers)
    assert q["decision"] == "decline"
    assert "medium" in q["reason"]
    capped = api.product(unique_service(), medium_limit=100 * USD, exposure_cap=150 * USD)
    q = api.quote(capped["id"], medium["id"], headers)
    assert (q["decision"], q["limit"]) == ("offer", 100 * USD)
    body = {"quote_id": q["id"], "beneficiary": "0x" + "53" * 20}
    api.ok(api.c.post("/v1/policies", json={**body, "holder_ref": "m1"}, headers=headers), 201)
    over = api.c.post("/v1/policies", json={**body, "holder_ref": "m2"}, headers=headers)  # 200 > the 150 cap
    assert over.status_code == 409
    assert over.json()["type"] == "product_cap_exceeded"
    assert api.ok(api.c.get(f"/v1/products/{capped['id']}", headers=headers))["exposure"] == 100 * USD


def test_the_longest_durations_the_chain_takes_are_projected(api: Api) -> None:
    """uint32 seconds up to 2³²−1 are valid on-chain; on PostgreSQL an INTEGER column stalled
    the projection (and every request behind it) at 2³¹."""
    top = 2**32 - 1
    body = product_body(unique_service(), threshold_seconds=top, unit_seconds=top, waiting_seconds=top,
                        grace_seconds=top)
    created = api.ok(api.c.post("/v1/products", json=body, headers=api.admin), 201)
    assert created["threshold_seconds"] == top
    listed = api.ok(api.c.get("/v1/products", headers=api.admin))  # a sync: the projection is not stuck
    [mine] = [p for p in listed if p["id"] == created["id"]]
    assert (mine["threshold_seconds"], mine["unit_seconds"], mine["waiting_seconds"], mine["grace_seconds"]) == (
        top, top, top, top)


def test_a_boolean_is_not_a_number(api: Api) -> None:
    """The schema says integer; pydantic's lax mode alone would take JSON true as 1."""
    for field in ("exposure_cap", "threshold_seconds", "min_premium"):
        r = api.c.post("/v1/products", json=product_body(unique_service(), **{field: True}), headers=api.admin)
        assert r.status_code == 422, field
        assert r.json()["type"] == "validation_error", field
        assert f"body.{field}" in r.json()["detail"], field
    r = api.c.patch("/v1/products/1", json={"active": 1}, headers=api.admin)  # and 1 is no boolean
    assert r.status_code == 422
