"""Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>`, so a captured delivery cannot be
replayed later with a new timestamp. Receivers check `verify()` and deduplicate by event id."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Cybercover-Signature"
EVENT_HEADER = "X-Cybercover-Event-Id"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """True for a genuine delivery signed within `tolerance` seconds of `now`."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
        expected = sign(secret, timestamp, body)
    except (KeyError, ValueError):
        return False
    fresh = abs((time.time() if now is None else now) - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected, header)
