#!/usr/bin/env python
"""End-to-end benchmark on anvil: issue 10,000 covers through the batch API, then one outage that
affects all of them. Writes bench/e2e.json.

    .venv/bin/python scripts/bench_e2e.py [--covers 10000] [--cohort-customers 10000] [--only covers|cohort]

Starts a private `cybercover up` (anvil mining every second, the API, the payout worker, three
oracle nodes). Times come from block timestamps: `payout_all_seconds` runs from the block of the
OutageVerified transaction that first made the window longer than the threshold to the block of
the last PayoutSent (so it includes the oracle's finality delay, 20 s under `up`, before an
outage's start pays); `payout_p95_seconds` is the 95th percentile of that delay per policy.
The group-cover figures (`cohort_*`) come from scripts/bench_cohort_e2e.py, in the same stack.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from eth_utils import event_abi_to_log_topic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import bench_cohort_e2e as cohort  # noqa: E402
from service.commands.demo import THRESHOLD, USD, Demo, Target  # noqa: E402
from service.stack.launch import private_up  # noqa: E402

OURS = str(Path(sys.executable).parent / "cybercover").encode()


class PeakRss:
    """Samples the resident memory of this checkout's `cybercover serve` and `cybercover worker`
    processes (from /proc, every 0.5 s) and keeps the peaks, in MB."""

    def __init__(self) -> None:
        self.peaks = {"serve": 0.0, "worker": 0.0}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for proc in Path("/proc").iterdir():
                if not proc.name.isdigit():
                    continue
                try:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                    status = (proc / "status").read_text()
                except OSError:
                    continue
                # Only this checkout's entry point: other checkouts on the machine run their own stacks.
                if not any(a == OURS for a in argv[:2]):
                    continue
                role = next((r for r in self.peaks if r.encode() in argv[1:3]), None)
                if role is None:
                    continue
                rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
                self.peaks[role] = max(self.peaks[role], rss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--covers", type=int, default=10_000)
    # 300, not 500: a 500-cover issueBatch (~19.4 M gas, its limit 1.2 x that) leaves too little of a
    # 30 M block for a second one, so the chain alone capped issuance at 500 covers/s.
    ap.add_argument("--issue-batch", type=int, default=300, help="policies per issueBatch transaction")
    ap.add_argument("--settle-batch", type=int, default=100, help="policies per settle transaction")
    ap.add_argument("--request", type=int, default=1000, help="covers per batch request (at most 1,000)")
    ap.add_argument("--clients", type=int, default=4, help="batch requests sent side by side")
    ap.add_argument("--in-flight", type=int, default=16, help="settle and issue transactions in flight at most")
    cohort.add_arguments(ap)
    ap.add_argument("--only", choices=("covers", "cohort"), help="run only the individual covers or the group cover")
    ap.add_argument("--data-dir", type=Path, help="the stack's data directory, kept afterwards (its logs/: "
                    "the worker's phase timings); default: a temporary one")
    args = ap.parse_args()

    target = Target()
    target.up()
    n_demo = args.covers if args.only != "cohort" else args.cohort_customers
    env = {"CYBERCOVER_ISSUE_BATCH": str(args.issue_batch), "CYBERCOVER_SETTLE_BATCH": str(args.settle_batch),
           "CYBERCOVER_SETTLE_IN_FLIGHT": str(args.in_flight), "CYBERCOVER_ISSUE_IN_FLIGHT": str(args.in_flight),
           **cohort.stack_env(args)}
    rss = PeakRss()
    rss.thread.start()
    try:
        with tempfile.TemporaryDirectory(prefix="cybercover-bench-") as tmp, \
                private_up(args.data_dir or Path(tmp), env=env) as urls:
            d = Demo(urls[0], args.data_dir or Path(tmp), urls[1], n_demo, print)
            result = run(d, target, args.covers, args.request, args.clients) if args.only != "cohort" else {}
            covers_rss = dict(rss.peaks)  # before the cohort part, whose 100,000-customer request peaks higher
            if args.only != "covers":
                result.update(cohort.run(d, args.cohort_customers, args.cohort_big, rss.peaks))
    finally:
        target.down()
        rss.stop.set()
    if args.only != "cohort":  # a cohort-only run has its own (cohort_*_rss_mb)
        result["api_peak_rss_mb"] = round(covers_rss["serve"], 1)
        result["worker_peak_rss_mb"] = round(covers_rss["worker"], 1)
    path = ROOT / "bench" / "e2e.json"
    path.parent.mkdir(exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **result}, indent=2) + "\n")  # the cohort keys are kept
    print(json.dumps(result, indent=2))


def issue_async(d: Demo, quote: str, beneficiaries: list[str], key: dict[str, str], chunk: int,
                clients: int = 1) -> list[int]:
    """`chunk` covers per batch request, each answered (202) once its transactions are sent; then
    every batch's status is polled until it ends. The issued ids, in order."""
    def covers(start: int) -> list[dict[str, str]]:
        return [{"beneficiary": b, "holder_ref": f"bench-{start + i}"}
                for i, b in enumerate(beneficiaries[start:start + chunk])]

    # A SaaS back end sends its requests side by side, as many as `clients`: each one waits for
    # its own broadcasts (simulation, estimate, signing), which the API overlaps across requests.
    def post(start: int) -> dict:
        return d.call("POST", "/v1/policies/batch", key, json={"quote_id": quote, "covers": covers(start)})

    with ThreadPoolExecutor(clients) as pool:
        batches = list(pool.map(post, range(0, len(beneficiaries), chunk)))
    ids: list[int] = []
    for b in batches:
        def ended(b: dict = b) -> dict | None:
            got = d.call("GET", b["status_url"], key)
            return got if got["status"] not in ("sending", "pending") else None

        status = d.wait(f"batch {b['id']} to end", ended, 900)
        if status["status"] != "issued":
            raise SystemExit(f"batch {b['id']}: {status}")
        ids += status["policy_ids"]
    return ids


def run(d: Demo, target: Target, n: int, chunk: int = 1000, clients: int = 1) -> dict[str, float]:
    """Individual covers: `issue_per_s`, `payout_all_seconds`, `payout_p95_seconds`, `gas_per_policy_paid`."""
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
    ids = issue_async(d, quote["id"], beneficiaries, dist, chunk, clients)
    issue_s, issued = time.monotonic() - t0, len(ids)
    policies = [d.call("GET", f"/v1/policies/{max(ids)}", dist)]  # the last cover to start
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

    payout_topic = "0x" + event_abi_to_log_topic(book.events.PayoutSent().abi).hex()

    def payouts() -> list:
        # Raw logs (block and transaction are all that is read): decoding 10,000 of them with web3
        # on every poll would take the CPU the worker needs, on a 2-core machine.
        return list(d.w3.eth.get_logs({"address": book.address, "fromBlock": verified["blockNumber"],
                                       "topics": [payout_topic]}))

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
    blocks = [e["blockNumber"] for e in logs]
    finality = int(oracle.functions.finalityDelay().call())
    return {
        "covers": issued,
        "issue_per_s": round(issued / issue_s, 1),
        "payout_all_seconds": delays[-1],
        "payout_p95_seconds": delays[int(0.95 * (len(delays) - 1))],
        "payout_first_seconds": delays[0],
        # From the outage's finality (verified-outage block + the oracle's delay) to the last payout.
        "payout_settle_seconds": delays[-1] - finality,
        "payout_blocks": max(blocks) - min(blocks) + 1,
        "gas_per_policy_paid": round(gas / len(logs)),
        "settle_transactions": len(txs),
        "block_gas_limit": int(d.w3.eth.get_block("latest")["gasLimit"]),
    }


if __name__ == "__main__":
    try:
        main()
    except httpx.HTTPError as exc:
        raise SystemExit(f"error: {exc}") from None
