"""Canonical bytes (RFC 8785 / JCS) and the keccak256 report hash that gets anchored.

Floats and nulls are refused before serialising: JCS renders floats through IEEE doubles,
which would make a hash depend on arithmetic rather than on what the assessor wrote.
"""

from __future__ import annotations

from collections.abc import Mapping

import rfc8785
from eth_utils.crypto import keccak

from service.assessment.errors import ReportError

_MAX_SAFE_INT = 2**53 - 1  # I-JSON: larger integers are not portable across verifiers


def _check(value: object, path: str) -> None:
    if isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise ReportError(f"{path}: integer {value} outside ±2^53-1")
        return
    if isinstance(value, dict):  # exactly what rfc8785 serialises as an object
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReportError(f"{path}: object key {key!r} is not a string")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise ReportError(f"{path}: {type(value).__name__} not allowed (strings, ints, bools only)")


def canonical_bytes(report: Mapping[str, object]) -> bytes:
    """The exact bytes that are hashed, signed and stored."""
    _check(report, "$")
    try:
        return rfc8785.dumps(dict(report))  # type: ignore[arg-type]
    except rfc8785.CanonicalizationError as exc:  # e.g. lone surrogates in a string
        raise ReportError(f"report cannot be canonicalised: {exc}") from exc


def report_hash(report: Mapping[str, object]) -> bytes:
    """keccak256 of the canonical bytes: the 32 bytes anchored in AssessmentRegistry."""
    return keccak(canonical_bytes(report))
