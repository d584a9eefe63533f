"""Appendix B: capability score of a cybersecurity service provider (the assessor).

Aggregation (the appendix gives 0–10 sub-items, dimension weights and a 0–100 total but no
formula): a dimension scores the mean of its sub-items, scaled to 0–100; the total is the
weighted sum of the dimensions. With 3/3/2/2 sub-items and weights 30/30/20/20 %, each
sub-item point is worth exactly one point of the total, so the total equals the plain sum of
the ten sub-item scores and is an integer. It is floored for the uint8 on-chain field, which
keeps "≥ 70" and "≥ 85" exact should weights ever make it fractional.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from math import floor

from service.assessment.errors import AssessmentError
from service.assessment.jsontypes import JSONObject
from service.assessment.numbers import exact_str, format_2dp

MAX_SUB_SCORE = 10


class ProviderGrade(StrEnum):
    PREFERRED = "preferred"  # 优选级合作伙伴, ≥ 85
    QUALIFIED = "qualified"  # 达标级合作机构, 70–84
    NOT_ACCREDITED = "not_accredited"  # < 70: 未满足合作基准条件


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    name_zh: str
    name_en: str


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    name_zh: str
    name_en: str
    weight: Fraction
    criteria: tuple[Criterion, ...]


APPENDIX_B: tuple[Dimension, ...] = (
    Dimension("robustness", "企业稳健性", "Corporate robustness", Fraction(30, 100), (
        Criterion("years_in_business", "从业时间", "Years in business (≥ 3)"),
        Criterion("financial_condition", "营业状况", "Stable finances over 3 years"),
        Criterion("supply_chain", "供应链管理", "Supplier catalogue, several qualified suppliers"),
    )),
    Dimension("service_experience", "服务经验", "Service experience", Fraction(30, 100), (
        Criterion("major_clients", "大客户服务数量", "≥ 10 major clients (≥ CNY 1 m each)"),
        Criterion("industry_experience", "行业经验", "Cases in ≥ 5 industries"),
        Criterion("client_retention", "客户留存率", "Renewal rate ≥ 50 %"),
    )),
    Dimension("team_capability", "团队能力", "Team capability", Fraction(20, 100), (
        Criterion("team_professionalism", "团队专业性",
                  "Dedicated insurance team, lead with ≥ 2 years, 24×7 hotline"),
        Criterion("staff_competence", "人员素质",
                  "GB/T 42446 skills, vetted staff, ≥ 30 training hours a year"),
    )),
    Dimension("technical_strength", "技术实力", "Technical strength", Fraction(20, 100), (
        Criterion("innovation", "技术创新能力", "Core technology and continued R&D"),
        Criterion("project_management", "项目管理及服务能力",
                  "Project, confidentiality and quality management; tailored solutions"),
    )),
)


@dataclass(frozen=True, slots=True)
class DimensionScore:
    dimension: Dimension
    scores: Mapping[str, int]

    @property
    def score(self) -> Fraction:
        """Mean sub-item score scaled to 0..100."""
        return Fraction(sum(self.scores.values()) * 10, len(self.dimension.criteria))

    @property
    def contribution(self) -> Fraction:
        return self.dimension.weight * self.score


@dataclass(frozen=True, slots=True)
class ProviderScore:
    dimensions: tuple[DimensionScore, ...]

    @property
    def exact_total(self) -> Fraction:
        return sum((d.contribution for d in self.dimensions), Fraction(0))

    @property
    def total(self) -> int:
        """0..100, what AssessmentRegistry accreditation takes (uint8)."""
        return floor(self.exact_total)

    @property
    def grade(self) -> ProviderGrade:
        return grade_for(self.total)


def grade_for(total: int) -> ProviderGrade:
    if total >= 85:
        return ProviderGrade.PREFERRED
    if total >= 70:
        return ProviderGrade.QUALIFIED
    return ProviderGrade.NOT_ACCREDITED


def _sub_score(value: object, where: str) -> int:
    # Integers only: Appendix B scores on a 0–10 point scale.
    if isinstance(value, bool) or not isinstance(value, int):
        raise AssessmentError(f"{where}: expected an integer 0..10, got {value!r}")
    if not 0 <= value <= MAX_SUB_SCORE:
        raise AssessmentError(f"{where}: {value} outside 0..10")
    return value


def score_provider(dimensions: Mapping[str, object]) -> ProviderScore:
    """`{dimension_id: {criterion_id: 0..10}}`; every criterion is required, nothing extra."""
    known = {d.id for d in APPENDIX_B}
    extra = sorted(set(dimensions) - known)
    if extra:
        raise AssessmentError(f"unknown dimensions: {', '.join(extra)}")
    scored: list[DimensionScore] = []
    for dim in APPENDIX_B:
        raw = dimensions.get(dim.id)
        if not isinstance(raw, Mapping):
            raise AssessmentError(f"dimensions.{dim.id}: expected an object of sub-item scores")
        ids = [c.id for c in dim.criteria]
        unknown = sorted(set(raw) - set(ids))
        if unknown:
            raise AssessmentError(f"dimensions.{dim.id}: unknown sub-items: {', '.join(unknown)}")
        missing = [c for c in ids if c not in raw]
        if missing:
            raise AssessmentError(f"dimensions.{dim.id}: missing sub-items: {', '.join(missing)}")
        scores = {c: _sub_score(raw[c], f"dimensions.{dim.id}.{c}") for c in ids}
        scored.append(DimensionScore(dim, scores))
    return ProviderScore(tuple(scored))


def provider_json(result: ProviderScore) -> JSONObject:
    dims: JSONObject = {}
    for d in result.dimensions:
        dims[d.dimension.id] = {
            "name_zh": d.dimension.name_zh,
            "weight": exact_str(d.dimension.weight),
            "score": format_2dp(d.score),
            "contribution": format_2dp(d.contribution),
            "sub_scores": dict(d.scores),
        }
    return {
        "standard": "T/SNISA 04002—2025 Appendix B",
        "capability_score": result.total,
        "capability_score_exact": exact_str(result.exact_total),
        "grade": result.grade.value,
        "accredited": result.grade is not ProviderGrade.NOT_ACCREDITED,
        "dimensions": dims,
    }
