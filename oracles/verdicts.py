"""Per-bucket verdicts on UTC-aligned buckets (60 s by default, a deployment parameter).

A bucket's samples are the probes *started* inside it. The node votes:

- UNKNOWN when its own canaries failed in the bucket (or never ran): its network is suspect, so
  nothing it saw of the target counts, not even failures;
- UNKNOWN when 401/403/429 answers dominate (at least half the samples): we are being refused,
  which says nothing about whether the service works for its customers;
- UNKNOWN when fewer than `min_samples` probes were decisive (ok or failed);
- DOWN when failures (target_failure, dns_failure) reach `threshold_fraction` of the decisive
  samples; UP otherwise.

`blocked` and `oracle_fault` samples are neither failures nor successes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .outcome import FAILURES, Outcome

# The default verdict bucket: one UTC minute. A deployment declares its own in
# `OutageOracle.bucketSeconds()` and every node of it uses that (`chain.bucket_seconds`).
BUCKET_SECONDS = 60


def bucket_of(t: float, seconds: int = BUCKET_SECONDS) -> int:
    """Index of the UTC-aligned bucket containing unix time `t` (bucket i spans [si, si + s))."""
    return int(t // seconds)


class Verdict(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class VerdictRule:
    threshold_fraction: float
    min_samples: int


@dataclass(frozen=True, slots=True)
class BucketVerdict:
    verdict: Verdict
    reason: str


def node_healthy(canaries: Iterable[str], samples: Mapping[str, Counter[Outcome]]) -> bool:
    """True when every canary ran in the bucket and none of its probes failed in any way.

    Strict on purpose: a DOWN vote claims the node saw the service fail, and one failed canary
    probe is enough doubt about the node's own network to withhold that claim for a minute.
    """
    for name in canaries:
        counts = samples.get(name)
        if not counts or counts.total() == 0:
            return False
        if counts.total() != counts[Outcome.OK]:
            return False
    return True


def judge(samples: Counter[Outcome], rule: VerdictRule, healthy: bool) -> BucketVerdict:
    if not healthy:
        return BucketVerdict(Verdict.UNKNOWN, "canary")
    total = samples.total()
    blocked = samples[Outcome.BLOCKED]
    if total and 2 * blocked >= total:
        return BucketVerdict(Verdict.UNKNOWN, "blocked")
    failed = sum(samples[o] for o in FAILURES)
    decisive = failed + samples[Outcome.OK]
    if decisive < rule.min_samples:
        return BucketVerdict(Verdict.UNKNOWN, "too_few_samples")
    # A ratio of ints and a decimal threshold compare exactly (both correctly rounded).
    if failed / decisive >= rule.threshold_fraction:
        return BucketVerdict(Verdict.DOWN, f"{failed}/{decisive} failed")
    return BucketVerdict(Verdict.UP, f"{failed}/{decisive} failed")


class Tally:
    """Outcome counts per (probe name, bucket) until the bucket is judged."""

    def __init__(self, bucket_seconds: int = BUCKET_SECONDS) -> None:
        self.bucket_seconds = bucket_seconds
        self._counts: dict[int, dict[str, Counter[Outcome]]] = {}

    def add(self, name: str, started: float, outcome: Outcome) -> None:
        per_bucket = self._counts.setdefault(bucket_of(started, self.bucket_seconds), {})
        per_bucket.setdefault(name, Counter())[outcome] += 1

    def pop(self, bucket: int) -> dict[str, Counter[Outcome]]:
        return self._counts.pop(bucket, {})

    def drop_before(self, bucket: int) -> None:
        for b in [b for b in self._counts if b < bucket]:
            del self._counts[b]
