"""A ready-to-underwrite book: capital in the pool, an anchored report, products."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from contracts import eip712
from contracts.policies import PolicyProjection
from tests.chain import USD, Ledger, signer

SERVICE = eip712.service_id("https://app.saas.example")
REPORT = keccak(text="pre-underwriting report v1")  # report hashes; the book takes their anchor ids
INCIDENT = keccak(text="incident report 1")
HOUR = 3600
FIXED, PER_UNIT = 0, 1


def product_tuple(*, kind: int = FIXED, trigger: int = HOUR, unit: int = HOUR, waiting: int = 0,
                  grace: int = 7 * 86400, auto: int = 150 * USD, amount: int = 100 * USD,
                  limit: int = 500 * USD, service: bytes = SERVICE) -> tuple[Any, ...]:
    return (service, trigger, kind, unit, waiting, grace, True, auto, amount, limit)


@dataclass
class BookEnv:
    led: Ledger
    proj: PolicyProjection
    fixed: int
    per_unit: int
    report: bytes  # anchor id of REPORT (what PolicyTerms.reportHash carries)
    incident: bytes  # anchor id of INCIDENT

    def terms(self, product: int, beneficiary: str | None = None, *, start: int = 0, days: int = 30,
              limit: int = 500 * USD, premium: int = 10 * USD, report: bytes | None = None,
              n: int = 0) -> tuple[Any, ...]:
        end = (start or self.led.now()) + days * 86400
        return (product, start, end, limit, premium, beneficiary or signer(f"b{n}").address,
                keccak(text=f"salt|holder-{n}"), report or self.report)

    def issue(self, *terms: tuple[Any, ...], sender: str | None = None) -> list[int]:
        fn = (self.led.book.functions.issue(terms[0]) if len(terms) == 1
              else self.led.book.functions.issueBatch(list(terms)))
        r = self.led.send(fn, sender or self.led.a.distributor)
        before = set(self.proj.policies)
        self.proj.apply_receipt(self.led.book, r)
        return sorted(set(self.proj.policies) - before)

    def send_tracked(self, fn: Any, sender: str) -> Any:
        r = self.led.send(fn, sender)
        self.proj.apply_receipt(self.led.book, r)
        return r

    def settle(self, *ids: int, sender: str | None = None) -> Any:
        i, recs = self.proj.records(ids)
        return self.send_tracked(self.led.book.functions.settle(i, recs), sender or self.led.a.relayer)

    def expire(self, *ids: int) -> Any:
        i, recs = self.proj.records(ids)
        return self.send_tracked(self.led.book.functions.expire(i, recs), self.led.a.relayer)

    def record(self, pid: int) -> Any:
        return self.proj.policies[pid]

    def pool_state(self) -> tuple[int, int, int]:
        p = self.led.pool.functions
        return (p.totalAssets().call(), p.lockedCapital().call(), self.led.balance(self.led.pool.address))


def make_env(led: Ledger) -> BookEnv:
    a = led.a
    led.fund(a.owner, 1_000_000 * USD, led.pool.address)
    led.send(led.pool.functions.deposit(100_000 * USD), a.owner)
    led.fund(a.distributor, 100_000 * USD, led.pool.address)
    led.anchor(REPORT, score_bps=8500, level=1, kind=0)
    led.anchor(INCIDENT, score_bps=0, level=3, kind=2)
    led.send(led.book.functions.createProduct(product_tuple()), a.underwriter)
    led.send(led.book.functions.createProduct(product_tuple(kind=PER_UNIT, amount=50 * USD)), a.underwriter)
    return BookEnv(led, PolicyProjection(), 1, 2, led.anchor_id(REPORT), led.anchor_id(INCIDENT))
