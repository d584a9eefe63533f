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

A careless or hostile distributor's tree need not be honest: `members` are the leaves by tree
position, each carrying its own index, so an index may repeat or lie beyond the stated `count`
(such a leaf is never paid nor removable), and the stated total may differ from Σ leaf limits.
Bitmaps are per index: an index is paid at most once per round, whichever of its leaves comes
first. A payout or removal beyond the cohort's collateral, or removals whose limits sum beyond
the segment's stated total, are refused whole (`Refused`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ZERO = "0x" + "00" * 20


class Refused(Exception):
    """The contract must refuse the call with this error name (and change nothing)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def payable_starts(episodes: list, trigger: int) -> list[int]:
    """The starts of the episodes (outage_model.Episode) a Fixed product pays: final, longer than
    the trigger, outside excluded events."""
    return [e.start for e in episodes if e.settled and e.down > trigger and not e.excluded]


def owed(limit: int, hi: int, lo: int) -> int:
    return min(limit, hi) - min(limit, lo)


@dataclass
class Segment:
    members: list[tuple]  # by tree position: (index, beneficiary, limit, holder); honest: index = position
    start: int
    total_limit: int
    premium: int
    count: int = 0  # the stated member count (0: len(members))
    levels: list[int] = field(default_factory=lambda: [0])
    paid: dict[int, set[int]] = field(default_factory=dict)  # round -> indices paid
    removed: set[int] = field(default_factory=set)
    paid_to: dict[int, int] = field(default_factory=dict)  # index -> Σ paid
    removed_limit: int = 0  # Σ limits of the removed leaves

    def __post_init__(self) -> None:
        self.count = self.count or len(self.members)

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

    def add_segment(self, members: list[tuple], start: int, premium: int, *, count: int = 0,
                    total: int | None = None) -> int:
        total = sum(m[2] for m in members) if total is None else total
        self.segments.append(Segment(members, start, total, premium, count))
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

    def pay(self, seg: int, rnd: int, positions: list[int]) -> list[tuple[int, str, int]]:
        """Pays, in the order given, each leaf (by tree position) whose index is in range, not
        yet paid in the round and not removed: [(index, beneficiary, amount)] of those owed
        something. Refused whole when the cohort's collateral cannot pay it all."""
        s = self.segments[seg]
        done = set(s.paid.get(rnd, set()))
        out = []
        for p in positions:
            i, who, limit, _ = s.members[p]
            if i >= s.count or who == ZERO or i in done or i in s.removed:
                continue
            done.add(i)
            amt = owed(limit, s.levels[rnd], s.levels[rnd - 1])
            if amt:
                out.append((i, who, amt))
        if sum(a for _, _, a in out) > self.locked:
            raise Refused("CohortBookCollateralExhausted")
        s.paid[rnd] = done
        for i, _, amt in out:
            s.paid_to[i] = s.paid_to.get(i, 0) + amt
        self.paid += sum(a for _, _, a in out)
        return out

    def remove(self, seg: int, positions: list[int], now: int) -> tuple[list[tuple[int, str, int]], int, int]:
        """(payouts, released, refund) of removing the leaves at `positions`; the caller settled
        the model first. Refused whole for an index out of range or removed (in this batch too),
        removed limits beyond the segment's total, or more than the collateral."""
        s = self.segments[seg]
        top = s.levels[-1]
        out, released, limits, gone = [], 0, 0, set()
        for p in positions:
            i, who, limit, _ = s.members[p]
            if i >= s.count or i in s.removed or i in gone:
                raise Refused("CohortBookNotRemovable")
            gone.add(i)
            due = min(limit, top)
            got = s.paid_so_far(i)
            if due > got and who != ZERO:
                out.append((i, who, due - got))
                got = due
            released += limit - got
            limits += limit
        if s.removed_limit + limits > s.total_limit:
            raise Refused("CohortBookCollateralExhausted")
        if sum(a for _, _, a in out) + released > self.locked:
            raise Refused("CohortBookCollateralExhausted")
        for i, _, amt in out:
            s.paid_to[i] = s.paid_to.get(i, 0) + amt
        s.removed |= gone
        s.removed_limit += limits
        self.paid += sum(a for _, _, a in out)
        self.released += released
        frm = max(s.start, now)
        share = s.premium * limits * (self.cover_end - frm) // (s.total_limit * (self.cover_end - s.start))
        refund = max(share - self.fee * len(positions), 0)
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
            for i, who, limit, _ in s.members:
                if i < s.count and who != ZERO and i not in s.removed:
                    total += min(limit, s.levels[-1]) - s.paid_so_far(i)
        return total
