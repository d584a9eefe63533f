"""What a single probe concluded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    OK = "ok"
    # The target itself failed: refused, reset, timed out, bad status, failed a condition.
    TARGET_FAILURE = "target_failure"
    # The target's name does not resolve: the insured's DNS is part of its service.
    DNS_FAILURE = "dns_failure"
    # 401/403/429: the target answers but refuses us, so we cannot tell whether it is up.
    BLOCKED = "blocked"
    # The node's own fault (local resource exhaustion, no route out, unexpected error).
    ORACLE_FAULT = "oracle_fault"


# Only these count toward a DOWN vote: the insured's outage, never the oracle's.
FAILURES = frozenset({Outcome.TARGET_FAILURE, Outcome.DNS_FAILURE})


@dataclass(frozen=True, slots=True)
class ProbeResult:
    outcome: Outcome
    detail: str
    duration_ms: int
    status_code: int | None = None
    cert_days_left: int | None = None
