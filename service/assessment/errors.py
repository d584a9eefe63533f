"""The assessment engine's errors, under the service's one root (ServiceError).

Every error here means "the input cannot be scored or reported under the standard": the API
answers 422 `assessment_error`, the CLI exits with code 2, so callers never see a silent zero.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.errors import ServiceError


class AssessmentError(ServiceError):
    """Root: bad answers, weights, capability scores or report fields."""

    status, type = 422, "assessment_error"


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
