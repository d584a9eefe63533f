"""Schemathesis hooks (tests/service/schemathesis.toml): the generated requests behave like a client's.

A client sends a fresh Idempotency-Key with every new request; the generator would reuse short
keys across requests, which the service refuses by design (422 idempotency_key_reused, see
service/api/idempotency.py). A key the schema forbids (too long) stays, for the negative cases.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

MAX_KEY = 200  # the routes' Header(max_length=...)


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and len(value) <= MAX_KEY:
            case.headers[name] = uuid.uuid4().hex
