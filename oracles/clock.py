"""Injectable clocks. Nothing in the node reads the time except through a `Clock`.

`time()` is wall-clock unix seconds: it places probes on the fixed-rate grid and observations
in UTC minute buckets. `monotonic()` only measures durations (probe latency).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep_until(self, when: float) -> None:
        """Return once `time() >= when`."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.perf_counter()

    async def sleep_until(self, when: float) -> None:
        # asyncio sleeps on the loop's monotonic clock; re-check the wall clock after waking so
        # a wall-clock step (NTP) cannot make us start a probe before its slot.
        while (delay := when - time.time()) > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock tests move by hand.

    It controls the calendar, not the speed of the network: `monotonic()` stays real, so the
    latency of a real loopback probe is still measured truthfully.
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return time.perf_counter()

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError("a manual clock does not run backwards")
        self._now = float(when)
        still: list[tuple[float, asyncio.Future[None]]] = []
        for deadline, fut in self._sleepers:
            if deadline <= self._now:
                if not fut.done():
                    fut.set_result(None)
            else:
                still.append((deadline, fut))
        self._sleepers = still

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)

    async def sleep_until(self, when: float) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((when, fut))
        await fut
