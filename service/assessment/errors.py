"""The one exception root of the assessment engine.

Every error here means "the input cannot be scored or reported under the standard"; the
service maps them to HTTP 422 and the CLI to exit code 2, so callers never see a silent zero.
"""

from __future__ import annotations

from collections.abc import Iterable


class AssessmentError(ValueError):
    """Root: bad answers, weights, capability scores or report fields."""

    http_status = 422


class MissingAnswersError(AssessmentError):
    """Items of an included part were left unanswered; scoring them as zero would misprice risk."""

    def __init__(self, item_ids: Iterable[str]) -> None:
        self.item_ids: tuple[str, ...] = tuple(item_ids)
        super().__init__(f"unanswered items: {', '.join(self.item_ids)}")


class UnknownItemsError(AssessmentError):
    """Answers name items that are not in the template (usually a typo in an id)."""

    def __init__(self, item_ids: Iterable[str]) -> None:
        self.item_ids: tuple[str, ...] = tuple(item_ids)
        super().__init__(f"unknown item ids: {', '.join(self.item_ids)}")


class ReportError(AssessmentError):
    """A report document is malformed or cannot be canonicalised."""
