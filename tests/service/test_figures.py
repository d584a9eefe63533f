"""The insurer's figures (issue 13, item 7) on a scripted history, each figure computed by hand
from the chain's own events and views (never from the service's projection):

one tenant quotes twice through its distributor key and once through an insurer underwriter; it
issues a per-hour cover that a 5 h outage auto-pays 150 USD and sends 50 USD to review, approved
in part (20 USD); and a second cover that it cancels. A second tenant has nothing. Then tenant
scoping, the gauges on /metrics and the 4xx answers."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from contracts import eip712
from service.domain import figures
from tests.chain import USD
from tests.service.helpers import HOUR, Api, incident_on_file, issue, outage, unique_service, worker

LIMIT = 500 * USD


def exact(num: int | Fraction, den: int | Fraction) -> str:
    """num ÷ den to 6 places, half to even, written out independently of the service."""
    q = Fraction(num) / Fraction(den) * 10**6
    floor = math.floor(q)
    rest = q - floor
    up = rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1)
    n = floor + (1 if up else 0)
    return f"{n // 10**6}.{n % 10**6:06d}"


def block_time(api: Api, block: int) -> int:
    return int(api.chain.w3.eth.get_block(block)["timestamp"])


def history(api: Api, app: FastAPI, tenant: str, headers: dict[str, str]) -> dict[str, Any]:
    """The scripted history; returns what the hand computation needs."""
    service = unique_service()
    prod, paid = issue(api, tenant, headers, service)  # quote 1 (distributor), policy 1
    # Quote 2: an insurer underwriter prices a cover for this tenant's assessment: a person's decision.
    assessment = api.anchored_assessment(tenant)
    api.quote(prod["id"], assessment["id"], api.staff("underwriter"))
    # Quote 3 (distributor) and policy 2, on another service, cancelled later.
    _, cancelled = issue(api, tenant, headers, unique_service())

    window = outage(api, service, 5 * HOUR, headers)  # 4 units beyond the 1 h trigger: 200 USD, 150 auto-paid
    worker(app).run_once()
    [claim] = [c for c in api.ok(api.c.get("/v1/claims", params={"status": "open"}, headers=headers))
               if c["policy_id"] == paid["id"]]
    assert claim["amount"] == 50 * USD
    incident = incident_on_file(api, app, paid, service, window["start"], window["end"])
    approved = api.ok(api.c.post(f"/v1/claims/{claim['id']}/approve",
                                 json={"incident_report": incident, "amount": 20 * USD}, headers=api.staff("claims")))
    assert approved["approved"] == 20 * USD

    api.chain.travel(HOUR)
    done = api.ok(api.c.post(f"/v1/policies/{cancelled['id']}/cancel", json={"reason": "left"}, headers=headers))
    receipt = api.chain.w3.eth.get_transaction_receipt(done["cancel_tx"])
    at = block_time(api, receipt["blockNumber"])
    refund = cancelled["premium"] * (cancelled["cover_end"] - at) // (cancelled["cover_end"] - cancelled["cover_start"])
    assert done["refund"] == refund  # the contract's rule, by hand (no cancellation fee)
    api.chain.travel(2 * HOUR)
    worker(app).run_once()  # the projection catches up with the last block
    return {"service": service, "paid": paid, "cancelled": cancelled, "refund": refund}


def test_figures_equal_hand_computed_values_on_a_scripted_history(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    h = history(api, app, tenant, headers)
    paid, cancelled = h["paid"], h["cancelled"]
    sid = "0x" + eip712.service_id(h["service"]).hex()

    f = api.ok(api.c.get("/v1/figures", headers=headers))
    assert f["tenant_id"] == tenant
    assert f["tenants"] is None
    assert "承保自动化率超过 70%" in f["targets_source"]
    t = f["as_of"]
    assert t == block_time(api, f["as_of_block"])

    assert f["underwriting"] == {"quotes": 3, "automatic": 2, "person": 1, "unattributed": 0,
                                 "automation": "0.666667", "target": "0.700000", "meets_target": False}

    # The chain's payouts for the paid policy: 150 at settlement, then 20 on approval.
    sent = api.chain.book.events.PayoutSent.get_logs(from_block=0, argument_filters={"policyId": paid["id"]})
    assert [e["args"]["amount"] for e in sent] == [150 * USD, 20 * USD]
    assert f["claims"] == {
        "paid_amount": 170 * USD, "paid_count": 2, "automatic_amount": 150 * USD, "automatic_count": 1,
        "reviewed_amount": 20 * USD, "reviewed_count": 1, "lapsed_amount": 0, "lapsed_count": 0,
        "automation_by_amount": exact(150, 170), "automation_by_count": "0.500000", "target": "0.400000",
        "meets_target_by_amount": True, "meets_target_by_count": True}
    assert exact(150, 170) == "0.882353"

    # Earned: policy 1 pro rata of its elapsed cover at as_of; policy 2 what the pool kept.
    length = paid["cover_end"] - paid["cover_start"]
    earned = Fraction(paid["premium"] * (min(t, paid["cover_end"]) - paid["cover_start"]), length)
    earned += cancelled["premium"] - h["refund"]
    assert f["loss"] == {"policies": 2, "written_premium": paid["premium"] + cancelled["premium"],
                         "refunds": h["refund"], "earned_premium": math.floor(earned), "paid": 170 * USD,
                         "loss_ratio": exact(170 * USD, earned)}

    # Capital: this tenant's live cover holds its limit less what it paid, out of the pool's capacity.
    pool = api.chain.dep.contract(api.chain.w3, "CoverPool").functions
    at_block = {"block_identifier": f["as_of_block"]}
    free, locked = pool.freeCapital().call(**at_block), pool.lockedCapital().call(**at_block)
    assert f["capital"] == {"scope": "tenant", "assets": None, "free": None, "owed": None,
                            "locked": LIMIT - 170 * USD, "utilisation": exact(LIMIT - 170 * USD, free + locked)}
    assert f["exposure"] == [{"service_id": sid, "policies": 1, "exposure": LIMIT, "at_risk": LIMIT - 170 * USD}]

    # Verified outage → payout: the OutageVerified block's time to each PayoutSent block's time.
    [verified] = api.chain.oracle.events.OutageVerified.get_logs(
        from_block=0, argument_filters={"serviceId": eip712.service_id(h["service"])})
    delays = sorted(block_time(api, e["blockNumber"]) - block_time(api, verified["blockNumber"]) for e in sent)
    assert delays[0] > 0
    assert f["outage_to_payout"] == {"payouts": 2, "unattributed": 0, "p50_seconds": delays[0],
                                     "p95_seconds": delays[1], "max_seconds": delays[1]}

    # Insurer staff see the same for this tenant, and the pool overall.
    auditor = api.staff("auditor")
    one = api.ok(api.c.get("/v1/figures", params={"tenant_id": tenant}, headers=auditor))
    assert one == f
    overall = api.ok(api.c.get("/v1/figures", headers=auditor))
    assert overall["tenant_id"] is None
    assert overall["capital"] == {"scope": "pool", "assets": pool.totalAssets().call(**at_block),
                                  "free": free, "owed": pool.owedCapital().call(**at_block),
                                  "locked": locked, "utilisation": exact(locked, free + locked)}
    # Every live cover is projected: their collateral is exactly what the pool holds locked.
    assert sum(e["at_risk"] for e in overall["exposure"]) == locked
    [mine] = [x for x in overall["tenants"] if x["tenant_id"] == tenant]
    assert {k: v for k, v in mine.items() if k not in ("tenant_id", "name")} == {
        k: f[k] for k in ("underwriting", "claims", "loss", "capital", "exposure", "outage_to_payout")}
    assert overall["claims"]["paid_amount"] >= 170 * USD
    assert overall["underwriting"]["quotes"] >= 3
    on_chain = api.chain.book.functions.serviceExposure(eip712.service_id(h["service"])).call(**at_block)
    assert [e["exposure"] for e in overall["exposure"] if e["service_id"] == sid] == [on_chain[1]]

    # The gauges: the same figures on /metrics.
    g = gauges(api.c.get("/metrics", headers=auditor).text)
    assert g["cybercover_underwriting_automation_ratio", (("tenant", tenant),)] == 2 / 3
    assert g["cybercover_paid", (("settled", "reviewed"), ("tenant", tenant))] == 20 * USD
    assert g["cybercover_payouts", (("settled", "automatic"), ("tenant", tenant))] == 1
    assert g["cybercover_claims_automation_ratio", (("measure", "count"), ("tenant", tenant))] == 0.5
    assert g["cybercover_locked_collateral", (("tenant", tenant),)] == LIMIT - 170 * USD
    assert g["cybercover_loss_ratio", (("tenant", tenant),)] == float(Fraction(170 * USD) / earned)
    assert g["cybercover_outage_to_payout_seconds", (("quantile", "0.95"), ("tenant", tenant))] == delays[1]
    assert g["cybercover_service_exposure", (("service_id", sid),)] == LIMIT
    assert g["cybercover_automation_target_ratio", (("figure", "underwriting"),)] == 0.7
    assert g["cybercover_automation_target_ratio", (("figure", "claims"),)] == 0.4
    assert g["cybercover_capital", (("state", "locked"),)] >= locked  # read later: maybe more covers since


def gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_a_lapsed_claim_counts_as_reviewed_not_automatic(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service, claim_seconds=HOUR)
    outage(api, service, 5 * HOUR, headers)
    worker(app).run_once()  # 150 auto-paid, 50 to review
    api.chain.travel(HOUR + 1)
    api.chain.tester.mine_blocks()  # the worker reads the deadline against the latest block's time
    assert len(worker(app).run_once().lapsed) == 1  # nobody decided: deemed approved, paid
    c = api.ok(api.c.get("/v1/figures", headers=headers))["claims"]
    assert (c["paid_amount"], c["paid_count"]) == (200 * USD, 2)
    assert (c["automatic_amount"], c["automatic_count"]) == (150 * USD, 1)
    assert (c["lapsed_amount"], c["lapsed_count"], c["reviewed_amount"], c["reviewed_count"]) == (50 * USD, 1, 0, 0)
    assert (c["automation_by_amount"], c["automation_by_count"]) == ("0.750000", "0.500000")


def test_figures_are_scoped_to_the_callers_tenant(api: Api) -> None:
    mine, other = api.tenant(), api.tenant()
    headers = api.key(mine, "distributor")
    f = api.ok(api.c.get("/v1/figures", headers=headers))
    assert f["tenant_id"] == mine
    assert f["tenants"] is None
    assert f["underwriting"]["quotes"] == 0
    assert f["underwriting"]["automation"] is None
    assert f["underwriting"]["meets_target"] is None
    assert f["claims"]["paid_count"] == 0
    assert f["claims"]["automation_by_amount"] is None
    assert f["loss"]["loss_ratio"] is None
    assert f["exposure"] == []
    assert f["capital"]["locked"] == 0
    assert f["outage_to_payout"]["p50_seconds"] is None
    for role in ("auditor", "admin"):  # a client's admin and auditor: their own tenant too
        assert api.ok(api.c.get("/v1/figures", headers=api.key(mine, role)))["tenant_id"] == mine
    assert api.ok(api.c.get("/v1/figures", params={"tenant_id": mine}, headers=headers))["tenant_id"] == mine
    # Another tenant's figures do not exist for a client key, nor for the insurer's own distributor.
    for key in (headers, api.staff("distributor")):
        refused = api.c.get("/v1/figures", params={"tenant_id": other}, headers=key)
        assert refused.status_code == 404
        assert refused.json()["type"] == "not_found"
    # Insurer staff: any tenant, and every tenant listed overall.
    staff = api.ok(api.c.get("/v1/figures", headers=api.staff("claims")))
    assert {mine, other} <= {t["tenant_id"] for t in staff["tenants"]}


def test_figures_bad_requests(api: Api) -> None:
    staff = api.staff("underwriter")
    assert api.c.get("/v1/figures").status_code == 401
    relay = api.c.get("/v1/figures", headers=api.staff("relay"))
    assert relay.status_code == 403
    assert relay.json()["type"] == "forbidden"
    unknown = api.c.get("/v1/figures", params={"tenant_id": "f" * 32}, headers=staff)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "not_found"
    for bad in ("x" * 33, "a b", ""):
        r = api.c.get("/v1/figures", params={"tenant_id": bad}, headers=staff)
        assert r.status_code == 422, bad
        assert r.json()["type"] == "validation_error"
        assert r.json()["detail"]


def test_ratios_round_once_half_to_even_and_quantiles_take_the_nearest_rank() -> None:
    assert figures.ratio(5, 10**7) == "0.000000"  # 0.0000005: half, to even
    assert figures.ratio(15, 10**7) == "0.000002"  # 0.0000015: half, to even
    assert figures.ratio(Fraction(2, 3), 1) == "0.666667"
    assert figures.ratio(170, Fraction(3, 7)) == "396.666667"
    assert figures.ratio(1, 0) is None
    assert all(figures.ratio(n, d) == exact(n, d) for n in range(0, 40) for d in range(1, 40))
    values = list(range(1, 21))
    assert figures.nearest_rank(values, Fraction(1, 2)) == 10
    assert figures.nearest_rank(values, Fraction(95, 100)) == 19
    assert figures.nearest_rank([7], Fraction(95, 100)) == 7
    assert figures.nearest_rank([], Fraction(1, 2)) is None
