"""§6.3.3: Table 5 credit, part scores, the S formula, weights and rescaling, input errors."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.assessment import (
    ITEMS,
    AssessmentError,
    MissingAnswersError,
    Part,
    UnknownItemsError,
    assess,
    resolve_weights,
)
from service.assessment.scoring import TABLE_5, Answer
from tests.service.assessment.helpers import ALL_SUBSETS, answers_for

ALL = (Part.RANSOMWARE, Part.BUSINESS_INTERRUPTION, Part.DATA_SECURITY)


def test_table_5_credit() -> None:
    credit = dict(TABLE_5)
    assert credit == {Answer.YES: 1, Answer.PARTIAL: Fraction(1, 2), Answer.NO: 0}


@pytest.mark.parametrize(("answer", "achieved"), [("yes", 30), ("partial", 15), ("no", 0)])
def test_table_5_applied_to_one_item(answer: str, achieved: int) -> None:
    answers = answers_for((Part.BUSINESS_INTERRUPTION,), "no")
    answers["business_interruption.ep.01"] = answer  # 物理安全, 0-30
    result = assess(answers, ["business_interruption"])
    assert result.part(Part.BUSINESS_INTERRUPTION).achieved == achieved
    assert result.part(Part.BUSINESS_INTERRUPTION).score == achieved  # out of 100 points


def test_part_score_is_normalised_to_100() -> None:
    answers = answers_for((Part.RANSOMWARE,), "yes")
    answers["ransomware.ep.02"] = "no"  # 10 of 50 points lost
    answers["base.im.03"] = "partial"  # 5 of 105 points lost
    result = assess(answers, ["ransomware"])
    assert result.part(Part.RANSOMWARE).score == 80
    assert result.part(Part.BASE).score == Fraction(100 * 100, 105)


def test_overall_formula_with_default_weights() -> None:
    answers = answers_for(ALL, "yes")
    answers["ransomware.ep.02"] = "no"  # S_rw = 80
    answers["business_interruption.ep.01"] = "partial"  # S_bi = 85
    answers["data_security.ep.04"] = "no"  # S_ds = 90
    answers["base.im.03"] = "no"  # S_base = 9500/105
    result = assess(answers, [p.value for p in ALL])
    expected = (Fraction(7, 10) * Fraction(9500, 105)
                + Fraction(1, 10) * 80 + Fraction(1, 10) * 85 + Fraction(1, 10) * 90)
    assert result.overall == expected
    assert result.score_bps == 8883  # 88.8333… → 88.83


@pytest.mark.parametrize("subset", ALL_SUBSETS, ids=lambda s: "+".join(s) or "base-only")
@pytest.mark.parametrize("weights", [None, {"base": "0.5", "data_security": 3}])
def test_all_yes_is_100_and_all_no_is_0(subset: tuple[Part, ...], weights: dict[str, object] | None
                                        ) -> None:
    top = assess(answers_for(subset, "yes"), subset, weights)
    bottom = assess(answers_for(subset, "no"), subset, weights)
    assert top.overall == 100
    assert top.score_bps == 10_000
    assert bottom.overall == 0
    assert bottom.score_bps == 0
    assert sum(top.weights.values()) == 1


def test_default_weights_when_all_scenarios_are_covered() -> None:
    weights = resolve_weights(ALL)
    assert weights == {Part.BASE: Fraction(7, 10), Part.RANSOMWARE: Fraction(1, 10),
                       Part.BUSINESS_INTERRUPTION: Fraction(1, 10),
                       Part.DATA_SECURITY: Fraction(1, 10)}


def test_excluded_scenario_gets_zero_and_the_rest_is_rescaled() -> None:
    weights = resolve_weights((Part.RANSOMWARE, Part.DATA_SECURITY))
    assert weights[Part.BUSINESS_INTERRUPTION] == 0
    assert weights[Part.BASE] == Fraction(7, 9)
    assert weights[Part.RANSOMWARE] == weights[Part.DATA_SECURITY] == Fraction(1, 9)
    assert resolve_weights(()) == {Part.BASE: 1, Part.RANSOMWARE: 0,
                                   Part.BUSINESS_INTERRUPTION: 0, Part.DATA_SECURITY: 0}


def test_custom_weights_are_rescaled_after_exclusion() -> None:
    # Caller asks 0.6 / 0.2 / 0.2 but the cover has no data scenario: 0.6:0.2 → 3/4, 1/4.
    weights = resolve_weights((Part.RANSOMWARE,), {"base": "0.6", "ransomware": 0.2,
                                                   "data_security": "0.2"})
    assert weights[Part.BASE] == Fraction(3, 4)
    assert weights[Part.RANSOMWARE] == Fraction(1, 4)
    assert weights[Part.DATA_SECURITY] == 0


def test_custom_weights_change_the_score() -> None:
    answers = answers_for((Part.RANSOMWARE,), "yes")
    answers["ransomware.ep.02"] = "no"  # S_rw = 80, S_base = 100
    default = assess(answers, ["ransomware"])
    assert default.overall == Fraction(7, 8) * 100 + Fraction(1, 8) * 80  # 97.5
    heavy = assess(answers, ["ransomware"], {"base": 1, "ransomware": 1})
    assert heavy.overall == 90
    only_rw = assess(answers, ["ransomware"], {"base": 0})
    assert only_rw.overall == 80


def test_float_weights_are_read_as_decimals() -> None:
    assert resolve_weights((Part.RANSOMWARE,), {"base": 0.7})[Part.BASE] == Fraction(7, 8)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"base": -0.1}, "negative"),
        ({"base": 0, "ransomware": 0}, "weight 0"),
        ({"base": True}, "boolean"),
        ({"base": "seventy"}, "not a decimal"),
        ({"base": "NaN"}, "finite"),
        ({"cyber": 1}, "unknown part"),
        ({"base": None}, "expected a number"),
    ],
)
def test_bad_weights(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(AssessmentError, match=message):
        resolve_weights((Part.RANSOMWARE,), overrides)


def test_missing_answers_error_names_exactly_the_missing_ids() -> None:
    answers = answers_for((Part.RANSOMWARE,), "yes")
    del answers["base.ep.07"], answers["ransomware.im.04"]
    with pytest.raises(MissingAnswersError) as info:
        assess(answers, ["ransomware"])
    assert info.value.item_ids == ("base.ep.07", "ransomware.im.04")
    assert "base.ep.07" in str(info.value)
    assert "ransomware.im.04" in str(info.value)


def test_unanswered_uncovered_scenario_is_not_required() -> None:
    result = assess(answers_for((), "yes"), [])
    assert result.parts[0].part is Part.BASE
    assert len(result.parts) == 1


def test_answers_for_uncovered_parts_are_validated_but_not_scored() -> None:
    answers = answers_for((Part.DATA_SECURITY,), "yes")
    answers["data_security.ep.01"] = "no"
    result = assess(answers, [])
    assert result.overall == 100
    assert all(r.item.part is Part.BASE for r in result.results)
    answers["data_security.ep.02"] = "maybe"
    with pytest.raises(AssessmentError, match="data_security.ep.02='maybe'"):
        assess(answers, [])


def test_unknown_ids_are_an_error() -> None:
    answers = answers_for((), "yes")
    answers["base.im.99"] = "yes"
    with pytest.raises(UnknownItemsError, match="base.im.99"):
        assess(answers, [])


@pytest.mark.parametrize("value", ["YES", "y", "", 1, True, None, "full"])
def test_invalid_answer_values(value: object) -> None:
    answers: dict[str, object] = dict(answers_for((), "yes"))
    answers["base.im.01"] = value
    with pytest.raises(AssessmentError, match="invalid answers"):
        assess(answers, [])


@pytest.mark.parametrize(
    ("scenarios", "message"),
    [(["base"], "always assessed"), (["ransomware", "ransomware"], "twice"),
     (["cyber"], "unknown part"), ([1], "expected a string")],
)
def test_bad_scenarios(scenarios: list[object], message: str) -> None:
    with pytest.raises(AssessmentError, match=message):
        assess(answers_for(ALL, "yes"), scenarios)  # type: ignore[arg-type]


# ---- properties -------------------------------------------------------------------------

_subsets = st.sampled_from(ALL_SUBSETS)
_weights = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        p.value: st.fractions(min_value=0, max_value=5, max_denominator=100) for p in Part
    }),
)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[tuple[Part, ...], dict[str, str], Mapping[str, object] | None]:
    subset = draw(_subsets)
    chosen = {Part.BASE, *subset}
    answers = {item.id: draw(st.sampled_from(["yes", "partial", "no"]))
               for item in ITEMS if item.part in chosen}
    weights = draw(_weights)
    if weights is not None:
        covered = [p.value for p in chosen]
        if all(weights.get(k, Fraction(1)) == 0 for k in covered):
            weights = None
    return subset, answers, weights


@settings(max_examples=150, deadline=None)
@given(_cases(), st.data())
def test_score_is_bounded_and_monotone(case: tuple[tuple[Part, ...], dict[str, str],
                                                   Mapping[str, object] | None],
                                       data: st.DataObject) -> None:
    subset, answers, weights = case
    before = assess(answers, subset, weights)
    assert 0 <= before.overall <= 100
    assert 0 <= before.score_bps <= 10_000
    unmet = sorted(k for k, v in answers.items() if v != "yes")
    if not unmet:
        return
    flipped = data.draw(st.sampled_from(unmet))
    after = assess({**answers, flipped: "yes"}, subset, weights)
    assert after.overall >= before.overall
    part = next(r.item.part for r in before.results if r.item.id == flipped)
    if before.weights[part] > 0:  # strictly better unless the part carries no weight
        assert after.overall > before.overall
