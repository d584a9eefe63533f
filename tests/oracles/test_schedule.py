"""Fixed-rate, clock-aligned schedule; drift measurement; the concurrency cap."""

from __future__ import annotations

import asyncio

import pytest

from oracles.clock import ManualClock, SystemClock
from oracles.config import ProbeSpec
from oracles.metrics import NodeMetrics
from oracles.outcome import ProbeResult
from oracles.runner import ProbeRunner
from oracles.schedule import Schedule, Slot, derive_phase
from tests.oracles.helpers import T0, FakeService

NODE = "0x" + "ab" * 20


def spec(name: str, interval: float = 10, phase: float | None = None, url: str = "http://x/"
         ) -> ProbeSpec:
    return ProbeSpec(name=name, kind="http", url=url, interval=interval,
                     timeout=min(1.0, interval / 2), phase=phase)


def test_slots_are_phase_plus_k_interval() -> None:
    sched = Schedule([spec("a", 10, phase=3), spec("b", 15, phase=0)], NODE, start=T0 + 0.5)
    assert sched.next_due() == T0 + 3  # the first slot at or after the start
    fired: list[Slot] = []
    for t in range(1, 61):
        fired += sched.pop_due(T0 + t)
    a = [s.planned for s in fired if s.name == "a"]
    b = [s.planned for s in fired if s.name == "b"]
    assert a == [T0 + 3 + 10 * k for k in range(6)]
    assert b == [T0 + 15, T0 + 30, T0 + 45, T0 + 60]
    assert sched.skipped == 0


def test_phase_is_deterministic_and_spread() -> None:
    phases = {derive_phase(NODE, f"t{i}", 30) for i in range(200)}
    assert all(0 <= p < 30 for p in phases)
    assert len(phases) > 150  # spread, not clumped on one instant
    assert derive_phase(NODE, "t1", 30) == derive_phase(NODE, "t1", 30)
    assert derive_phase(NODE, "t1", 30) != derive_phase("0x" + "cd" * 20, "t1", 30)


def test_falling_behind_skips_instead_of_bursting() -> None:
    sched = Schedule([spec("a", 10, phase=0)], NODE, start=T0)
    assert [s.planned for s in sched.pop_due(T0)] == [T0]
    late = sched.pop_due(T0 + 35)  # slots at +10, +20 missed; +30 is the latest
    assert [s.planned for s in late] == [T0 + 30]
    assert sched.skipped == 2
    assert sched.next_due() == T0 + 40


def test_no_float_creep_over_a_long_time() -> None:
    sched = Schedule([spec("a", 0.7, phase=0.1)], NODE, start=T0)
    last = None
    for k in range(1, 20_001):
        for slot in sched.pop_due(T0 + k * 0.7 + 0.05):
            last = slot.planned
    assert last is not None
    assert abs((last - 0.1) / 0.7 - round((last - 0.1) / 0.7)) < 1e-6


@pytest.mark.anyio
async def test_drift_is_start_minus_planned(service: FakeService) -> None:
    clock = ManualClock(T0 + 4.25)
    recorded: list[float] = []
    runner = ProbeRunner(clock, 4, lambda s, slot, started, r: recorded.append(started),
                         NodeMetrics())
    task = runner.dispatch(spec("a", url=service.url), Slot("a", T0 + 4.0))
    assert task is not None
    await task
    assert recorded == [T0 + 4.25]
    assert list(runner.drifts) == [pytest.approx(0.25)]


@pytest.mark.anyio
async def test_concurrency_cap_and_one_probe_per_target(service: FakeService) -> None:
    service.delay = 0.2
    results: list[ProbeResult] = []
    runner = ProbeRunner(SystemClock(), 3, lambda s, slot, started, r: results.append(r),
                         NodeMetrics())
    now = SystemClock().time()
    tasks = [runner.dispatch(spec(f"t{i}", url=service.url), Slot(f"t{i}", now))
             for i in range(9)]
    # A second slot of a target still in flight is skipped, not queued behind it.
    assert runner.dispatch(spec("t0", url=service.url), Slot("t0", now)) is None
    assert runner.skipped_busy == 1
    await asyncio.gather(*[t for t in tasks if t is not None])
    assert len(results) == 9
    assert service.max_active == 3
    # The cap shows up as drift: the last three waited for two rounds of 0.2 s.
    assert max(runner.drifts) >= 0.35
