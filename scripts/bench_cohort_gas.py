#!/usr/bin/env python
"""Gas of group covers (CohortBook) on eth-tester (py-evm, Prague rules).

Writes bench/cohort_gas.json and prints it beside the issue-14 targets. Figures are receipt
`gasUsed` (intrinsic 21,000 and calldata included); per-customer figures divide a whole batch
by the members it paid. Payees are new holders (zero token balance before: the costly case).

    .venv/bin/python scripts/bench_cohort_gas.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts import eip712  # noqa: E402
from contracts.cohort_records import records_from_logs  # noqa: E402
from contracts.merkle import StandardTree, member_leaf  # noqa: E402
from scripts.gaslib import PINNED_TIME, gas, product, setup, write  # noqa: E402
from tests.chain import SUBJECT, USD  # noqa: E402

TARGETS = {"cohort_issue_gas": 150_000, "cohort_100k_issue_gas": 150_000,
           "cohort_paid_gas_per_customer": 30_000}
LIMIT = 500 * USD
BATCHES = (100, 500, 900)  # 900 × ~30k fills most of a 30M block (MAX_BATCH 2000 never fits one)


def cohort(n: int, tag: str) -> tuple[list[tuple], StandardTree]:
    """`n` members with distinct fresh addresses (derived, not keyed: no one signs for them)."""
    ms = [(i, to_checksum_address(keccak(text=f"{tag}-{i}")[12:]), LIMIT, keccak(text=f"holder|{tag}-{i}"))
          for i in range(n)]
    return ms, StandardTree([member_leaf(*m) for m in ms])


def main() -> None:
    led = setup()
    a, c = led.a, led.cohorts.functions
    led.anchor(keccak(text="report-1"))
    report = led.anchor_id(keccak(text="report-1"))
    service = eip712.service_id("https://app.saas.example")
    pid = product(led, service, auto=LIMIT, limit=LIMIT, medium_limit=LIMIT)
    terms = (pid, 0, led.now() + 30 * 86400, SUBJECT, report)
    out: dict[str, float] = {}

    trees = {}
    for key, n in (("cohort_issue_gas", 10_000), ("cohort_100k_issue_gas", 100_000)):
        ms, t = cohort(n, key)
        trees[key] = (ms, t)
        r = led.send(c.issueCohort(terms, t.root, n, n * LIMIT, n * USD), a.distributor)
        out[key] = gas(r)
    cid = 1  # the 10,000-customer cohort
    ms, t = trees["cohort_issue_gas"]
    rec, segs = records_from_logs(led.cohorts, cid)
    ms2, t2 = cohort(100, "segment-1")
    out["cohort_add_segment_gas"] = gas(led.send(c.addSegment(cid, rec.as_tuple(), segs[0].as_tuple(), t2.root, 100,
                                                              100 * LIMIT, 100 * USD), a.distributor))
    rec, segs = records_from_logs(led.cohorts, cid)
    c_, s0, every = rec.as_tuple(), segs[0].as_tuple(), [s.as_tuple() for s in segs]

    start = led.now() + 10
    led.travel(3 * 3600)
    led.verify_outage(service, start, start + 7200)
    led.travel(led.oracle.functions.finalityDelay().call() + 1, mine=True)
    out["cohort_settle_gas"] = gas(led.send(c.settle(cid, c_, every), a.relayer))

    first = 0
    for size in BATCHES:
        mp = t.multiproof(range(first, first + size))
        batch = [ms[i] for i in mp.indices]
        r = led.send(c.payBatch(cid, 1, 0, c_, s0, batch, mp.proof, mp.flags), a.relayer, gas=29_000_000)
        assert r["status"] == 1
        paid = led.cohorts.events.CohortPaid().process_receipt(r, errors=DISCARD)[0]["args"]["count"]
        assert paid == size, (paid, size)
        out[f"cohort_paid_gas_per_customer_batch_{size}"] = gas(r) / size
        first += size
    out["cohort_paid_gas_per_customer"] = out["cohort_paid_gas_per_customer_batch_900"]
    i = first
    out["cohort_claim_gas"] = gas(led.send(c.claim(cid, 1, 0, c_, s0, ms[i], t.proof(i)), a.relayer))
    # The floor of a payout: one token transfer to a new holder, without the 21,000 intrinsic gas.
    fresh = to_checksum_address(keccak(text="fresh-holder")[12:])
    led.fund(a.alice, 10 * USD)
    out["token_transfer_new_holder_gas"] = gas(led.send(led.token.functions.transfer(fresh, USD), a.alice)) - 21_000
    out["block_gas_limit"] = int(led.w3.eth.get_block("latest")["gasLimit"])
    out["payouts_per_block"] = out["block_gas_limit"] // int(out["cohort_paid_gas_per_customer"])
    out["pinned_time"] = PINNED_TIME

    write("cohort_gas", out, TARGETS)


if __name__ == "__main__":
    main()
