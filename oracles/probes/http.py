"""HTTP(S) probe: one request on a brand-new connection, no redirects, no retries."""

from __future__ import annotations

import importlib.util
import sys

import httpx

from ..clock import Clock
from ..config import ProbeSpec
from ..outcome import ProbeResult
from .conditions import evaluate_http
from .tlsctx import client_context

USER_AGENT = "cybercover-oracle/1"

# httpcore tries `import sniffio` for every new connection. sniffio is not installed here (anyio
# 4 does not need it), and a failed import is not cached: each one walks sys.path, a quarter
# of a probe's CPU time. A None entry makes that import fail at once, exactly as it would
# anyway, so behaviour is unchanged.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]


async def probe_http(spec: ProbeSpec, clock: Clock) -> ProbeResult:
    """Raises on transport errors; `run_probe` classifies them and enforces the deadline."""
    assert spec.url is not None
    # A client per probe: pooled keep-alive connections would hide a target that stopped
    # accepting new connections, and httpx's transport retries are off (retries=0).
    transport = httpx.AsyncHTTPTransport(
        verify=client_context(spec.ca_file),
        retries=0,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
    )
    started = clock.monotonic()
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(spec.timeout),
        follow_redirects=False,
        trust_env=False,  # no proxy or netrc from the environment between us and the target
        headers={"User-Agent": USER_AGENT, "Connection": "close", **spec.headers},
    ) as client, client.stream(spec.method, spec.url) as response:
        body = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > spec.max_body_bytes:
                truncated = True
                del body[spec.max_body_bytes:]
                break
        elapsed_ms = round((clock.monotonic() - started) * 1000)
    outcome, detail = evaluate_http(spec, response.status_code, bytes(body), truncated, elapsed_ms)
    return ProbeResult(outcome, detail, elapsed_ms, status_code=response.status_code)
