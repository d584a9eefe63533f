"""TCP probe: can a new connection be opened? The connection is closed straight away."""

from __future__ import annotations

import asyncio
import contextlib

from ..clock import Clock
from ..config import ProbeSpec
from ..outcome import Outcome, ProbeResult


async def probe_tcp(spec: ProbeSpec, clock: Clock) -> ProbeResult:
    host, port = spec.host_port
    started = clock.monotonic()
    _, writer = await asyncio.open_connection(host, port)
    elapsed_ms = round((clock.monotonic() - started) * 1000)
    writer.close()
    # The target may reset our close; we only asked whether it accepts connections.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(Outcome.OK, "connected", elapsed_ms)
