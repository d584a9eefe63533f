"""Bounded JSON: a size cap and a nesting-depth check before `json.loads` touches the bytes.

Every JSON document a process did not write itself (request bodies, peer and relay answers,
evidence bundles, probe bodies) goes through here, in the service and the oracle nodes alike.
The depth scan is iterative, so no input can exhaust the stack however deep it claims to nest.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
MAX_BYTES = 1 << 20

# A string (brackets inside it do not nest); an unterminated one runs to the end, which keeps
# the substitution linear.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = frozenset(b"[{")


class JsonLimitError(ValueError):
    """The document is too large (`status` 413) or nests too deeply (400)."""

    def __init__(self, detail: str, status: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise JsonLimitError(f"body larger than {max_bytes} bytes", 413)


def check_depth(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    depth = 0
    for ch in _STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if ch in _OPEN:
            depth += 1
            if depth > max_depth:
                raise JsonLimitError(f"JSON nests deeper than {max_depth} levels", 400)
        else:
            depth -= 1


def loads(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` behind both limits; raises `JsonLimitError` or `ValueError`."""
    raw = data.encode() if isinstance(data, str) else data
    check_size(len(raw), max_bytes)
    check_depth(raw, max_depth)
    return json.loads(raw)
