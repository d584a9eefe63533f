"""Helpers of the contract tests: a ready-to-underwrite book (capital in the pool, an anchored
report, products) and chain snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak

from contracts import eip712
from contracts.policies import PolicyProjection
from tests.chain import SUBJECT, USD, Ledger, signer

SERVICE = eip712.service_id("https://app.saas.example")
REPORT = keccak(text="pre-underwriting report v1")  # report hashes; the book takes their anchor ids
INCIDENT = keccak(text="incident report 1")
HOUR = 3600
DAY = 86400
FIXED, PER_UNIT = 0, 1


def incident_binding(subject: bytes = SUBJECT, service: bytes = SERVICE) -> bytes:
    """The subject an incident report is anchored with: the insured and the covered service."""
    from eth_abi import encode

    return keccak(encode(["bytes32", "bytes32"], [subject, service]))


def product_tuple(*, kind: int = FIXED, trigger: int = HOUR, unit: int = HOUR, waiting: int = 0,
                  grace: int = 7 * DAY, auto: int = 150 * USD, amount: int = 100 * USD,
                  limit: int = 500 * USD, service: bytes = SERVICE, max_cover: int = 400 * DAY,
                  max_delay: int = 30 * DAY, min_premium: int = 0, medium_limit: int = 200 * USD,
                  min_rate_ppm: int = 0, claim_seconds: int = 14 * DAY, exposure_cap: int = 0, event_cap: int = 0,
                  cancellation_fee: int = 0) -> tuple[Any, ...]:
    return (service, trigger, kind, unit, waiting, grace, True, auto, amount, limit, max_cover, max_delay,
            min_premium, medium_limit, min_rate_ppm, claim_seconds, exposure_cap, event_cap, cancellation_fee)


@dataclass
class BookEnv:
    led: Ledger
    proj: PolicyProjection
    fixed: int
    per_unit: int
    report: bytes  # anchor id of REPORT (what PolicyTerms.reportHash carries)
    incident: bytes  # anchor id of INCIDENT

    def terms(self, product: int, beneficiary: str | None = None, *, start: int = 0, days: int = 30,
              limit: int = 500 * USD, premium: int = 10 * USD, report: bytes | None = None, n: int = 0,
              subject: bytes = SUBJECT, schedule: bytes = bytes(32), end: int | None = None) -> tuple[Any, ...]:
        end = end or (start or self.led.now()) + days * 86400
        return (product, start, end, limit, premium, beneficiary or signer(f"b{n}").address,
                keccak(text=f"salt|holder-{n}"), subject, report or self.report, schedule)

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
    led.anchor(REPORT, score_bps=8500, level=1, kind=0, subject=SUBJECT)
    led.anchor(INCIDENT, score_bps=0, level=3, kind=2, subject=incident_binding())
    led.send(led.book.functions.createProduct(product_tuple()), a.underwriter)
    led.send(led.book.functions.createProduct(product_tuple(kind=PER_UNIT, amount=50 * USD)), a.underwriter)
    return BookEnv(led, PolicyProjection(), 1, 2, led.anchor_id(REPORT), led.anchor_id(INCIDENT))


@contextmanager
def snapshot(led: Ledger) -> Iterator[None]:
    """Everything the block runs on the chain is undone when it ends."""
    snap = led.tester.take_snapshot()
    try:
        yield
    finally:
        led.tester.revert_to_snapshot(snap)
