"""An independent Python model of the policy lifecycle rules of issue 12, for property tests.

Written from the specification (IPolicyBook NatSpec, /work/notes/spec12.md), not from the
contract: episodes are regrouped from scratch out of the verified windows each time; each
episode is owned by the one cover whose [count_from, cover_end) holds its start; the settlement
split (dN normal, dE excluded event), the cancellation refund and the aggregate exposures are
computed from their formulas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIXED, PER_UNIT = 0, 1


@dataclass(frozen=True)
class Terms:  # the product figures the rules read
    kind: int
    trigger: int
    unit: int
    amount: int
    waiting: int = 0
    auto_pay: int = 0
    fee: int = 0

    def per_episode(self, limit: int) -> int:
        """What one episode can pay a policy of `limit` (what a product's event cap sums)."""
        return min(self.amount, limit) if self.kind == FIXED else limit

    def pays(self, down: int) -> int:
        if down <= self.trigger:
            return 0
        return self.amount if self.kind == FIXED else -(-(down - self.trigger) // self.unit) * self.amount


@dataclass(frozen=True)
class Ep:
    start: int
    down: int
    final: bool  # its start has not moved for the finality delay
    ongoing: bool  # its last window is reported ongoing
    excluded: bool  # some window of it overlaps a declared excluded event


def episodes(windows: list[tuple[int, int, int, bool]], merge_gap: int, finality: int, now: int,
             events: tuple[tuple[int, int], ...] = ()) -> list[Ep]:
    """Windows (start, end, start_since, ongoing) → episodes: runs of windows at most
    `merge_gap` apart. Downtime sums the windows; an event period [a, b) excludes the episode
    when it overlaps any of its windows."""
    out: list[dict] = []
    for s, e, since, ongoing in sorted(windows):
        hit = any(a < e and s < b for a, b in events)
        if out and s - out[-1]["end"] <= merge_gap:
            out[-1].update(end=e, down=out[-1]["down"] + e - s, ongoing=ongoing, excluded=out[-1]["excluded"] or hit)
        else:
            out.append({"start": s, "end": e, "down": e - s, "final": since + finality <= now, "ongoing": ongoing,
                        "excluded": hit})
    return [Ep(o["start"], o["down"], o["final"], o["ongoing"], o["excluded"]) for o in out]


@dataclass
class Cover:
    start: int
    end: int
    limit: int
    premium: int
    renewal: bool = False
    settled: int = 0
    event_settled: int = 0
    paid: int = 0
    review: int = 0

    def count_from(self, t: Terms) -> int:
        return self.start if self.renewal else self.start + t.waiting

    def owns(self, t: Terms, ep: Ep) -> bool:
        return self.count_from(t) <= ep.start < self.end

    def entitlement(self, t: Terms, eps: list[Ep]) -> tuple[int, int]:
        """(N, T): normal and total entitlement, each capped at the limit."""
        normal = sum(t.pays(e.down) for e in eps if self.owns(t, e) and e.final and not e.excluded)
        total = sum(t.pays(e.down) for e in eps if self.owns(t, e) and e.final)
        return min(normal, self.limit), min(total, self.limit)

    def settle(self, t: Terms, eps: list[Ep]) -> tuple[int, int, int]:
        """Applies the settlement rule; returns (paid now, sent to review, of which event)."""
        n, total = self.entitlement(t, eps)
        e = total - n
        d_n = max(0, n - (self.settled - self.event_settled))
        d_n = min(d_n, max(0, total - self.settled))  # never beyond the limit (T − settled)
        d_e = min(max(0, e - self.event_settled), max(0, total - self.settled - d_n))
        pay = min(d_n, max(0, t.auto_pay - self.settled))
        review = d_n - pay + d_e
        self.settled += d_n + d_e
        self.event_settled += d_e
        self.paid += pay
        self.review += review
        assert self.settled <= self.limit
        return pay, review, d_e


def refund(c: Cover, t: Terms, now: int) -> int:
    """floor(premium × (end − max(now, start)) / (end − start)) − fee, not below zero."""
    share = c.premium * (c.end - max(now, c.start)) // (c.end - c.start)
    return max(0, share - t.fee)


@dataclass
class Exposure:
    """Aggregate exposures of active policies: per product (limits, per-episode), per service."""

    products: dict[int, list[int]] = field(default_factory=dict)
    services: dict[bytes, int] = field(default_factory=dict)

    def fits(self, pid: int, service: bytes, t: Terms, limit: int, *, product_cap: int, event_cap: int,
             service_cap: int) -> str | None:
        lim, per = self.products.get(pid, [0, 0])
        if product_cap and lim + limit > product_cap:
            return "PolicyBookProductCapExceeded"
        if event_cap and per + t.per_episode(limit) > event_cap:
            return "PolicyBookEventCapExceeded"
        if service_cap and self.services.get(service, 0) + limit > service_cap:
            return "PolicyBookServiceCapExceeded"
        return None

    def add(self, pid: int, service: bytes, t: Terms, limit: int, sign: int = 1) -> None:
        p = self.products.setdefault(pid, [0, 0])
        p[0] += sign * limit
        p[1] += sign * t.per_episode(limit)
        self.services[service] = self.services.get(service, 0) + sign * limit
