"""Appendix B: dimension weights, the aggregation, grade thresholds, input errors."""

from __future__ import annotations

from fractions import Fraction

import pytest

from service.assessment import AssessmentError, ProviderGrade, grade_for, score_provider
from service.assessment.provider import APPENDIX_B


def _all(value: int) -> dict[str, dict[str, object]]:
    return {d.id: {c.id: value for c in d.criteria} for d in APPENDIX_B}


def test_appendix_b_dimensions_and_weights() -> None:
    assert [(d.id, d.name_zh, d.weight, len(d.criteria)) for d in APPENDIX_B] == [
        ("robustness", "企业稳健性", Fraction(3, 10), 3),
        ("service_experience", "服务经验", Fraction(3, 10), 3),
        ("team_capability", "团队能力", Fraction(1, 5), 2),
        ("technical_strength", "技术实力", Fraction(1, 5), 2),
    ]
    assert sum(d.weight for d in APPENDIX_B) == 1


@pytest.mark.parametrize(("value", "total"), [(0, 0), (7, 70), (10, 100)])
def test_uniform_scores(value: int, total: int) -> None:
    assert score_provider(_all(value)).total == total


def test_weighted_dimension_means() -> None:
    scores = _all(10)
    scores["robustness"] = {"years_in_business": 9, "financial_condition": 6, "supply_chain": 6}
    scores["team_capability"] = {"team_professionalism": 5, "staff_competence": 8}
    result = score_provider(scores)
    # robustness mean 7 → 70 × 0.3 = 21; team mean 6.5 → 65 × 0.2 = 13; others full: 30 + 20
    assert [d.score for d in result.dimensions] == [70, 100, 65, 100]
    assert result.exact_total == 21 + 30 + 13 + 20 == 84
    assert result.total == 84
    assert result.grade is ProviderGrade.QUALIFIED


def test_total_equals_sum_of_sub_items() -> None:
    # 3/3/2/2 sub-items at 30/30/20/20 %: every sub-item point is one point of the total.
    scores = _all(0)
    values = iter([3, 10, 7, 1, 9, 4, 8, 2, 6, 5])
    for d in APPENDIX_B:
        for c in d.criteria:
            scores[d.id][c.id] = next(values)
    assert score_provider(scores).total == 55


@pytest.mark.parametrize(
    ("total", "grade"),
    [(100, ProviderGrade.PREFERRED), (85, ProviderGrade.PREFERRED), (84, ProviderGrade.QUALIFIED),
     (70, ProviderGrade.QUALIFIED), (69, ProviderGrade.NOT_ACCREDITED),
     (0, ProviderGrade.NOT_ACCREDITED)],
)
def test_grade_thresholds(total: int, grade: ProviderGrade) -> None:
    assert grade_for(total) is grade


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["robustness"].pop("supply_chain"), "missing sub-items: supply_chain"),
        (lambda s: s["robustness"].update(extra=5), "unknown sub-items: extra"),
        (lambda s: s.pop("technical_strength"), "technical_strength"),
        (lambda s: s.update(finance={}), "unknown dimensions: finance"),
        (lambda s: s["robustness"].update(supply_chain=11), "outside 0..10"),
        (lambda s: s["robustness"].update(supply_chain=-1), "outside 0..10"),
        (lambda s: s["robustness"].update(supply_chain=7.5), "integer"),
        (lambda s: s["robustness"].update(supply_chain=True), "integer"),
        (lambda s: s["robustness"].update(supply_chain="7"), "integer"),
    ],
)
def test_bad_capability_input(mutate: object, message: str) -> None:
    scores = _all(8)
    mutate(scores)  # type: ignore[operator]
    with pytest.raises(AssessmentError, match=message):
        score_provider(scores)
