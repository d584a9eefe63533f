"""An independent Python model of CohortBook's money, written from ICohortBook's NatSpec and the
design (not from the contract).

A cohort is a list of append-only segments of members (index, beneficiary, limit, holder). A
segment's level after round r is E_r = min(payout × #final episodes that started at or after the
segment's start, autoPayLimit) (a Fixed product whose every episode exceeds the trigger, no
waiting period); a round opens when the level grew. Member m is owed min(limit, E_r) −
min(limit, E_{r−1}) in round r, once, unless removed. Removal first pays every open round's
unpaid increment, then releases limit − paid and refunds ⌊premium × removed limits × time left /
(total limit × segment cover)⌋ − fee × members (≥ 0). The cohort's collateral is Σ total limits
− paid − released, and a payout beyond it is refused. Close releases the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def owed(limit: int, hi: int, lo: int) -> int:
    return min(limit, hi) - min(limit, lo)


@dataclass
class Segment:
    members: list[tuple]  # (index, beneficiary, limit, holder), index = position
    start: int
    total_limit: int
    premium: int
    levels: list[int] = field(default_factory=lambda: [0])
    paid: dict[int, set[int]] = field(default_factory=dict)  # round -> indices paid
    removed: set[int] = field(default_factory=set)
    paid_to: dict[int, int] = field(default_factory=dict)  # index -> Σ paid

    @property
    def rounds(self) -> int:
        return len(self.levels) - 1

    def paid_so_far(self, index: int) -> int:
        return self.paid_to.get(index, 0)


@dataclass
class CohortModel:
    amount: int  # payout per episode
    auto_pay: int  # the product's autoPayLimit
    fee: int  # cancellation fee per removed member
    cover_end: int
    segments: list[Segment] = field(default_factory=list)
    episodes: list[int] = field(default_factory=list)  # final episode starts
    paid: int = 0
    released: int = 0
    refunded: int = 0
    closed: bool = False

    @property
    def total_limits(self) -> int:
        return sum(s.total_limit for s in self.segments)

    @property
    def locked(self) -> int:
        return self.total_limits - self.paid - self.released

    def add_segment(self, members: list[tuple], start: int, premium: int) -> int:
        self.segments.append(Segment(members, start, sum(m[2] for m in members), premium))
        return len(self.segments) - 1

    def level(self, s: Segment) -> int:
        return min(self.amount * sum(1 for e in self.episodes if s.start <= e < self.cover_end), self.auto_pay)

    def settle(self) -> int:
        opened = 0
        for s in self.segments:
            lv = self.level(s)
            if lv > s.levels[-1]:
                s.levels.append(lv)
                opened += 1
        return opened

    def pay(self, seg: int, rnd: int, indices: list[int]) -> list[tuple[int, str, int]]:
        """Pays, in the order given, each member not yet paid in the round and not removed."""
        s = self.segments[seg]
        done = s.paid.setdefault(rnd, set())
        out = []
        for i in indices:
            if i in done or i in s.removed:
                continue
            done.add(i)
            _, who, limit, _ = s.members[i]
            amt = owed(limit, s.levels[rnd], s.levels[rnd - 1])
            if amt:
                out.append((i, who, amt))
                s.paid_to[i] = s.paid_to.get(i, 0) + amt
        self.paid += sum(a for _, _, a in out)
        return out

    def remove(self, seg: int, indices: list[int], now: int) -> tuple[list[tuple[int, str, int]], int, int]:
        """(payouts, released, refund); the caller settled the model first."""
        s = self.segments[seg]
        top = s.levels[-1]
        out, released, limits = [], 0, 0
        for i in indices:
            _, who, limit, _ = s.members[i]
            due = min(limit, top)
            got = s.paid_so_far(i)
            if due > got:
                out.append((i, who, due - got))
                s.paid_to[i] = due
                got = due
            released += limit - got
            limits += limit
            s.removed.add(i)
        self.paid += sum(a for _, _, a in out)
        self.released += released
        frm = max(s.start, now)
        share = s.premium * limits * (self.cover_end - frm) // (s.total_limit * (self.cover_end - s.start))
        refund = max(share - self.fee * len(indices), 0)
        self.refunded += refund
        return out, released, refund

    def close(self) -> int:
        rest = self.locked
        self.released += rest
        self.closed = True
        return rest

    def owed_now(self) -> int:
        """What the open rounds still owe the members not removed."""
        total = 0
        for s in self.segments:
            for i, _, limit, _ in s.members:
                if i not in s.removed:
                    total += min(limit, s.levels[-1]) - s.paid_so_far(i)
        return total
