#!/usr/bin/env python
"""Gas of the DESIGN §4 operations on eth-tester (py-evm, Prague rules).

Writes bench/gas.json and prints a table beside the targets. Figures are receipt `gasUsed`
(intrinsic 21,000 and calldata included); per-item figures divide a whole batch by its size.

    .venv/bin/python scripts/bench_gas.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts import eip712, merkle  # noqa: E402
from contracts.enums import RiskLevel  # noqa: E402
from contracts.policies import PolicyProjection  # noqa: E402
from scripts.gaslib import gas, product, setup, write  # noqa: E402
from tests.chain import ORACLES, SUBJECT, USD, signer  # noqa: E402

TARGETS = {
    "anchor_single": 50_000,
    "anchor_batch_per_report_1000": 60,
    "outage_3_sigs": 80_000,
    "outage_extra_sig": 7_000,
    "issue_single": 120_000,
    "issue_batch_per_policy_100": 45_000,
    "settle_per_policy_50": 35_000,
    "settle_per_policy_100": 35_000,
}


def terms(pid: int, report: bytes, beneficiary: str, i: int, cover_end: int) -> tuple:
    return (pid, 0, cover_end, 500 * USD, 5 * USD, beneficiary, keccak(text=f"holder-{i}"), SUBJECT, report,
            keccak(text=f"schedule-{i}"))


def main() -> None:
    led = setup()
    a = led.a
    out: dict[str, float] = {}

    # Anchor one report (the assessor sends it). Second anchor measured: warm nothing shared.
    led.anchor(keccak(text="warmup"))
    out["anchor_single"] = gas(led.anchor(keccak(text="report-1"), score_bps=8734, level=RiskLevel.LOWER))

    leaves = [merkle.leaf_hash(keccak(text=f"batch-report-{i}")) for i in range(1000)]
    root = merkle.MerkleTree(leaves).root
    r = led.send(led.registry.functions.anchorBatch(root, 1000, "ipfs://bafy-batch-0001"), a.assessor)
    out["anchor_batch_per_report_1000"] = gas(r) / 1000

    # Outage reports: a fresh service each time (a new window is the costlier case).
    now = led.now()
    g3 = gas(led.verify_outage(eip712.service_id("svc-3"), now - 7200, now - 100, signers=ORACLES[:3]))
    g4 = gas(led.verify_outage(eip712.service_id("svc-4"), now - 7200, now - 100, signers=ORACLES[:4]))
    out["outage_3_sigs"] = g3
    out["outage_extra_sig"] = g4 - g3
    # An ongoing outage re-reported as it grows: the newest window is extended in its slot.
    led.travel(60)
    out["outage_extend_3_sigs"] = gas(led.verify_outage(eip712.service_id("svc-3"), now - 7200, now - 30,
                                                        signers=ORACLES[:3]))
    # An older outage verified after a later one: inserted in order (one window moves).
    out["outage_late_insert_3_sigs"] = gas(led.verify_outage(eip712.service_id("svc-3"), now - 20000, now - 15000,
                                                             signers=ORACLES[:3]))

    report = led.anchor_id(keccak(text="report-1"))  # the book takes the anchor id
    service = eip712.service_id("https://app.saas.example")
    pid = product(led, service)
    cover_end = led.now() + 30 * 86400
    proj = PolicyProjection()
    proj.apply_receipt(led.book, led.send(led.book.functions.issue(terms(pid, report, a.alice, 0, cover_end)),
                                          a.distributor))  # warm-up
    r = led.send(led.book.functions.issue(terms(pid, report, a.bob, 1, cover_end)), a.distributor)
    out["issue_single"] = gas(r)
    proj.apply_receipt(led.book, r)

    # Renew policy 2 from its cover end (a second issuance plus the old record rewritten), then
    # cancel policy 1 a day in: release, refund from free capital, exposures removed.
    renewal = (pid, cover_end, cover_end + 30 * 86400, *terms(pid, report, a.bob, 1, cover_end)[3:])
    ids, records = proj.records([2])
    out["renew"] = gas(led.send(led.book.functions.renew(2, records[0], renewal), a.distributor))
    led.travel(86400)
    ids, records = proj.records([1])
    out["cancel"] = gas(led.send(led.book.functions.cancel(1, records[0]), a.distributor))

    beneficiaries = [signer(f"customer-{i}").address for i in range(100)]
    batch = [terms(pid, report, beneficiaries[i], 100 + i, cover_end) for i in range(100)]
    r = led.send(led.book.functions.issueBatch(batch), a.distributor)
    out["issue_batch_per_policy_100"] = gas(r) / 100
    proj.apply_receipt(led.book, r)
    first = int(led.book.functions.policyCount().call()) - 99
    # A second hundred, to fresh holders, for the 100-policy settle (issue 14's batch size).
    fresh = [signer(f"customer-{i}").address for i in range(100, 200)]
    r = led.send(led.book.functions.issueBatch([terms(pid, report, fresh[i], 200 + i, cover_end)
                                                for i in range(100)]), a.distributor)
    proj.apply_receipt(led.book, r)

    # One verified outage of 2 h on the service, then settle 50 policies (fresh beneficiaries).
    start = led.now() + 10
    led.travel(3 * 3600)
    led.verify_outage(service, start, start + 7200)
    led.travel(led.oracle.functions.finalityDelay().call() + 1)  # the episode's start is final
    ids, records = proj.records(range(first, first + 50))
    out["settle_per_policy_50"] = gas(led.send(led.book.functions.settle(ids, records), a.relayer)) / 50

    # Same, to beneficiaries that already hold the token (the reference's condition).
    for b in beneficiaries[50:]:
        led.send(led.token.functions.mint(b, 1), a.owner)
    ids, records = proj.records(range(first + 50, first + 100))
    out["settle_per_policy_50_existing_holders"] = gas(
        led.send(led.book.functions.settle(ids, records), a.relayer)) / 50

    # One 100-policy batch to fresh holders: the per-batch costs spread over twice as many.
    ids, records = proj.records(range(first + 100, first + 200))
    out["settle_per_policy_100"] = gas(led.send(led.book.functions.settle(ids, records), a.relayer)) / 100
    write("gas", out, TARGETS)


if __name__ == "__main__":
    main()
