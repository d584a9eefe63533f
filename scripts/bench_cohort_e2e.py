"""The group-cover (CohortBook) part of scripts/bench_e2e.py: one cohort of `--cohort-customers`
(10,000) issued through `POST /v1/cohorts` (CSV), one outage of its service, its payout by the
worker (`service/worker/cohorts.py`); and one 100,000-customer cohort issued the same way on a
service that stays up (so the worker never pays it), after the first is paid, so the memory peaks
taken before it (`peaks`) are the 10,000-customer run's.

Figures: `cohort_issue_gas` and `cohort_100k_issue_gas` are the receipts' gasUsed of every
transaction the API sent to issue the cohort (its segments' txs: one `issueCohort` each);
`cohort_paid_gas_per_customer` is the gas of every transaction that logged the cohort's
`CohortPaid` over the customers it paid (all fresh addresses: new holders), the `settle` that
opened the round apart (`cohort_settle_gas`); `cohort_payout_all_seconds` runs from the block of the
first OutageVerified of the service longer than the threshold to the block of the CohortPaid
that paid the last customer (the oracle's finality delay, 20 s under `up`, included).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from typing import Any

from service.commands.demo import THRESHOLD, USD, Demo, Target

LIMIT = 5 * USD  # each customer's limit: the product's fixed payout, within its auto-pay limit
BODY_BYTES = 16 << 20  # a 100,000-row CSV is ~6.7 MB; the default 1 MiB body limit holds ~15,000


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--cohort-customers", type=int, default=10_000, help="customers of the paid cohort")
    ap.add_argument("--cohort-big", type=int, default=100_000,
                    help="customers of the issue-only cohort (`cohort_100k_issue_gas`; 0 skips it)")


def stack_env(args: argparse.Namespace) -> dict[str, str]:
    """The bench stack's settings the cohort part needs: a body limit that takes the big cohort's CSV
    in one request (a deployment setting: by default larger bases go in segments)."""
    return {"CYBERCOVER_MAX_BODY_BYTES": str(BODY_BYTES)} if args.cohort_big > 15_000 else {}


def _csv(tag: str, beneficiaries: list[str]) -> str:
    return "ref,beneficiary,limit\n" + "".join(f"{tag}-{i},{b},{LIMIT}\n" for i, b in enumerate(beneficiaries))


def _fresh(n: int) -> list[str]:
    """`n` distinct fresh addresses (no keys: no one signs for them, and creating 100,000 accounts
    takes minutes); derived from random bytes, checksummed as the API expects."""
    from eth_utils import to_checksum_address

    return [to_checksum_address(os.urandom(20)) for _ in range(n)]


def issue(d: Demo, key: dict[str, str], assessment: str, product: int, tag: str, n: int) -> tuple[dict, int, float]:
    """A cohort of `n` new customers from one CSV request: (the cohort, all its issue gas, seconds)."""
    body = _csv(tag, _fresh(n))
    t0 = time.monotonic()
    # 100,000 customers are priced, hashed and stored in one request: ~70 s at load 5, past the
    # demo client's 120 s on a busier machine.
    cohort = d.call("POST", "/v1/cohorts", {**key, "content-type": "text/csv"}, content=body, timeout=900,
                    params={"assessment_id": assessment, "product_id": product, "cover_seconds": 86400})
    took = time.monotonic() - t0
    if cohort["members"] != n:
        raise SystemExit(f"cohort {cohort['id']}: {cohort['members']} members, not {n}")
    gas = sum(int(d.w3.eth.get_transaction_receipt(s["tx"])["gasUsed"]) for s in cohort["segments"])
    return cohort, gas, took


def run(d: Demo, n: int, big: int, peaks: dict[str, float] | None = None) -> dict[str, Any]:
    """`cohort_issue_gas`, `cohort_paid_gas_per_customer`, `cohort_payout_all_seconds`, `cohort_100k_issue_gas`."""
    from service.assessment import ITEMS

    target, steady = Target(), Target()
    target.up()
    steady.up()
    try:
        return _run(d, target, steady, n, big, ITEMS, peaks or {})
    finally:
        target.down()
        steady.down()


def _run(d: Demo, target: Target, steady: Target, n: int, big: int, items: Any,
         peaks: dict[str, float]) -> dict[str, Any]:
    rates = {"low": 100_000, "lower": 100_000, "medium": 200_000}
    product = d.product("bench group cover", target.url, LIMIT, LIMIT, rates)
    tenant, dist = d.distributor("bench SaaS group")
    answers = {i.id: "yes" for i in items if i.part.value == "base"}
    a = d.call("POST", "/v1/assessments", json={
        "org_identifier": "BENCH-ORG-COHORT", "answers": answers, "scenarios": [], "industry": "SaaS",
        "business_overview": "benchmark tenant (group cover)", "key_assets": ["data"], "tenant_id": tenant["id"]})
    d.call("POST", f"/v1/assessments/{a['id']}/anchor")
    out: dict[str, Any] = {"cohort_customers": n}

    cohort, out["cohort_issue_gas"], took = issue(d, dist, a["id"], product["id"], "bench-member", n)
    out["cohort_issue_request_seconds"] = round(took, 1)
    print(f"cohort {cohort['id']}: {n} customers issued with {out['cohort_issue_gas']:,} gas in {took:.1f} s")

    def projected() -> dict | None:
        got = d.call("GET", f"/v1/cohorts/{cohort['id']}", dist)
        return got if got["cover_start"] is not None else None

    d.wait("the oracle nodes to watch the cohort's service", lambda: target.hits > 3, 120)
    d.wait_past_cover_starts([d.wait("the cohort to be projected", projected, 120)])
    target.down()
    book, oracle = d.dep.contract(d.w3, "CohortBook"), d.dep.contract(d.w3, "OutageOracle")
    first_block = d.dep.first_block
    service_id = bytes.fromhex(product["service_id"].removeprefix("0x"))

    def qualifying() -> Any:
        for ev in oracle.events.OutageVerified.get_logs(from_block=first_block,
                                                        argument_filters={"serviceId": service_id}):
            if ev["args"]["end"] - ev["args"]["start"] > THRESHOLD:
                return ev
        return None

    verified = d.wait("a qualifying verified outage of the cohort's service", qualifying, 600)
    print(f"outage verified in block {verified['blockNumber']}")

    def paid_logs() -> list:
        return list(book.events.CohortPaid.get_logs(from_block=verified["blockNumber"],
                                                    argument_filters={"cohortId": cohort["id"]}))

    loads = [os.getloadavg()[0]]  # the machine is shared: the 1-minute load while the worker pays

    def all_paid() -> bool:
        loads.append(os.getloadavg()[0])
        return sum(e["args"]["count"] for e in paid_logs()) >= n

    d.wait(f"all {n} customers of cohort {cohort['id']} to be paid", all_paid, 900)
    target.up()
    logs = sorted(paid_logs(), key=lambda e: (e["blockNumber"], e["logIndex"]))

    @functools.cache
    def ts(block: int) -> int:
        return int(d.w3.eth.get_block(block)["timestamp"])

    paid = sum(e["args"]["count"] for e in logs)
    txs = {e["transactionHash"] for e in logs}
    gas = sum(int(d.w3.eth.get_transaction_receipt(t)["gasUsed"]) for t in txs)
    rounds = list(book.events.RoundOpened.get_logs(from_block=verified["blockNumber"],
                                                   argument_filters={"cohortId": cohort["id"]}))
    limit = int(d.w3.eth.get_block("latest")["gasLimit"])
    out.update({
        "cohort_paid_gas_per_customer": round(gas / paid),
        "cohort_payout_all_seconds": ts(logs[-1]["blockNumber"]) - ts(verified["blockNumber"]),
        "cohort_settle_to_all_paid_seconds": ts(logs[-1]["blockNumber"]) - ts(rounds[0]["blockNumber"]),
        "cohort_settle_gas": sum(int(d.w3.eth.get_transaction_receipt(r["transactionHash"])["gasUsed"])
                                 for r in rounds),
        "cohort_pay_transactions": len(txs),
        "cohort_pay_blocks": len({e["blockNumber"] for e in logs}),
        "cohort_payouts_per_block_floor": limit // round(gas / paid),
        "block_gas_limit": limit,
        "cohort_payout_load_average": [round(min(loads), 2), round(max(loads), 2)],
    })
    for role, key in (("serve", "cohort_api_peak_rss_mb"), ("worker", "cohort_worker_peak_rss_mb")):
        # Issue and payout of the n customers, before the big cohort (after the covers' run too, if any).
        out[key] = round(peaks.get(role, 0.0), 1)
    if big:
        other = d.product("bench group cover (issue only)", steady.url, LIMIT, LIMIT, rates)
        big_cohort, gas, took = issue(d, dist, a["id"], other["id"], "bench-big", big)
        out["cohort_100k_issue_gas" if big == 100_000 else "cohort_big_issue_gas"] = gas
        out["cohort_big_customers"] = big
        out["cohort_big_issue_request_seconds"] = round(took, 1)
        out["cohort_big_api_peak_rss_mb"] = round(peaks.get("serve", 0.0), 1)
        print(f"cohort {big_cohort['id']}: {big} customers issued with {gas:,} gas in {took:.1f} s")
    return out

