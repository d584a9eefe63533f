"""Episodes from the projected windows, grouped exactly as OutageOracle.episodesIn groups them.

Windows of a service are disjoint and in order; a window within the oracle's `mergeGap` of the
previous one continues its episode. An episode's downtime is the sum of its windows (gaps never
count); its start is *final* — and only then does it pay — once its first window's start has
been unchanged for `finalityDelay` seconds (`start_since + finality_delay <= now`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


class WindowLike(Protocol):
    index: int
    start: int
    end: int
    ongoing: bool
    start_since: int


@dataclass
class Episode:
    service_id: str
    start: int
    end: int
    down_seconds: int
    ongoing: bool
    final_at: int  # when the start becomes final (if it does not move again)
    first_index: int
    windows: list[WindowLike] = field(default_factory=list)

    def final(self, now: int) -> bool:
        return self.final_at <= now


def group(service_id: str, windows: Iterable[WindowLike], merge_gap: int, finality_delay: int) -> list[Episode]:
    """The episodes of one service's windows (any order in, oldest episode first out)."""
    out: list[Episode] = []
    prev_end: int | None = None
    for w in sorted(windows, key=lambda w: w.index):
        if out and prev_end is not None and w.start - prev_end <= merge_gap:
            e = out[-1]
            e.end = w.end
            e.down_seconds += w.end - w.start
            e.ongoing = w.ongoing
            e.windows.append(w)
        else:
            out.append(Episode(service_id, w.start, w.end, w.end - w.start, w.ongoing,
                               w.start_since + finality_delay, w.index, [w]))
        prev_end = w.end
    return out
