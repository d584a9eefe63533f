"""Runs probes under a concurrency cap and measures how late each one started.

Drift = actual start − planned start; it includes waiting for the semaphore, so an
overloaded node shows up as drift (and as skipped slots), not as target failures.
A target never has two probes in flight: its slot is skipped instead, which keeps the target's
evidence chain in start order and stops a hanging target from eating the concurrency budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from .clock import Clock
from .config import ProbeSpec
from .metrics import NodeMetrics
from .outcome import ProbeResult
from .probes import run_probe
from .schedule import Slot

Recorder = Callable[[ProbeSpec, Slot, float, ProbeResult], None]
log = logging.getLogger("oracles.runner")


class ProbeRunner:
    def __init__(self, clock: Clock, max_concurrency: int, record: Recorder,
                 metrics: NodeMetrics, drift_window: int = 200_000) -> None:
        self._clock = clock
        self._sem = asyncio.Semaphore(max_concurrency)
        self._record = record
        self._metrics = metrics
        self._busy: set[str] = set()
        self._started: dict[str, float] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.drifts: deque[float] = deque(maxlen=drift_window)
        self.completed = 0
        self.skipped_busy = 0
        # A probe result that cannot be recorded (evidence log failure, bug) must stop the
        # node: voting on minutes whose evidence was lost would sign what it cannot prove.
        self.fatal: BaseException | None = None

    def dispatch(self, spec: ProbeSpec, slot: Slot) -> asyncio.Task[None] | None:
        if spec.name in self._busy:
            self.skipped_busy += 1
            self._metrics.slots_skipped.labels(reason="busy").inc()
            return None
        self._busy.add(spec.name)
        task = asyncio.create_task(self._run(spec, slot), name=f"probe:{spec.name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def earliest_start_in_flight(self) -> float | None:
        return min(self._started.values(), default=None)

    @property
    def in_flight(self) -> int:
        return len(self._busy)

    async def _run(self, spec: ProbeSpec, slot: Slot) -> None:
        try:
            async with self._sem:
                started = self._clock.time()
                self._started[spec.name] = started
                drift = max(0.0, started - slot.planned)
                self.drifts.append(drift)
                self._metrics.schedule_drift.observe(drift)
                result = await run_probe(spec, self._clock)
                try:
                    self._record(spec, slot, started, result)
                except Exception as exc:
                    log.exception("cannot record a probe result", extra={"probe": spec.name})
                    self.fatal = self.fatal or exc
                    return
                self.completed += 1
        finally:
            self._started.pop(spec.name, None)
            self._busy.discard(spec.name)
