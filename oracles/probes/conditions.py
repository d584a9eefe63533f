"""HTTP success conditions: accepted status, latency ceiling, body keyword, JSON path value."""

from __future__ import annotations

import json
from typing import Any

from contracts.jsonguard import JsonLimitError
from contracts.jsonguard import loads as bounded_loads

from ..config import ProbeSpec
from ..outcome import Outcome

BLOCKED_STATUS = frozenset({401, 403, 429})
_MISSING = object()


def json_lookup(document: Any, path: str) -> Any:
    """`a.b.0.c` into nested objects/arrays; `_MISSING` when a step does not exist."""
    node = document
    for step in path.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _MISSING
    return node


def _same_json(actual: Any, expected: Any) -> bool:
    # In Python True == 1; in JSON a boolean is not a number.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return bool(actual == expected)


def evaluate_http(spec: ProbeSpec, status: int, body: bytes, truncated: bool,
                  elapsed_ms: int) -> tuple[Outcome, str]:
    if not spec.accepts(status):
        if status in BLOCKED_STATUS:
            return Outcome.BLOCKED, f"status {status}"
        return Outcome.TARGET_FAILURE, f"status {status}"
    if spec.max_latency_ms is not None and elapsed_ms > spec.max_latency_ms:
        return Outcome.TARGET_FAILURE, f"slow: {elapsed_ms} ms > {spec.max_latency_ms} ms"
    if spec.body_contains is not None and spec.body_contains.encode() not in body:
        return Outcome.TARGET_FAILURE, f"body lacks {spec.body_contains!r}"
    if spec.json_path is not None:
        if truncated:
            return Outcome.TARGET_FAILURE, f"body exceeds {spec.max_body_bytes} bytes"
        try:  # the target's body is untrusted: depth-checked before parsing
            document = bounded_loads(body, max_bytes=spec.max_body_bytes)
        except JsonLimitError as exc:
            return Outcome.TARGET_FAILURE, f"body rejected: {exc}"
        except ValueError:
            return Outcome.TARGET_FAILURE, "body is not JSON"
        value = json_lookup(document, spec.json_path)
        if value is _MISSING:
            return Outcome.TARGET_FAILURE, f"json {spec.json_path} missing"
        if not _same_json(value, spec.json_equals):
            return (Outcome.TARGET_FAILURE,
                    f"json {spec.json_path} = {json.dumps(value)[:80]}, "
                    f"expected {json.dumps(spec.json_equals)}")
    return Outcome.OK, f"status {status}"
