"""Redaction of URLs in text shown to clients or written to logs.

RPC provider URLs carry credentials in the user info, the path (`/v3/<key>`) or the query, and
transport exceptions quote them (requests: "... with url: /v3/<key> (Caused by ...)"). Only the
scheme, host and port of a URL survive; use `describe(exc)` wherever an exception is rendered.
"""

from __future__ import annotations

import logging
import re

_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://([^\s'\"<>]*)")
_REQUESTS_PATH = re.compile(r"(with url: )\S+")
REDACTED = "[redacted]"


def _url(m: re.Match[str]) -> str:
    scheme, rest = m.group(1), m.group(2)
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = netloc.rpartition("@")[2]
    return f"{scheme}://{host}" + (f"/{REDACTED}" if len(netloc) < len(rest) or "@" in netloc else "")


def redact(text: str) -> str:
    return _REQUESTS_PATH.sub(rf"\1{REDACTED}", _URL.sub(_url, text))


def describe(exc: BaseException) -> str:
    """`Type: message`, redacted: the form in which an exception may leave the process."""
    return redact(f"{type(exc).__name__}: {exc}")


class RedactingFormatter(logging.Formatter):
    """Log lines (tracebacks included) with URLs redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
