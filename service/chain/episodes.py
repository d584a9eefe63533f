"""Episodes from the projected windows, grouped exactly as OutageOracle.episodesIn groups them.

Windows of a service are disjoint and in order; a window within the oracle's `mergeGap` of the
previous one continues its episode. An episode's downtime is the sum of its windows (gaps never
count); its start is *final* — and only then does it pay — once its first window's start has
been unchanged for `finalityDelay` seconds (`start_since + finality_delay <= now`).

Exclusions, as the contract applies them: downtime inside a declared, uncancelled maintenance
window is `maintenance_seconds`, never `down_seconds` (what pays); an episode any of whose
windows overlaps an excluded event's period carries `excluded_event` = 1 + the lowest such
event index (0: none), and what it is owed goes to claims review instead of auto-pay.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class WindowLike(Protocol):
    index: int
    start: int
    end: int
    ongoing: bool
    start_since: int


class MaintenanceLike(Protocol):
    start: int
    end: int
    cancelled: bool


class EventLike(Protocol):
    index: int
    start: int
    end: int


@dataclass
class Episode:
    service_id: str
    start: int
    end: int
    down_seconds: int  # outside declared maintenance: what pays
    ongoing: bool
    final_at: int  # when the start becomes final (if it does not move again)
    first_index: int
    windows: list[WindowLike] = field(default_factory=list)
    maintenance_seconds: int = 0  # inside declared, uncancelled maintenance windows: never pays
    excluded_event: int = 0  # 0, or 1 + the index of the first excluded event it overlaps

    def final(self, now: int) -> bool:
        return self.final_at <= now


class _Maintenance:
    """The uncancelled windows (sorted, disjoint), and the seconds of [start, end) inside them."""

    def __init__(self, windows: Iterable[MaintenanceLike]) -> None:
        kept = sorted((w.start, w.end) for w in windows if not w.cancelled)
        self.starts = [s for s, _ in kept]
        self.kept = kept

    def inside(self, start: int, end: int) -> int:
        total = 0
        # The last window starting at or before `start` may reach into [start, end); then every
        # later one that starts before `end`.
        i = max(bisect_right(self.starts, start) - 1, 0)
        while i < len(self.kept) and self.kept[i][0] < end:
            s, e = self.kept[i]
            total += max(0, min(e, end) - max(s, start))
            i += 1
        return total


def _first_event(events: Sequence[EventLike], start: int, end: int) -> int | None:
    """The lowest index of an event whose period overlaps [start, end), or None."""
    hits = [e.index for e in events if e.start < end and start < e.end]
    return min(hits) if hits else None


def group(service_id: str, windows: Iterable[WindowLike], merge_gap: int, finality_delay: int,
          maintenance: Iterable[MaintenanceLike] = (), events: Iterable[EventLike] = ()) -> list[Episode]:
    """The episodes of one service's windows (any order in, oldest episode first out), with the
    service's declared maintenance windows and excluded events applied."""
    declared = _Maintenance(maintenance)
    excluded = list(events)
    out: list[Episode] = []
    prev_end: int | None = None
    for w in sorted(windows, key=lambda w: w.index):
        inside = declared.inside(w.start, w.end)
        if out and prev_end is not None and w.start - prev_end <= merge_gap:
            e = out[-1]
            e.end = w.end
            e.down_seconds += w.end - w.start - inside
            e.maintenance_seconds += inside
            e.ongoing = w.ongoing
            e.windows.append(w)
        else:
            e = Episode(service_id, w.start, w.end, w.end - w.start - inside, w.ongoing,
                        w.start_since + finality_delay, w.index, [w], maintenance_seconds=inside)
            out.append(e)
        hit = _first_event(excluded, w.start, w.end)
        if hit is not None and (e.excluded_event == 0 or hit + 1 < e.excluded_event):
            e.excluded_event = hit + 1
        prev_end = w.end
    return out
