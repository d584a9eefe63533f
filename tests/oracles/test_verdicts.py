"""Per-minute verdicts: thresholds, sample minimums, blocked answers and canaries."""

from __future__ import annotations

from collections import Counter

import pytest

from oracles.outcome import Outcome
from oracles.verdicts import Tally, Verdict, VerdictRule, bucket_of, judge, node_healthy

OK, FAIL, DNS, BLOCK, FAULT = (Outcome.OK, Outcome.TARGET_FAILURE, Outcome.DNS_FAILURE,
                               Outcome.BLOCKED, Outcome.ORACLE_FAULT)
RULE = VerdictRule(threshold_fraction=0.5, min_samples=3)


def c(**counts: int) -> Counter[Outcome]:
    return Counter({Outcome(k): v for k, v in counts.items()})


@pytest.mark.parametrize(("samples", "verdict"), [
    (c(ok=6), Verdict.UP),
    (c(ok=3, target_failure=3), Verdict.DOWN),  # reaches the threshold exactly
    (c(ok=4, target_failure=2), Verdict.UP),
    (c(dns_failure=3), Verdict.DOWN),  # the insured's DNS is part of its service
    (c(ok=1, target_failure=1), Verdict.UNKNOWN),  # too few samples
    (c(), Verdict.UNKNOWN),
    (c(blocked=3, target_failure=3), Verdict.UNKNOWN),  # blocked dominates
    (c(blocked=2, target_failure=4), Verdict.DOWN),
    (c(oracle_fault=6), Verdict.UNKNOWN),  # the node's own faults are not samples
    (c(oracle_fault=3, target_failure=2), Verdict.UNKNOWN),
    (c(oracle_fault=3, ok=3), Verdict.UP),
])
def test_judge(samples: Counter[Outcome], verdict: Verdict) -> None:
    assert judge(samples, RULE, healthy=True).verdict is verdict


def test_unhealthy_node_never_votes_down() -> None:
    result = judge(c(target_failure=6), RULE, healthy=False)
    assert result.verdict is Verdict.UNKNOWN
    assert result.reason == "canary"


def test_decimal_thresholds_compare_exactly() -> None:
    rule = VerdictRule(threshold_fraction=0.3, min_samples=1)
    assert judge(c(target_failure=3, ok=7), rule, True).verdict is Verdict.DOWN
    assert judge(c(target_failure=2, ok=8), rule, True).verdict is Verdict.UP


def test_node_health_needs_every_canary_clean() -> None:
    assert node_healthy([], {})
    assert node_healthy(["a", "b"], {"a": c(ok=2), "b": c(ok=1)})
    assert not node_healthy(["a", "b"], {"a": c(ok=2)})  # b never ran
    assert not node_healthy(["a"], {"a": c(ok=5, target_failure=1)})
    assert not node_healthy(["a"], {"a": c(blocked=1, ok=1)})


def test_buckets_are_utc_minutes_by_start_time() -> None:
    assert bucket_of(1_700_000_040.0) == 1_700_000_040 // 60
    assert bucket_of(1_700_000_099.999) == bucket_of(1_700_000_040)
    tally = Tally()
    tally.add("t", 1_700_000_059.9, OK)
    tally.add("t", 1_700_000_100.0, FAIL)
    assert tally.pop(bucket_of(1_700_000_040)) == {"t": c(ok=1)}
    tally.drop_before(bucket_of(1_700_000_200))
    assert tally.pop(bucket_of(1_700_000_100)) == {}
