"""Field helpers shared by the report sections: required text, UTC timestamps, 32-byte hex."""

from __future__ import annotations

from datetime import UTC, datetime

from service.assessment.errors import ReportError
from service.assessment.jsontypes import JSONValue


def text(value: object, field: str) -> str:
    """A required, non-blank string (reports are evidence: empty fields hide omissions)."""
    if not isinstance(value, str) or not value.strip():
        raise ReportError(f"{field}: required text is missing or blank")
    return value


def texts(values: tuple[str, ...], field: str) -> list[JSONValue]:
    return [text(v, f"{field}[{i}]") for i, v in enumerate(values)]


def utc_iso(moment: datetime, field: str) -> str:
    """ISO 8601 in UTC with a Z suffix; naive datetimes are refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ReportError(f"{field}: datetime must be timezone-aware")
    spec = "seconds" if moment.microsecond == 0 else "microseconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


def hex32(value: bytes, field: str) -> str:
    if len(value) != 32:
        raise ReportError(f"{field}: expected 32 bytes, got {len(value)}")
    return "0x" + value.hex()


def parse_hex32(value: object, field: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ReportError(f"{field}: expected 0x-prefixed 32-byte hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise ReportError(f"{field}: not hex") from None
