"""TLS probe: a verified handshake (chain, hostname, validity) and days until expiry."""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl

from ..clock import Clock
from ..config import ProbeSpec
from ..outcome import Outcome, ProbeResult
from .tlsctx import client_context


async def probe_tls(spec: ProbeSpec, clock: Clock) -> ProbeResult:
    host, port = spec.host_port
    started = clock.monotonic()
    _, writer = await asyncio.open_connection(
        host, port, ssl=client_context(spec.ca_file),
        server_hostname=spec.server_name or host,
        ssl_handshake_timeout=spec.timeout,
    )
    elapsed_ms = round((clock.monotonic() - started) * 1000)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
    finally:
        writer.close()
        # An unclean TLS shutdown by the peer says nothing about the certificate.
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not cert or "notAfter" not in cert:
        return ProbeResult(Outcome.TARGET_FAILURE, "no peer certificate", elapsed_ms)
    # The handshake already rejected expired certificates by the system time; days left are
    # counted on the node's clock so a test (or an operator) can reason about a given instant.
    seconds_left = ssl.cert_time_to_seconds(str(cert["notAfter"])) - clock.time()
    days_left = math.floor(seconds_left / 86_400)
    if seconds_left <= 0:
        return ProbeResult(Outcome.TARGET_FAILURE, "certificate expired", elapsed_ms,
                           cert_days_left=days_left)
    if days_left < spec.min_days_left:
        return ProbeResult(
            Outcome.TARGET_FAILURE,
            f"certificate expires in {days_left} days (< {spec.min_days_left})",
            elapsed_ms, cert_days_left=days_left,
        )
    return ProbeResult(Outcome.OK, f"certificate valid for {days_left} days", elapsed_ms,
                       cert_days_left=days_left)
