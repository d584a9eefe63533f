#!/usr/bin/env python
"""End-to-end benchmark on anvil: issue 10,000 covers through the batch API, then one outage that
affects all of them. Writes bench/e2e.json.

    .venv/bin/python scripts/bench_e2e.py [--covers 10000]

Starts a private `cybercover up` (anvil mining every second, the API, the payout worker, three
oracle nodes). Times come from block timestamps: `payout_all_seconds` runs from the block of the
OutageVerified transaction that first made the window longer than the threshold to the block of
the last PayoutSent (so it includes the oracle's finality delay, 20 s under `up`, before an
outage's start pays); `payout_p95_seconds` is the 95th percentile of that delay per policy.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.commands.demo import THRESHOLD, USD, Demo, Target  # noqa: E402
from service.stack.launch import private_up  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--covers", type=int, default=10_000)
    ap.add_argument("--issue-batch", type=int, default=500, help="policies per issueBatch transaction")
    ap.add_argument("--settle-batch", type=int, default=100, help="policies per settle transaction")
    args = ap.parse_args()

    target = Target()
    target.up()
    env = {"CYBERCOVER_ISSUE_BATCH": str(args.issue_batch), "CYBERCOVER_SETTLE_BATCH": str(args.settle_batch)}
    try:
        with tempfile.TemporaryDirectory(prefix="cybercover-bench-") as tmp, private_up(Path(tmp), env=env) as urls:
            result = run(Demo(urls[0], Path(tmp), urls[1], args.covers, print), target, args.covers)
    finally:
        target.down()
    (ROOT / "bench").mkdir(exist_ok=True)
    (ROOT / "bench" / "e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def run(d: Demo, target: Target, n: int) -> dict[str, float]:
    from service.assessment import ITEMS

    product = d.product("bench cover", target.url, 5 * USD, 5 * USD,
                        {"low": 100_000, "lower": 100_000, "medium": 200_000}, USD // 10)
    tenant, dist = d.distributor("bench SaaS")
    answers = {i.id: "yes" for i in ITEMS if i.part.value == "base"}
    a = d.call("POST", "/v1/assessments", json={
        "org_identifier": "BENCH-ORG-1", "answers": answers, "scenarios": [], "industry": "SaaS",
        "business_overview": "benchmark tenant", "key_assets": ["data"], "tenant_id": tenant["id"]})
    d.call("POST", f"/v1/assessments/{a['id']}/anchor")
    quote = d.quote(product["id"], a["id"], dist)

    beneficiaries = [d.w3.eth.account.create().address for _ in range(n)]
    t0 = time.monotonic()
    policies = d.issue(quote["id"], beneficiaries, dist, "bench", 1000)
    issue_s, issued = time.monotonic() - t0, len(policies)
    print(f"issued {issued} covers in {issue_s:.1f} s")

    d.wait("the oracle nodes to watch the service", lambda: target.hits > 3, 120)
    d.wait_past_cover_starts(policies)
    target.down()
    book, oracle = d.dep.contract(d.w3, "PolicyBook"), d.dep.contract(d.w3, "OutageOracle")
    first_block = d.dep.first_block

    def qualifying() -> object:
        for ev in oracle.events.OutageVerified.get_logs(from_block=first_block):
            if ev["args"]["end"] - ev["args"]["start"] > THRESHOLD:
                return ev
        return None

    verified = d.wait("a qualifying verified outage", qualifying, 600)
    print(f"outage verified in block {verified['blockNumber']}")

    def payouts() -> list:
        return list(book.events.PayoutSent.get_logs(from_block=verified["blockNumber"]))

    d.wait("every policy to be paid", lambda: len(payouts()) >= issued, 900)
    target.up()
    logs = payouts()

    @functools.cache
    def ts(block: int) -> int:
        return int(d.w3.eth.get_block(block)["timestamp"])

    t_verified = ts(verified["blockNumber"])
    delays = sorted(ts(e["blockNumber"]) - t_verified for e in logs)
    txs = {e["transactionHash"] for e in logs}
    gas = sum(d.w3.eth.get_transaction_receipt(t)["gasUsed"] for t in txs)
    return {
        "covers": issued,
        "issue_per_s": round(issued / issue_s, 1),
        "payout_all_seconds": delays[-1],
        "payout_p95_seconds": delays[int(0.95 * (len(delays) - 1))],
        "gas_per_policy_paid": round(gas / len(logs)),
        "settle_transactions": len(txs),
    }


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        raise SystemExit(f"error: {exc}") from None
