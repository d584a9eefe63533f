"""The console's read routes (service.api.routes.console): who the key is, the pool's capital over
time against the chain read directly, a webhook's deliveries, the CSV dry run of a bulk
issuance (per-row errors, nothing sent) and the policy search."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from fastapi import FastAPI

from service.api.routes.console import check_rows, sample_blocks
from service.db import models as m
from service.errors import BadRequest
from tests.chain import USD
from tests.service.helpers import LOW_30_DAYS, Api, issue, unique_service


def _addr(seed: str) -> str:
    return "0x" + keccak(text=seed)[:20].hex()


def test_me_names_the_role_tenant_and_token_units(api: Api, distributor) -> None:
    tenant, headers = distributor
    me = api.ok(api.c.get("/v1/me", headers=headers))
    assert (me["role"], me["tenant_id"], me["insurer"], me["scoped"]) == ("distributor", tenant, False, True)
    assert me["token"]["decimals"] == 6 and me["token"]["symbol"]
    staff = api.ok(api.c.get("/v1/me", headers=api.staff("claims")))
    assert (staff["role"], staff["insurer"], staff["scoped"]) == ("claims", True, False)
    assert api.c.get("/v1/me").status_code == 401
    assert api.c.get("/v1/me", headers=api.staff("relay")).status_code == 403


def test_sample_blocks_are_evenly_spaced_and_include_both_ends() -> None:
    assert sample_blocks(5, 4, 10) == []
    assert sample_blocks(3, 7, 10) == [3, 4, 5, 6, 7]
    got = sample_blocks(0, 1000, 11)
    assert got == list(range(0, 1001, 100))
    assert len(sample_blocks(10, 10**6, 48)) == 48


def test_pool_history_matches_the_chain_and_the_projection(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    issue(api, tenant, headers, unique_service())
    app.state.indexer.sync()
    auditor = api.staff("auditor")
    body = api.ok(api.c.get("/v1/pool/history", params={"points": 6}, headers=auditor))
    points = body["points"]
    assert 2 <= len(points) <= 6
    assert points[-1]["block"] == body["as_of_block"]
    assert [p["block"] for p in points] == sorted({p["block"] for p in points})
    pool = api.chain.dep.contract(api.chain.w3, "CoverPool").functions
    with app.state.factory() as s:
        policies = [(p.block, p.premium) for p in s.query(m.Policy)]
        payouts = [(p.block, p.amount) for p in s.query(m.Payout)]
    for p in points:  # an independent reading: the chain at the block, sums over the projection
        b = p["block"]
        assert p["free"] == pool.freeCapital().call(block_identifier=b)
        assert p["locked"] == pool.lockedCapital().call(block_identifier=b)
        assert p["assets"] == pool.totalAssets().call(block_identifier=b)
        assert p["premiums"] == sum(x for blk, x in policies if blk <= b)
        assert p["payouts"] == sum(x for blk, x in payouts if blk <= b)
    assert points[-1]["premiums"] >= LOW_30_DAYS
    assert points[-1]["locked"] >= 500 * USD
    assert api.c.get("/v1/pool/history", headers=headers).status_code == 403  # the insurer's only
    assert api.c.get("/v1/pool/history", params={"points": 1}, headers=auditor).status_code == 422


def test_webhook_deliveries_are_listed_newest_first_and_scoped(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    with app.state.factory.begin() as s:
        hook = m.Webhook(tenant_id=tenant, url="https://hooks.example.com/console", events=["payout.sent"],
                         secret_sealed="x", active=True)
        s.add(hook)
        s.flush()
        hook_id = hook.id
        from datetime import UTC, datetime
        at = datetime.now(UTC)
        s.add_all([
            m.WebhookDelivery(webhook_id=hook_id, event_type="policy.issued", payload={}, delivered_at=at, attempts=1),
            m.WebhookDelivery(webhook_id=hook_id, event_type="payout.sent", payload={}, attempts=2,
                              last_error="HTTP 500"),
            m.WebhookDelivery(webhook_id=hook_id, event_type="claim.opened", payload={}, attempts=8, failed=True,
                              last_error="timeout"),
            m.WebhookDelivery(webhook_id=hook_id, event_type="claim.decided", payload={}),
        ])
    got = api.ok(api.c.get(f"/v1/webhooks/{hook_id}/deliveries", headers=headers))
    assert [(d["event_type"], d["status"]) for d in got] == [
        ("claim.decided", "pending"), ("claim.opened", "failed"), ("payout.sent", "retrying"),
        ("policy.issued", "delivered")]
    assert got[1]["next_attempt_at"] is None and got[2]["last_error"] == "HTTP 500"
    assert len(api.ok(api.c.get(f"/v1/webhooks/{hook_id}/deliveries?limit=2", headers=headers))) == 2
    other = api.key(api.tenant(), "distributor")
    assert api.c.get(f"/v1/webhooks/{hook_id}/deliveries", headers=other).status_code == 404
    with app.state.factory.begin() as s:
        s.query(m.WebhookDelivery).filter_by(webhook_id=hook_id).delete()
        s.query(m.Webhook).filter_by(id=hook_id).delete()


def _quote(api: Api, tenant: str, headers: dict[str, str]) -> dict[str, Any]:
    assessment = api.anchored_assessment(tenant)
    prod = api.product(unique_service())
    return api.quote(prod["id"], assessment["id"], headers)


def test_check_rows_names_each_bad_row() -> None:
    text = ("holder_ref,beneficiary,note\n"
            f"c-1,{_addr('a')},ok\n"
            "c-2,0x1234,short\n"
            "\n"
            f",{_addr('b')},no ref\n"
            f"c-1,{_addr('c')},dup\n"
            f"c-5,0x{'00' * 20},zero\n"
            f"{'r' * 201},{_addr('d')},long\n"
            f"c-7,{_addr('e').upper().replace('0X', '0x')}\n")
    rows = check_rows(text)
    assert [(r.line, r.error.type if r.error else None) for r in rows] == [
        (2, None), (3, "invalid_beneficiary"), (5, "holder_ref_missing"), (6, "holder_ref_duplicate"),
        (7, "zero_beneficiary"), (8, "holder_ref_too_long"), (9, None)]
    assert "line 2" in rows[3].error.detail  # type: ignore[union-attr]
    for bad, kind in (("", "csv_empty"), ("holder_ref,beneficiary\n", "csv_empty"),
                      ("ref,address\nx,y\n", "csv_missing_column")):
        try:
            check_rows(bad)
        except BadRequest as exc:
            assert exc.type == kind
        else:
            raise AssertionError(bad)
    reordered = check_rows(f"\ufeffBeneficiary, holder_ref\n{_addr('z')},k\n")  # a BOM, any order and case
    assert reordered[0].ok and reordered[0].holder_ref == "k"


def test_preview_sends_nothing_and_its_covers_issue(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    text = f"holder_ref,beneficiary\nok-1,{_addr('p1')}\nbad,not-an-address\nok-2,{_addr('p2')}\n"
    block = api.chain.w3.eth.block_number
    got = api.ok(api.c.post("/v1/policies/batch/preview", json={"quote_id": quote["id"], "csv": text},
                            headers=headers))
    assert api.chain.w3.eth.block_number == block  # a dry run: no transaction
    assert (got["valid"], got["invalid"]) == (2, 1)
    assert [r["line"] for r in got["rows"] if not r["ok"]] == [3]
    assert got["rows"][1]["error"]["type"] == "invalid_beneficiary"
    assert got["premium_total"] == 2 * quote["premium"] and got["limit_total"] == 2 * quote["limit"]
    assert got["quote"]["issuable"] is True
    issued = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": got["covers"]},
                               headers=headers), 201)
    assert sorted(p["holder_ref"] for p in issued["policies"]) == ["ok-1", "ok-2"]
    # Another tenant's quote is not found; a missing column is a 400 with a type.
    other = api.key(api.tenant(), "distributor")
    r = api.c.post("/v1/policies/batch/preview", json={"quote_id": quote["id"], "csv": text}, headers=other)
    assert r.status_code == 404
    r = api.c.post("/v1/policies/batch/preview", json={"quote_id": quote["id"], "csv": "a,b\n1,2\n"},
                   headers=headers)
    assert (r.status_code, r.json()["type"]) == (400, "csv_missing_column")
    assert api.c.post("/v1/policies/batch/preview", json={"quote_id": quote["id"], "csv": text},
                      headers=api.staff("claims")).status_code == 403


def test_preview_of_an_expired_quote_marks_every_row(api: Api, distributor) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    api.chain.travel(8 * 86400)  # beyond quote_validity_seconds (7 days)
    got = api.ok(api.c.post("/v1/policies/batch/preview",
                            json={"quote_id": quote["id"], "csv": f"holder_ref,beneficiary\nx,{_addr('x')}\n"},
                            headers=headers))
    assert got["quote"]["issuable"] is False and got["valid"] == 0
    assert got["rows"][0]["error"]["type"] == "quote_expired"


def test_policy_search_by_holder_ref_id_and_beneficiary(api: Api, distributor) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    covers = [{"holder_ref": "Acme_Corp-1", "beneficiary": _addr("s1")},
              {"holder_ref": "globex-2", "beneficiary": _addr("s2")}]
    issued = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                               headers=headers), 201)["policies"]

    def refs(q: str) -> list[str]:
        return [p["holder_ref"] for p in api.ok(api.c.get("/v1/policies", params={"q": q}, headers=headers))["items"]]

    assert refs("acme") == ["Acme_Corp-1"]
    assert refs("_corp") == ["Acme_Corp-1"]
    assert refs("%") == []  # wildcards are literal
    assert refs(str(issued[1]["id"])) == ["globex-2"]
    assert refs(_addr("s2").upper().replace("0X", "0x")) == ["globex-2"]
    other = api.key(api.tenant(), "distributor")
    assert api.ok(api.c.get("/v1/policies", params={"q": "acme"}, headers=other))["items"] == []
