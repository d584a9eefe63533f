"""Verifying TLS contexts, built once per CA bundle.

Building a context loads the whole CA store (milliseconds); a context holds no connection
state, so sharing it does not break the fresh-connection-per-probe rule.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path

import certifi


@lru_cache(maxsize=32)
def client_context(ca_file: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else certifi.where())
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
