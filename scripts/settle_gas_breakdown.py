#!/usr/bin/env python
"""Per-policy gas breakdown of `PolicyBook.settle` on eth-tester (py-evm, Prague rules).

Settles batches of 50 and 100 policies to fresh holders (and 50 to existing holders) with
py-evm's gas meter hooked: every charge is attributed to the contract running (book, pool,
token, oracle) and to its reason (opcode, SSTORE, LOG, memory expansion, call), and the
calldata's intrinsic cost is priced byte by byte. Prints the marginal per-policy figures
(the 100-policy batch minus the 50-policy one, over 50) beside the batch averages.

    .venv/bin/python scripts/settle_gas_breakdown.py
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

from eth.vm import computation as _computation
from eth.vm.gas_meter import GasMeter
from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_gas import product, setup, terms  # noqa: E402

from contracts import eip712  # noqa: E402
from contracts.policies import PolicyProjection  # noqa: E402
from tests.chain import signer  # noqa: E402

_REC: Counter | None = None
_NAMES: dict[bytes, str] = {}


def _bucket(reason: str) -> str:
    r = reason.split(":")[0].split(" ")[0]
    if reason.startswith("Expanding memory"):
        return "memory expansion"
    if reason.startswith("SSTORE:"):
        m = re.search(r"-> (\d+) \(current: (\d+) / original: (\d+)\)", reason)
        new, cur, orig = (int(x) != 0 for x in m.groups())
        return f"SSTORE orig{'≠' if orig else '='}0 cur{'≠' if cur else '='}0 new{'≠' if new else '='}0"
    return r


_orig_init = _computation.BaseComputation.__init__


def _init(self, *args, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
    _orig_init(self, *args, **kw)
    addr = bytes(self.msg.code_address)
    self._gas_meter._owner = _NAMES.get(addr, "0x" + addr.hex()[:8])


_orig_consume = GasMeter.consume_gas
_orig_return = GasMeter.return_gas


def _consume(self, amount, reason):  # noqa: ANN001, ANN202
    if _REC is not None:
        _REC[(getattr(self, "_owner", "?"), _bucket(reason))] += amount
    return _orig_consume(self, amount, reason)


def _return(self, amount):  # noqa: ANN001, ANN202
    if _REC is not None:
        _REC[(getattr(self, "_owner", "?"), "returned by callee")] -= amount
    return _orig_return(self, amount)


_computation.BaseComputation.__init__ = _init
GasMeter.consume_gas = _consume
GasMeter.return_gas = _return


def calldata_gas(data: bytes) -> tuple[int, int]:
    zeros = data.count(0)
    tokens = zeros + 4 * (len(data) - zeros)
    return 4 * tokens, 10 * tokens  # standard, EIP-7623 floor


def traced(led, fn, sender) -> tuple[int, Counter, int]:  # noqa: ANN001
    global _REC
    _REC = Counter()
    r = led.send(fn, sender)
    rec, _REC = _REC, None
    tx = led.w3.eth.get_transaction(r["transactionHash"])
    std, _floor = calldata_gas(bytes(tx["input"]))
    rec[("tx", "calldata (standard)")] += std
    rec[("tx", "intrinsic 21,000")] += 21_000
    return int(r["gasUsed"]), rec, len(tx["input"])


def main() -> None:
    led = setup()
    a = led.a
    _NAMES.update({bytes.fromhex(c.address[2:]): n for n, c in
                   (("book", led.book), ("pool", led.pool), ("token", led.token), ("oracle", led.oracle),
                    ("registry", led.registry))})
    led.anchor(keccak(text="report-1"))
    report = led.anchor_id(keccak(text="report-1"))
    service = eip712.service_id("https://app.saas.example")
    pid = product(led, service)
    cover_end = led.now() + 30 * 86400
    proj = PolicyProjection()
    holders = [signer(f"customer-{i}").address for i in range(200)]
    for k in range(2):
        batch = [terms(pid, report, holders[100 * k + i], 100 * k + i, cover_end) for i in range(100)]
        proj.apply_receipt(led.book, led.send(led.book.functions.issueBatch(batch), a.distributor))
    start = led.now() + 10
    led.travel(3 * 3600)
    led.verify_outage(service, start, start + 7200)
    led.travel(led.oracle.functions.finalityDelay().call() + 1)
    runs = {}
    for name, ids_range, existing in (("fresh_50", range(1, 51), False), ("existing_50", range(51, 101), True),
                                      ("fresh_100", range(101, 201), False)):
        if existing:
            for i in ids_range:
                led.send(led.token.functions.mint(holders[i - 1], 1), a.owner)
        ids, records = proj.records(ids_range)
        runs[name] = traced(led, led.book.functions.settle(ids, records), a.relayer)
    for name, (g, _rec, size) in runs.items():
        n = 100 if name.endswith("100") else 50
        print(f"{name}: gasUsed {g:,} ({g / n:,.1f} per policy), calldata {size} bytes")
    g50, r50, _ = runs["fresh_50"]
    g100, r100, _ = runs["fresh_100"]
    ge, re_, _ = runs["existing_50"]
    print(f"\nmarginal per policy, fresh holders ((100-batch - 50-batch) / 50): {(g100 - g50) / 50:,.1f}")
    breakdown(r100, r50, g100 - g50, 50)
    print(f"\nfresh minus existing holders, 50-batch, per policy: {(g50 - ge) / 50:,.1f}")
    breakdown(r50, re_, g50 - ge, 50)


_CALLS = ("CALL", "STATICCALL", "returned by callee")


def breakdown(a: Counter, b: Counter, used: int, n: int) -> None:
    """Prints (a - b) / n by contract and reason (a callee's gas is its own, not its caller's)."""
    d = Counter({k: (a[k] - b[k]) / n for k in set(a) | set(b)})
    own = Counter({k: v for k, v in d.items() if k[1] not in _CALLS})
    # What is left is the calls' own price (address access, memory for arguments is counted
    # above) and any refund: gasUsed is exact, so the residual is too.
    rest = used / n - sum(own.values())
    if abs(rest) >= 0.5:
        own[("tx", "CALL/STATICCALL access, less refunds")] = rest
    by_owner: Counter = Counter()
    for (o, _r), v in own.items():
        by_owner[o] += v
    for o, tot in sorted(by_owner.items(), key=lambda kv: -kv[1]):
        print(f"  {o:<8}{tot:>10,.1f}")
        small = 0.0
        for (oo, r), v in sorted(own.items(), key=lambda kv: -kv[1]):
            if oo != o:
                continue
            if abs(v) >= 30:
                print(f"          {r:<40}{v:>10,.1f}")
            else:
                small += v
        if small:
            print(f"          {'other opcodes':<40}{small:>10,.1f}")


if __name__ == "__main__":
    main()
