"""The `Submitter` protocol and the HTTP relay implementation.

A submission is idempotent: the contract rejects a set whose window adds nothing with
`OutageOracleWindowAlreadyCovered`, which every submitter reports as `ALREADY_COVERED`, a
success. Anything else that prevents the set from landing raises `SubmissionError`, or
`SubmissionRejected` when the set itself is refused for good (`refusals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from contracts.jsonguard import JsonLimitError
from contracts.redact import describe, redact

from ..errors import SubmissionError, SubmissionRejected, SubmissionUnauthorized
from ..httpjson import fetch, loads
from ..reports import SignedReport
from .refusals import ALREADY_COVERED_TYPE, is_permanent_relay

RELAY_MAX_BYTES = 1 << 20  # the relay answers a transaction hash or an error


class SubmitStatus(StrEnum):
    SUBMITTED = "submitted"
    ALREADY_COVERED = "already_covered"


@dataclass(frozen=True, slots=True)
class Submission:
    service_id: bytes
    config_version: int
    reports: tuple[SignedReport, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "service_id": "0x" + self.service_id.hex(),
            "config_version": self.config_version,
            "reports": [
                {k: v for k, v in r.to_json().items()
                 if k in {"start", "end", "ongoing", "evidence_root", "seq", "r", "vs",
                          "signer"}}
                for r in self.reports
            ],
        }


@dataclass(frozen=True, slots=True)
class SubmitResult:
    status: SubmitStatus
    tx_hash: str | None = None


class Submitter(Protocol):
    async def submit(self, submission: Submission) -> SubmitResult: ...

    async def aclose(self) -> None: ...


class RelaySubmitter:
    """POSTs the set to a relay (the cybercover service), which sends the transaction."""

    def __init__(self, relay_url: str, *, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = relay_url.rstrip("/") + "/v1/oracle/reports"
        headers = {"X-API-Key": api_key} if api_key else {}
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport, headers=headers,
                                         limits=httpx.Limits(max_keepalive_connections=0))

    async def submit(self, submission: Submission) -> SubmitResult:
        try:
            resp, raw = await fetch(self._client, "POST", self._url, max_bytes=RELAY_MAX_BYTES,
                                    json=submission.to_json())
        except httpx.HTTPError as exc:
            raise SubmissionError(f"relay {redact(self._url)} unreachable: {describe(exc)}") from None
        except JsonLimitError as exc:
            raise SubmissionError(f"relay {redact(self._url)} answered out of bounds: {exc}") from None
        body = _json_or_none(raw)
        if resp.is_success:
            tx = body.get("tx_hash") if isinstance(body, dict) else None
            return SubmitResult(SubmitStatus.SUBMITTED, tx if isinstance(tx, str) else None)
        type_ = body.get("type") if isinstance(body, dict) else None
        if resp.status_code == 409 and type_ == ALREADY_COVERED_TYPE:
            return SubmitResult(SubmitStatus.ALREADY_COVERED)
        detail = body.get("detail") if isinstance(body, dict) else raw[:200].decode(errors="replace")
        message = redact(f"relay answered {resp.status_code} {type_}: {str(detail)[:500]}")
        # 401/403: our key, not the set, is the problem (retried; an error in health). Given up
        # only when the set itself is refused (see `refusals`); anything else may pass later:
        # a 5xx, 408, 429, a late window, a revert we do not know.
        if resp.status_code in (401, 403):
            raise SubmissionUnauthorized(message)
        if is_permanent_relay(resp.status_code, type_):
            raise SubmissionRejected(message)
        raise SubmissionError(message)

    async def aclose(self) -> None:
        await self._client.aclose()


def _json_or_none(raw: bytes) -> Any:
    try:
        return loads(raw, max_bytes=RELAY_MAX_BYTES)
    except ValueError:
        return None
