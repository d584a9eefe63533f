"""§6.3.3: Table 5 item credit, part scores normalised to 100, and the overall score S.

S = W_base·S_base + Σ W_i·S_i with the effective weights of weights.py. Everything is a
Fraction; the only rounding is to basis points (half-up), and the risk level is read from
that published figure so the printed score, the anchored score and the level cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from service.assessment.appendix_a import ITEMS, ITEMS_BY_ID, max_points
from service.assessment.errors import AssessmentError, MissingAnswersError, UnknownItemsError
from service.assessment.levels import Band, RiskLevel, Underwriting, classify
from service.assessment.numbers import to_bps
from service.assessment.template import Item, Part
from service.assessment.weights import parse_scenarios, resolve_weights


class Answer(StrEnum):
    YES = "yes"  # 是（达到要求）
    PARTIAL = "partial"  # 部分达到要求
    NO = "no"  # 否（未达到要求）


# Table 5: share of the sub-item's full points each answer earns.
TABLE_5: Mapping[Answer, Fraction] = {
    Answer.YES: Fraction(1),
    Answer.PARTIAL: Fraction(1, 2),
    Answer.NO: Fraction(0),
}


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: Item
    answer: Answer

    @property
    def achieved(self) -> Fraction:
        return self.item.points * TABLE_5[self.answer]

    @property
    def lost(self) -> Fraction:
        return self.item.points - self.achieved


@dataclass(frozen=True, slots=True)
class PartScore:
    part: Part
    achieved: Fraction
    maximum: Fraction
    weight: Fraction  # effective (rescaled) weight

    @property
    def score(self) -> Fraction:
        """S_part on 0..100 (§6.3.3 note 1: every part is out of 100)."""
        return 100 * self.achieved / self.maximum

    @property
    def contribution(self) -> Fraction:
        return self.weight * self.score


@dataclass(frozen=True, slots=True)
class Assessment:
    scenarios: tuple[Part, ...]  # covered scenarios, template order
    weights: Mapping[Part, Fraction]  # every part; uncovered scenarios at 0; sums to 1
    parts: tuple[PartScore, ...]  # base, then covered scenarios
    results: tuple[ItemResult, ...]  # items of the assessed parts, template order

    @property
    def overall(self) -> Fraction:
        """Exact S."""
        return sum((p.contribution for p in self.parts), Fraction(0))

    @property
    def score_bps(self) -> int:
        return to_bps(self.overall)

    @property
    def published_score(self) -> Fraction:
        """S as published and anchored: rounded half-up to 0.01."""
        return Fraction(self.score_bps, 100)

    @property
    def band(self) -> Band:
        return classify(self.published_score)

    @property
    def risk_level(self) -> RiskLevel:
        return self.band.level

    @property
    def underwriting(self) -> Underwriting:
        return self.band.underwriting

    def part(self, part: Part) -> PartScore:
        for score in self.parts:
            if score.part is part:
                return score
        raise KeyError(part)

    def impact(self, result: ItemResult) -> Fraction:
        """Points of S this item's shortfall costs: W_part × 100 × lost ÷ part maximum."""
        part = self.part(result.item.part)
        return part.weight * 100 * result.lost / part.maximum


def parse_answers(raw: Mapping[str, object]) -> dict[str, Answer]:
    """Validate ids and values; unknown ids and bad values are reported all at once."""
    unknown = sorted(key for key in raw if key not in ITEMS_BY_ID)
    if unknown:
        raise UnknownItemsError(unknown)
    answers: dict[str, Answer] = {}
    bad: list[str] = []
    for item_id, value in raw.items():
        answer = _answer(value)
        if answer is None:
            bad.append(f"{item_id}={value!r}")
        else:
            answers[item_id] = answer
    if bad:
        raise AssessmentError(f"invalid answers (expected yes, partial or no): {', '.join(bad)}")
    return answers


def _answer(value: object) -> Answer | None:
    if not isinstance(value, str):
        return None
    try:
        return Answer(value)
    except ValueError:
        return None


def assess(
    answers: Mapping[str, object],
    scenarios: Iterable[Part | str],
    weights: Mapping[str, object] | None = None,
) -> Assessment:
    """Score a questionnaire for a cover made of the base part plus `scenarios`."""
    parsed = parse_answers(answers)
    covered = parse_scenarios(scenarios)
    effective = resolve_weights(covered, weights)
    assessed = (Part.BASE, *covered)
    items = [item for item in ITEMS if item.part in assessed]
    missing = [item.id for item in items if item.id not in parsed]
    if missing:
        raise MissingAnswersError(missing)
    results = tuple(ItemResult(item, parsed[item.id]) for item in items)
    parts = tuple(
        PartScore(
            part=part,
            achieved=sum((r.achieved for r in results if r.item.part is part), Fraction(0)),
            maximum=max_points(part),
            weight=effective[part],
        )
        for part in assessed
    )
    return Assessment(scenarios=covered, weights=effective, parts=parts, results=results)
