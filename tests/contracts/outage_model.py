"""An independent Python model of the verified-outage rule, for property tests.

Deliberately naive: windows are kept as a plain list of intervals and re-unioned from scratch
after each submission; episodes are regrouped from scratch on every query. The contract does the
same incrementally with one-slot writes; the tests check that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIXED, PER_UNIT = 0, 1


@dataclass
class Window:
    start: int
    end: int
    start_since: int  # when it was created or its start last moved earlier
    ongoing: bool


@dataclass
class Episode:
    start: int
    end: int
    down: int
    settled: bool  # start final


def verified_window(reports: list[tuple[int, int]], quorum: int) -> tuple[int, int] | None:
    """[q-th smallest start, q-th largest end), or None when the reports do not pairwise overlap."""
    if len(reports) < quorum or max(s for s, _ in reports) >= min(e for _, e in reports):
        return None
    starts = sorted(s for s, _ in reports)
    ends = sorted((e for _, e in reports), reverse=True)
    return starts[quorum - 1], ends[quorum - 1]


@dataclass
class OutageModel:
    merge_gap: int
    finality: int
    windows: list[Window] = field(default_factory=list)

    def submit(self, start: int, end: int, now: int, ongoing: bool = False) -> bool:
        """Applies a verified window; False when it adds nothing (the contract reverts)."""
        touching = [w for w in self.windows if w.start <= end and start <= w.end]
        if not touching:
            self.windows.append(Window(start, end, now, ongoing))
            self.windows.sort(key=lambda w: w.start)
            return True
        first, last = touching[0], touching[-1]
        new_start, new_end = min(start, first.start), max(end, last.end)
        earlier = start < first.start
        if end > last.end:
            new_ongoing = ongoing
        elif end == last.end:
            new_ongoing = last.ongoing and ongoing
        else:
            new_ongoing = last.ongoing
        if len(touching) == 1 and not earlier and new_end == first.end and new_ongoing == first.ongoing:
            return False
        merged = Window(new_start, new_end, now if earlier else first.start_since, new_ongoing)
        self.windows = sorted([w for w in self.windows if w not in touching] + [merged], key=lambda w: w.start)
        return True

    def episodes(self, now: int) -> list[Episode]:
        out: list[Episode] = []
        for w in self.windows:
            if out and w.start - out[-1].end <= self.merge_gap:
                out[-1].end = w.end
                out[-1].down += w.end - w.start
            else:
                out.append(Episode(w.start, w.end, w.end - w.start, w.start_since + self.finality <= now))
        return out

    def entitlement(self, *, kind: int, trigger: int, unit: int, amount: int, limit: int,
                    cover_from: int, cover_end: int, now: int) -> int:
        total = 0
        for e in self.episodes(now):
            if e.start < cover_from or e.start >= cover_end or not e.settled or e.down <= trigger:
                continue
            total += amount if kind == FIXED else -(-(e.down - trigger) // unit) * amount
        return min(total, limit)
