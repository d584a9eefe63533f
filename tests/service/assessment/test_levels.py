"""Table 6 bands (inclusive upper bounds), the published-score rule, §7.2.1 plans, hardening."""

from __future__ import annotations

from fractions import Fraction

import pytest

from contracts import enums
from service.assessment import Part, RiskLevel, Underwriting, assess, classify, hardening, plan_for
from service.assessment.levels import TABLE_6
from service.assessment.plan import Tier
from tests.service.assessment.helpers import answers_for


@pytest.mark.parametrize(
    ("score", "level", "advice"),
    [
        (Fraction(0), RiskLevel.HIGH, Underwriting.DECLINE),
        (Fraction(60), RiskLevel.HIGH, Underwriting.DECLINE),
        (Fraction(6001, 100), RiskLevel.MEDIUM, Underwriting.CONDITIONAL),
        (Fraction(60) + Fraction(1, 10**9), RiskLevel.MEDIUM, Underwriting.CONDITIONAL),
        (Fraction(80), RiskLevel.MEDIUM, Underwriting.CONDITIONAL),
        (Fraction(8001, 100), RiskLevel.LOWER, Underwriting.STANDARD),
        (Fraction(90), RiskLevel.LOWER, Underwriting.STANDARD),
        (Fraction(9001, 100), RiskLevel.LOW, Underwriting.PREFERENTIAL),
        (Fraction(100), RiskLevel.LOW, Underwriting.PREFERENTIAL),
    ],
)
def test_table_6_boundaries(score: Fraction, level: RiskLevel, advice: Underwriting) -> None:
    band = classify(score)
    assert (band.level, band.underwriting) == (level, advice)


def test_table_6_text_and_order() -> None:
    assert [(b.upper, b.level_zh, b.advice_zh) for b in TABLE_6] == [
        (Fraction(60), "高风险", "建议不予承保"),
        (Fraction(80), "中风险", "建议加固后承保或限额承保"),
        (Fraction(90), "较低风险", "建议正常承保"),
        (Fraction(100), "低等风险", "建议优惠承保"),
    ]
    assert [lv.on_chain.label for lv in RiskLevel] == [lv.label for lv in enums.RiskLevel] == [
        "low", "lower", "medium", "high"]


@pytest.mark.parametrize("score", [Fraction(-1), Fraction(10001, 100)])
def test_classify_rejects_out_of_range(score: Fraction) -> None:
    with pytest.raises(ValueError):
        classify(score)


def _bi(points: dict[str, str]) -> dict[str, str]:
    answers = answers_for((Part.BUSINESS_INTERRUPTION,), "no")
    answers.update(points)
    return answers


# With the base weighted 0 the overall score is the BI scenario score, which answer sets
# can put exactly on each boundary.
@pytest.mark.parametrize(
    ("yes_items", "partial_items", "expected", "level"),
    [
        (["ep.01", "im.02", "ep.03"], [], 60, RiskLevel.HIGH),  # 30 + 20 + 10
        (["ep.01", "im.02", "ep.03"], ["im.01"], 70, RiskLevel.MEDIUM),
        (["ep.01", "im.02", "ep.02", "ep.03"], [], 80, RiskLevel.MEDIUM),
        (["ep.01", "im.02", "ep.02"], ["ep.03", "im.01"], 85, RiskLevel.LOWER),
        (["ep.01", "im.02", "ep.02", "ep.03"], ["im.01"], 90, RiskLevel.LOWER),
        (["ep.01", "im.01", "ep.02", "ep.03"], ["im.02"], 90, RiskLevel.LOWER),
        (["ep.01", "im.01", "im.02", "ep.02"], ["ep.03"], 95, RiskLevel.LOW),
    ],
)
def test_boundaries_from_answer_sets(yes_items: list[str], partial_items: list[str],
                                     expected: int, level: RiskLevel) -> None:
    answers = _bi({f"business_interruption.{i}": "yes" for i in yes_items}
                  | {f"business_interruption.{i}": "partial" for i in partial_items})
    result = assess(answers, ["business_interruption"], {"base": 0})
    assert result.overall == expected
    assert result.risk_level is level


@pytest.mark.parametrize(
    ("ds_weight", "exact", "bps", "level"),
    [
        ("0.0001", Fraction(60004, 1000), 6000, RiskLevel.HIGH),  # published 60.00
        ("0.000125", Fraction(60005, 1000), 6001, RiskLevel.MEDIUM),  # half-up to 60.01
    ],
)
def test_level_follows_the_published_score(ds_weight: str, exact: Fraction, bps: int,
                                           level: RiskLevel) -> None:
    # S = 60 × w_bi + 100 × w_ds, so S sits a hair above 60.
    answers = answers_for((Part.BUSINESS_INTERRUPTION, Part.DATA_SECURITY), "yes")
    answers.update({"business_interruption.im.01": "no", "business_interruption.ep.02": "no"})
    weights = {"base": 0, "business_interruption": 1 - Fraction(ds_weight),
               "data_security": ds_weight}
    result = assess(answers, ["business_interruption", "data_security"], weights)
    assert result.overall == exact
    assert result.score_bps == bps
    assert result.risk_level is level


@pytest.mark.parametrize(
    ("level", "tier", "assessment", "monitoring", "training"),
    [
        (RiskLevel.HIGH, Tier.HIGH, ("monthly", 12), ("weekly", 52), ("quarterly", 4)),
        (RiskLevel.MEDIUM, Tier.MEDIUM, ("quarterly", 4), ("monthly", 12), ("semiannual", 2)),
        (RiskLevel.LOWER, Tier.LOW, ("semiannual", 2), ("quarterly", 4), ("once", 1)),
        (RiskLevel.LOW, Tier.LOW, ("semiannual", 2), ("quarterly", 4), ("once", 1)),
    ],
)
def test_section_7_2_1_frequencies(level: RiskLevel, tier: Tier, assessment: tuple[str, int],
                                   monitoring: tuple[str, int], training: tuple[str, int]) -> None:
    plan = plan_for(level)
    assert plan.tier is tier
    assert (plan.security_assessment.frequency, plan.security_assessment.min_per_year) == assessment
    assert (plan.event_monitoring.frequency, plan.event_monitoring.min_per_year) == monitoring
    assert (plan.staff_training.frequency, plan.staff_training.min_per_year) == training


def test_hardening_lists_unmet_items_by_points_lost() -> None:
    answers = answers_for((Part.RANSOMWARE,), "yes")
    answers.update({
        "base.im.04": "no",  # 2.5 lost
        "base.im.03": "partial",  # 5 lost (10 × ½)
        "ransomware.ep.02": "no",  # 10 lost, ransomware part
        "base.im.01": "no",  # 5 lost: ties with base.im.03 on points and impact
        "ransomware.ep.03": "no",  # 5 lost, but costs less of S than a base item
    })
    result = assess(answers, ["ransomware"])
    listed = hardening(result)
    assert [r.item.id for r in listed] == [
        "ransomware.ep.02", "base.im.01", "base.im.03", "ransomware.ep.03", "base.im.04",
    ]
    assert [r.lost for r in listed] == [10, 5, 5, 5, Fraction(5, 2)]
    # Ties on points lost go by cost to S: base 7/8 × 100 × 5/105 ≈ 4.17 > 1/8 × 100 × 5/50
    assert result.impact(listed[1]) == Fraction(7, 8) * 100 * 5 / 105
    assert result.impact(listed[3]) == Fraction(5, 4)


def test_no_hardening_when_everything_is_met() -> None:
    assert hardening(assess(answers_for((Part.DATA_SECURITY,), "yes"), ["data_security"])) == ()
