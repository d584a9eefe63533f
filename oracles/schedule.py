"""Fixed-rate probe schedule aligned to the clock.

Slot k of a probe is at `phase + k·interval` in unix seconds, so slots do not creep with
processing time and two restarts of a node probe at the same instants. The phase is derived
from the node address and the probe name: load spreads over the period, and different nodes
look at a target at different moments, which widens what the quorum sees.

A node that falls more than one period behind runs the latest missed slot and skips the
older ones (counted), rather than bursting a backlog at the target.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak

from .config import ProbeSpec


def derive_phase(node_address: str, name: str, interval: float) -> float:
    millis = max(1, round(interval * 1000))
    digest = keccak(text=f"{node_address.lower()}/{name}")
    return (int.from_bytes(digest[:8], "big") % millis) / 1000


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    planned: float


class Schedule:
    def __init__(self, specs: Sequence[ProbeSpec], node_address: str, start: float) -> None:
        self._specs = {s.name: s for s in specs}
        self._phase = {
            s.name: s.phase if s.phase is not None
            else derive_phase(node_address, s.name, s.interval)
            for s in specs
        }
        # Entries carry the slot index k: planned = phase + k·interval is recomputed from
        # integers each time, so float error never accumulates over months of slots.
        self._heap: list[tuple[float, str, int]] = []
        for s in specs:
            k = self._slot_index_at_or_after(s.name, start)
            self._heap.append((self._planned(s.name, k), s.name, k))
        heapq.heapify(self._heap)
        self.skipped = 0

    def phase(self, name: str) -> float:
        return self._phase[name]

    def _planned(self, name: str, k: int) -> float:
        return self._phase[name] + k * self._specs[name].interval

    def _slot_index_at_or_after(self, name: str, t: float) -> int:
        return math.ceil((t - self._phase[name]) / self._specs[name].interval)

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[Slot]:
        """Every slot planned at or before `now`, advancing each probe to its next slot."""
        due: list[Slot] = []
        while self._heap and self._heap[0][0] <= now:
            _, name, k = heapq.heappop(self._heap)
            latest = math.floor((now - self._phase[name]) / self._specs[name].interval)
            if latest > k:
                self.skipped += latest - k
                k = latest
            due.append(Slot(name, self._planned(name, k)))
            heapq.heappush(self._heap, (self._planned(name, k + 1), name, k + 1))
        return due
