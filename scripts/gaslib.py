"""What the gas benchmarks share (bench_gas.py, bench_cohort_gas.py): a deployed, funded ledger on
eth-tester with the chain clock pinned, a product on it, and the write-and-print of the figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from web3 import EthereumTesterProvider, Web3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contracts.deploy import deploy  # noqa: E402
from contracts.enums import PayoutKind  # noqa: E402
from tests.chain import ORACLES, USD, Actors, Ledger  # noqa: E402
from tests.contracts.helpers import product_tuple  # noqa: E402

PINNED_TIME = 2_000_000_000  # 2033-05-18: later than any wall clock this runs on


def gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def setup() -> Ledger:
    w3 = Web3(EthereumTesterProvider())
    a = Actors.from_accounts(w3.eth.accounts)
    dep = deploy(w3, a.owner, oracle_signers=[o.address for o in ORACLES], quorum=3,
                 underwriters=[a.underwriter], distributors=[a.distributor], claims=[a.claims])
    led = Ledger(w3, dep, a)
    # Reports carry timestamps in calldata (a zero byte costs less than another): pin the chain's
    # clock ahead of the wall clock, so every run signs the same bytes and measures the same gas.
    led.tester.time_travel(PINNED_TIME)
    led.tester.mine_blocks(1)
    led.send(led.registry.functions.setAssessor(a.assessor, 90), a.owner)
    led.fund(a.owner, 10**9 * USD, led.pool.address)
    led.send(led.pool.functions.deposit(10**8 * USD), a.owner)
    led.fund(a.distributor, 10**7 * USD, led.pool.address)
    return led


def product(led: Ledger, service: bytes, *, auto: int = 1_000 * USD, limit: int = 1_000 * USD,
            medium_limit: int = 500 * USD) -> int:
    """A fixed-payout product on `service` (trigger 60 s, no waiting, grace 1 h); its id."""
    p = product_tuple(service=service, trigger=60, kind=PayoutKind.FIXED, unit=0, waiting=0, grace=3600, auto=auto,
                      amount=100 * USD, limit=limit, medium_limit=medium_limit)
    led.send(led.book.functions.createProduct(p), led.a.underwriter)
    return int(led.book.functions.productCount().call())


def write(name: str, out: dict[str, float], targets: dict[str, int]) -> None:
    """Round the figures, write bench/`name`.json and print them beside their targets."""
    out = {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}
    (ROOT / "bench").mkdir(exist_ok=True)
    (ROOT / "bench" / f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")
    w = max(map(len, out)) + 4
    print(f"{'operation':<{w}}{'gas':>12}{'target':>12}  ok")
    for k, v in out.items():
        t = targets.get(k)
        print(f"{k:<{w}}{v:>12,}{(f'{t:,}' if t else '-'):>12}  {'' if t is None else ('yes' if v <= t else 'NO')}")
