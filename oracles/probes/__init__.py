"""Probes: one attempt each, a hard deadline, and an outcome class instead of an exception."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..clock import Clock
from ..config import ProbeSpec
from ..outcome import Outcome, ProbeResult
from .classify import classify_exception
from .http import probe_http
from .tcp import probe_tcp
from .tls import probe_tls

__all__ = ["Outcome", "ProbeResult", "classify_exception", "run_probe"]

_PROBES: dict[str, Callable[[ProbeSpec, Clock], Awaitable[ProbeResult]]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "tls": probe_tls,
}


async def run_probe(spec: ProbeSpec, clock: Clock) -> ProbeResult:
    """Probe once. Never raises (except cancellation): every failure is classified."""
    started = clock.monotonic()
    try:
        # The deadline covers resolution, connect, handshake and body: no phase can stall it.
        async with asyncio.timeout(spec.timeout):
            return await _PROBES[spec.kind](spec, clock)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome, detail = classify_exception(exc, spec.timeout)
        elapsed_ms = round((clock.monotonic() - started) * 1000)
        return ProbeResult(outcome, detail[:300], elapsed_ms)

