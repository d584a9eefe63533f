"""§6.4 f: the hardening list — every unmet item, biggest shortfall first."""

from __future__ import annotations

from service.assessment.scoring import Answer, Assessment, ItemResult


def hardening(assessment: Assessment) -> tuple[ItemResult, ...]:
    """Items answered no or partial, by points lost (descending), then by their cost to S,
    then in template order so equal items keep a stable, reviewable order."""
    unmet = [r for r in assessment.results if r.answer is not Answer.YES]
    order = {r.item.id: i for i, r in enumerate(assessment.results)}
    return tuple(
        sorted(unmet, key=lambda r: (-r.lost, -assessment.impact(r), order[r.item.id]))
    )
