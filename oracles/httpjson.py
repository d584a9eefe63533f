"""JSON answers from other machines (peers, the relay, evidence URLs), read within bounds.

The body is counted while it streams (after decompression, so a gzip bomb stops at the cap too)
and its nesting depth is checked before `json.loads` sees it: a hostile peer costs at most
`max_bytes` of memory and a `JsonLimitError`, never the process.
"""

from __future__ import annotations

from typing import Any

import httpx

from contracts.jsonguard import MAX_DEPTH, check_size
from contracts.jsonguard import loads as bounded_loads

PEER_MAX_BYTES = 8 << 20  # a day of reports from a busy node is well under 1 MiB
BUNDLE_MAX_BYTES = 64 << 20  # an evidence bundle holds every observation of an episode


async def fetch(client: httpx.AsyncClient, method: str, url: str, *, max_bytes: int,
                **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """The response (body not loaded) and its bytes; raises `JsonLimitError` past `max_bytes`."""
    async with client.stream(method, url, **kwargs) as resp:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit():
            check_size(int(declared), max_bytes)
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            check_size(len(body), max_bytes)
    return resp, bytes(body)


def fetch_sync(url: str, *, max_bytes: int, timeout: float) -> tuple[httpx.Response, bytes]:
    with httpx.stream("GET", url, timeout=timeout) as resp:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit():
            check_size(int(declared), max_bytes)
        body = bytearray()
        for chunk in resp.iter_bytes():
            body += chunk
            check_size(len(body), max_bytes)
    return resp, bytes(body)


def loads(body: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Raises `ValueError` (a `JsonLimitError` for the limits)."""
    return bounded_loads(body, max_bytes=max_bytes, max_depth=max_depth)
