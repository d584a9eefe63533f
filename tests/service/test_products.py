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
    assert tuple(on_chain[10:]) == (400 * DAY, 30 * DAY, 0, 250 * USD, 0, 14 * DAY, 0, 0, 0)
    # No event cap, no cancellation fee, no service cap by default; nothing issued on the service yet.
    assert (prod["event_cap"], prod["event_exposure"], prod["cancellation_fee"]) == (0, 0, 0)
    assert (prod["service_cap"], prod["service_exposure"]) == (0, 0)

    assert (prod["score_adjustment_bps"], prod["quote_validity_seconds"], prod["max_report_age_seconds"]) == (
        0, 7 * DAY, 365 * DAY)

    assessment = api.anchored_assessment(tenant)
    quote = api.quote(prod["id"], assessment["id"], headers)
    assert (quote["cover_seconds"], quote["limit"]) == (30 * DAY, 500 * USD)  # the defaults
    api.ok(api.c.post("/v1/policies", json={"quote_id": quote["id"], "beneficiary": "0x" + "51" * 20,
                                            "holder_ref": "exposure"}, headers=headers), 201)
    assert api.ok(api.c.get(f"/v1/products/{prod['id']}", headers=headers))["exposure"] == 500 * USD
    too_long = api.c.post("/v1/quotes", json={"product_id": prod["id"], "assessment_id": assessment["id"],
                                              "cover_seconds": 400 * DAY + 1}, headers=headers)
    assert too_long.status_code == 400
    assert too_long.json()["type"] == "cover_too_long"
    assert api.quote(prod["id"], assessment["id"], headers, cover_seconds=400 * DAY)["cover_seconds"] == 400 * DAY


def test_grace_below_the_oracle_finality_is_refused(api: Api) -> None:
    short = api.c.post("/v1/products", json=product_body(unique_service(), grace_seconds=finality(api.chain) - 1),
                       headers=api.admin)
    assert short.status_code == 400
    assert short.json()["type"] == "grace_below_finality"
    # The low rate, 3.65 % a year, with a 10 % score discount at best is 32,850 ppm: below the floor.
    body = product_body(unique_service(), min_rate_ppm=33_000, score_adjustment_bps=1_000)
    low_rate = api.c.post("/v1/products", json=body, headers=api.admin)  # a bound between fields: no schema says it
    assert low_rate.status_code == 400
    assert low_rate.json()["type"] == "bad_request"
    assert "rates.low is 32850 ppm at the level's best score, below min_rate_ppm 33000" in low_rate.json()["detail"]
    api.product(unique_service(), min_rate_ppm=32_850, score_adjustment_bps=1_000)  # at the floor: accepted


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


def test_listing_reads_shared_figures_once_and_each_product_view(api: Api, monkeypatch) -> None:  # noqa: ANN001
    """`GET /v1/products` reads the governance delay once and a service's cap and exposure once per
    service, whatever the number of products (four calls a product before); each product's
    exposure figures are its own and equal the single-product answer."""
    service = unique_service()
    made = [api.product(service) for _ in range(3)]
    headers = api.admin
    w3 = api.chain.w3
    calls: list[str] = []
    original = w3.eth.call

    def counted(tx, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(tx["data"][:10])
        return original(tx, *args, **kw)

    monkeypatch.setattr(w3.eth, "call", counted)
    listed = api.ok(api.c.get("/v1/products", headers=headers))
    n, services = len(listed), len({p["service_id"] for p in listed})
    assert n >= 3
    assert len(calls) <= 1 + services + 2 * n  # delay, each service, two views a product
    by_id = {p["id"]: p for p in listed}
    for p in made:
        alone = api.ok(api.c.get(f"/v1/products/{p['id']}", headers=headers))
        for key in ("exposure", "event_exposure", "service_cap", "service_exposure", "exclusions"):
            assert by_id[p["id"]][key] == alone[key]
