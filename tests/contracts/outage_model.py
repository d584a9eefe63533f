"""An independent Python model of the verified-outage rule, for property tests.

Deliberately naive: windows are kept as a plain list of intervals and re-unioned from scratch
after each submission; episodes are regrouped from scratch on every query, and each window's
maintenance overlap and excluded events are found by comparing it with every declared window and
every event. The contract does the same incrementally with one-slot writes and a forward-only
pointer; the tests check that both agree. `MaintenanceModel` re-derives each declaration rule
from the whole list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIXED, PER_UNIT = 0, 1
MAINTENANCE_PERIOD = 30 * 86400
MAX_MAINTENANCE_PER_PERIOD = 8


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
    down: int  # outside uncancelled maintenance: what pays
    settled: bool  # start final
    maintenance: int = 0  # inside uncancelled maintenance windows
    windows: int = 1
    excluded: int = 0  # 0, or 1 + the lowest index of an excluded event overlapping a window


@dataclass
class Maintenance:
    start: int
    end: int
    declared_at: int
    cancelled: bool = False


@dataclass
class MaintenanceModel:
    """The declaration rules, each checked against the whole list (in the contract's order)."""

    min_notice: int
    budget: int  # seconds of uncancelled windows per period
    windows: list[Maintenance] = field(default_factory=list)

    def declare(self, start: int, end: int, now: int) -> int | str:
        """The new window's index, or the name of the error the contract must revert with."""
        if end <= start:
            return "OutageOracleInvalidMaintenanceWindow"
        if start < now + self.min_notice:
            return "OutageOracleMaintenanceNoticeTooShort"
        if self.windows and start < self.windows[-1].end:
            return "OutageOracleMaintenanceOutOfOrder"
        same = [w for w in self.windows if w.start // MAINTENANCE_PERIOD == start // MAINTENANCE_PERIOD]
        if len(same) >= MAX_MAINTENANCE_PER_PERIOD:
            return "OutageOracleMaintenanceCountExceeded"
        if sum(w.end - w.start for w in same if not w.cancelled) + end - start > self.budget:
            return "OutageOracleMaintenanceBudgetExceeded"
        self.windows.append(Maintenance(start, end, now))
        return len(self.windows) - 1

    def cancel(self, index: int, now: int) -> str | None:
        if index >= len(self.windows):
            return "OutageOracleUnknownMaintenance"
        w = self.windows[index]
        if w.cancelled:
            return "OutageOracleMaintenanceAlreadyCancelled"
        if now >= w.start:
            return "OutageOracleMaintenanceStarted"
        w.cancelled = True
        return None


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
    maintenance: list[Maintenance] = field(default_factory=list)  # the service's declared windows
    excluded: list[tuple[int, int]] = field(default_factory=list)  # excluded events' [start, end)

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

    def in_maintenance(self, start: int, end: int) -> int:
        return sum(max(0, min(end, m.end) - max(start, m.start)) for m in self.maintenance if not m.cancelled)

    def episodes(self, now: int) -> list[Episode]:
        out: list[Episode] = []
        members: list[list[Window]] = []
        for w in self.windows:
            inside = self.in_maintenance(w.start, w.end)
            if out and w.start - out[-1].end <= self.merge_gap:
                out[-1].end = w.end
                out[-1].down += w.end - w.start - inside
                out[-1].maintenance += inside
                out[-1].windows += 1
                members[-1].append(w)
            else:
                out.append(Episode(w.start, w.end, w.end - w.start - inside, w.start_since + self.finality <= now,
                                   inside))
                members.append([w])
        for e, ws in zip(out, members, strict=True):
            hits = [j for j, (s, t) in enumerate(self.excluded) if any(s < w.end and w.start < t for w in ws)]
            e.excluded = 1 + min(hits) if hits else 0
        return out

    def entitlement(self, *, kind: int, trigger: int, unit: int, amount: int, limit: int,
                    cover_from: int, cover_end: int, now: int) -> int:
        total = 0
        for e in self.episodes(now):
            if e.start < cover_from or e.start >= cover_end or not e.settled or e.down <= trigger:
                continue
            total += amount if kind == FIXED else -(-(e.down - trigger) // unit) * amount
        return min(total, limit)
