"""JSON views of the template and of a scored assessment (strings, ints and bools only).

Scores are shown twice: two decimals for people ("83.33") and exact ("250/3") so an auditor
can redo the arithmetic; the rounded parts need not add up to the rounded total.
"""

from __future__ import annotations

from fractions import Fraction

from service.assessment.appendix_a import ITEMS, PARTS, STANDARD, items_of, max_points
from service.assessment.hardening import hardening
from service.assessment.jsontypes import JSONObject, JSONValue
from service.assessment.numbers import exact_str, format_2dp
from service.assessment.plan import MonitoringPlan, plan_for
from service.assessment.scoring import Assessment, ItemResult
from service.assessment.template import Category, Item, Part
from service.assessment.weights import DEFAULT_WEIGHTS


def item_json(item: Item) -> JSONObject:
    return {
        "id": item.id,
        "part": item.part.value,
        "category": item.category.value,
        "points": exact_str(item.points),
        "topic_zh": item.topic_zh,
        "topic_en": item.topic_en,
        "text_zh": item.text_zh,
        "text_en": item.text_en,
    }


def template_json() -> JSONObject:
    parts: JSONObject = {}
    for info in PARTS:
        items = items_of(info.part)
        categories: JSONObject = {
            cat.value: exact_str(sum((i.points for i in items if i.category is cat), Fraction(0)))
            for cat in Category
        }
        parts[info.part.value] = {
            "name_zh": info.name_zh,
            "name_en": info.name_en,
            "items": len(items),
            "max_points": exact_str(max_points(info.part)),
            "category_points": categories,
        }
    return {
        "standard": STANDARD,
        "items": [item_json(item) for item in ITEMS],
        "parts": parts,
        "default_weights": {p.value: exact_str(w) for p, w in DEFAULT_WEIGHTS.items()},
        "answers": ["yes", "partial", "no"],
    }


def plan_json(plan: MonitoringPlan) -> JSONObject:
    activities: JSONObject = {}
    for name, act in (
        ("security_assessment", plan.security_assessment),
        ("event_monitoring", plan.event_monitoring),
        ("staff_training", plan.staff_training),
    ):
        activities[name] = {
            "frequency": act.frequency,
            "min_per_year": act.min_per_year,
            "text_zh": act.text_zh,
        }
    return {"tier": plan.tier.value, "source": plan.source, **activities}


def result_json(assessment: Assessment, result: ItemResult) -> JSONObject:
    return {
        **item_json(result.item),
        "answer": result.answer.value,
        "points_lost": exact_str(result.lost),
        "overall_impact": format_2dp(assessment.impact(result)),
        "overall_impact_exact": exact_str(assessment.impact(result)),
    }


def hardening_json(assessment: Assessment) -> list[JSONValue]:
    return [result_json(assessment, r) for r in hardening(assessment)]


def assessment_json(assessment: Assessment) -> JSONObject:
    parts: JSONObject = {}
    for p in assessment.parts:
        parts[p.part.value] = {
            "achieved_points": exact_str(p.achieved),
            "max_points": exact_str(p.maximum),
            "score": format_2dp(p.score),
            "score_exact": exact_str(p.score),
            "weight": exact_str(p.weight),
            "contribution": format_2dp(p.contribution),
            "contribution_exact": exact_str(p.contribution),
        }
    band = assessment.band
    return {
        "standard": STANDARD,
        "overall_score": format_2dp(assessment.overall),
        "overall_score_exact": exact_str(assessment.overall),
        "score_bps": assessment.score_bps,
        "base_score": format_2dp(assessment.part(Part.BASE).score),
        "scenario_scores": {
            p.value: format_2dp(assessment.part(p).score) for p in assessment.scenarios
        },
        "scenarios": [p.value for p in assessment.scenarios],
        "weights": {p.value: exact_str(w) for p, w in assessment.weights.items()},
        "parts": parts,
        "formula": "S = Σ W_part × S_part, S_part = 100 × achieved ÷ max_points",
        "risk_level": band.level.value,
        "risk_level_zh": band.level_zh,
        "underwriting": band.underwriting.value,
        "underwriting_zh": band.advice_zh,
        "underwriting_en": band.advice_en,
        "monitoring_plan": plan_json(plan_for(band.level)),
        "hardening": hardening_json(assessment),
    }
