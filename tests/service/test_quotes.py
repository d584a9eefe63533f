"""Quotes price one cover (limit × cover_seconds) through the API, expire, refuse stale reports,
and a policy issued on a quote has the quote's limit, cover and premium — which the chain's
premium floor accepts, for any limit and cover (and not one unit less where the floor binds)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.records import PolicyTerms
from contracts.reverts import decode_exception
from tests.chain import USD
from tests.service.helpers import Api, unique_service

DAY = 86400
YEAR = 365 * DAY
BEN = "0x" + "5a" * 20


def _quote(api: Api, headers: dict[str, str], product: int, assessment: str, **body: Any) -> Any:
    return api.c.post("/v1/quotes", json={"product_id": product, "assessment_id": assessment, **body}, headers=headers)


def _issue(api: Api, headers: dict[str, str], quote_id: str, ref: str, **body: Any) -> Any:
    return api.c.post("/v1/policies", json={"quote_id": quote_id, "beneficiary": BEN, "holder_ref": ref, **body},
                      headers=headers)


def _at(api: Api, t: int) -> None:
    """Chain time at `t`: eth-tester's time travel mines a block one second before its target."""
    api.chain.travel(t - api.chain.now() + 1)
    assert api.chain.now() == t


def test_a_quote_prices_the_limit_and_cover_it_names(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service(), rates={"low": 36_500, "lower": 73_000, "medium": 109_500})
    a = api.anchored_assessment(tenant)
    before = api.chain.now()
    month = api.quote(prod["id"], a["id"], headers, limit=200 * USD, cover_seconds=30 * DAY)
    assert (month["decision"], month["limit"], month["cover_seconds"]) == ("offer", 200 * USD, 30 * DAY)
    assert month["premium"] == 200 * USD * 36_500 * 30 * DAY // (10**6 * YEAR) == 600_000  # 0.3 % of 200 USD
    p = month["pricing"]
    assert (p["base_rate_ppm"], p["rate_ppm"], p["score_adjustment_bps"], p["raw_premium"], p["minimum_applied"]) == (
        36_500, 36_500, 0, 600_000, False)
    assert (p["limit"], p["cover_seconds"], p["level"], p["score_band_bps"]) == (200 * USD, 30 * DAY, "low",
                                                                                 [9001, 10_000])
    assert "round" in p["rounding"]
    assert before + 7 * DAY <= month["expires_at"] <= api.chain.now() + 7 * DAY  # the default validity
    # Done when: 365 days cost 365/30 of 30 days, twice the limit twice (figures that divide evenly).
    year = api.quote(prod["id"], a["id"], headers, limit=200 * USD, cover_seconds=365 * DAY)
    assert 30 * year["premium"] == 365 * month["premium"]
    double = api.quote(prod["id"], a["id"], headers, limit=400 * USD, cover_seconds=30 * DAY)
    assert double["premium"] == 2 * month["premium"]

    policy = api.ok(_issue(api, headers, month["id"], "priced"), 201)
    assert (policy["limit"], policy["premium"]) == (200 * USD, 600_000)
    assert policy["cover_end"] - policy["cover_start"] <= 30 * DAY  # from the issuing block: never longer
    assert api.ok(_issue(api, headers, month["id"], "same", cover_seconds=30 * DAY), 201)["premium"] == 600_000


def test_the_score_moves_the_rate_within_the_level(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service(), rates={"low": 20_000, "lower": 30_000, "medium": 50_000},
                       score_adjustment_bps=1_000)
    a = api.anchored_assessment(tenant, "lower")
    q = api.quote(prod["id"], a["id"], headers, limit=100 * USD, cover_seconds=YEAR)
    s = a["score_bps"]
    adj = -(-1_000 * (8001 + 9000 - 2 * s) // 999)
    rate = -(-30_000 * (10_000 + adj) // 10_000)
    assert (q["pricing"]["score_bps"], q["pricing"]["score_adjustment_bps"], q["pricing"]["rate_ppm"]) == (s, adj, rate)
    assert q["premium"] == -(-100 * USD * rate // 10**6)


def test_bad_quote_input_is_a_4xx_with_a_detail(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service(), max_cover_seconds=90 * DAY, medium_limit=100 * USD)
    low, medium = api.anchored_assessment(tenant), api.anchored_assessment(tenant, "medium")
    cases = [
        (low, {"limit": 500 * USD + 1}, 400, "limit_above_product"),
        (medium, {"limit": 100 * USD + 1}, 400, "limit_above_risk_level"),
        (low, {"cover_seconds": 90 * DAY + 1}, 400, "cover_too_long"),
        (low, {"cover_seconds": 59}, 422, "validation_error"),
        (low, {"limit": 0}, 422, "validation_error"),
        (low, {"limit": True}, 422, "validation_error"),
        (low, {"cover_seconds": "30d"}, 422, "validation_error"),
    ]
    for a, body, status, kind in cases:
        r = _quote(api, headers, prod["id"], a["id"], **body)
        assert (r.status_code, r.json()["type"]) == (status, kind), (body, r.text)
        assert r.json()["detail"], body
    ok = api.quote(prod["id"], medium["id"], headers, limit=100 * USD)
    assert (ok["decision"], ok["limit"], ok["cover_seconds"]) == ("offer", 100 * USD, 30 * DAY)
    r = _issue(api, headers, ok["id"], "x", cover_seconds=31 * DAY)
    assert (r.status_code, r.json()["type"]) == (400, "cover_mismatch")
    assert "30 days" in r.json()["detail"] or str(30 * DAY) in r.json()["detail"]
    declined = api.quote(api.product(unique_service(), rates={"low": 1})["id"], medium["id"], headers)
    assert (declined["decision"], declined["premium"], declined["pricing"]) == ("decline", None, None)
    assert "no rate for risk level medium" in declined["reason"]


def test_an_expired_quote_is_refused(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service(), quote_validity_seconds=600)
    a = api.anchored_assessment(tenant)
    q = api.quote(prod["id"], a["id"], headers)
    assert q["expires_at"] - api.chain.now() <= 600
    _at(api, q["expires_at"] - 30)  # 30 s before: still valid
    api.ok(_issue(api, headers, q["id"], "in-time"), 201)
    _at(api, q["expires_at"])  # at expires_at: refused
    for r in (_issue(api, headers, q["id"], "late"),
              api.c.post("/v1/policies/batch?wait=true", json={"quote_id": q["id"], "covers": [
                  {"beneficiary": BEN, "holder_ref": "late-batch"}]}, headers=headers)):
        assert (r.status_code, r.json()["type"]) == (409, "quote_expired"), r.text
        assert "quote again" in r.json()["detail"]
    assert api.quote(prod["id"], a["id"], headers)["decision"] == "offer"  # a fresh quote is fine


def test_a_report_older_than_the_product_allows_cannot_be_quoted(api: Api, distributor) -> None:
    tenant, headers = distributor
    prod = api.product(unique_service(), max_report_age_seconds=DAY)  # quote validity stays 7 days
    a = api.anchored_assessment(tenant)
    q = api.quote(prod["id"], a["id"], headers)
    anchored_at = api.chain.registry.functions.verify(api.chain.gateway().assessor.address,
                                                      bytes.fromhex(a["report_hash"][2:])).call()[3]
    assert q["expires_at"] == anchored_at + DAY  # the report's age ends the quote before its validity
    _at(api, anchored_at + DAY - 1)
    assert api.quote(prod["id"], a["id"], headers)["expires_at"] == anchored_at + DAY  # one second left
    _at(api, anchored_at + DAY)
    r = _quote(api, headers, prod["id"], a["id"])
    assert (r.status_code, r.json()["type"]) == (409, "report_too_old"), r.text
    assert "max_report_age_seconds" in r.json()["detail"]
    assert _issue(api, headers, q["id"], "stale").json()["type"] == "quote_expired"
    other = api.product(unique_service())  # the default, a year, still takes it
    assert api.quote(other["id"], a["id"], headers)["decision"] == "offer"


_FLOOR_PRODUCTS: dict[int, dict[str, Any]] = {}  # per app (backend): one product for all examples


@given(limit=st.integers(1, 500 * USD), cover=st.integers(60, 400 * DAY))
@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_issuance_at_the_quoted_premium_meets_the_on_chain_floor(api: Api, distributor,
                                                                 limit: int, cover: int) -> None:
    """The floor binds: the rate is min_rate_ppm itself, so the quoted premium is the chain's floor
    (or min_premium): the chain issues at it, and refuses one unit less."""
    tenant, headers = distributor
    if id(api.c.app) not in _FLOOR_PRODUCTS:
        _FLOOR_PRODUCTS[id(api.c.app)] = api.product(unique_service(), min_rate_ppm=50_000, min_premium=1_000,
                                                     rates={"low": 50_000, "lower": 50_000, "medium": 50_000})
    product = _FLOOR_PRODUCTS[id(api.c.app)]
    a = api.anchored_assessment(tenant)
    q = api.quote(product["id"], a["id"], headers, limit=limit, cover_seconds=cover)
    floor = max(1_000, -(-limit * 50_000 * cover // (10**6 * YEAR)))
    assert q["premium"] == floor
    policy = api.ok(_issue(api, headers, q["id"], f"floor-{limit}-{cover}"), 201)
    assert (policy["premium"], policy["limit"]) == (floor, limit)
    # The chain's own floor for exactly this cover (an explicit start fixes its length): the
    # quoted premium passes, one unit less reverts — unless min_premium is what binds.
    start = api.chain.now() + 600
    terms = PolicyTerms(product["id"], start, start + cover, limit, floor, policy["beneficiary"], b"\x01" * 32,
                        bytes.fromhex(policy["subject"][2:]), bytes.fromhex(policy["report_hash"][2:]))
    issue = api.chain.book.functions.issue
    issue(terms.as_tuple()).call({"from": api.chain.operator})
    if floor > 1_000:
        with pytest.raises(Exception) as under:  # noqa: PT011 - the decoded revert is checked below
            issue(dataclasses.replace(terms, premium=floor - 1).as_tuple()).call({"from": api.chain.operator})
        revert = decode_exception(under.value)
        assert revert is not None and revert.name == "PolicyBookPremiumBelowFloor", under.value
