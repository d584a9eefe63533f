"""The assessment report (§6.4, §7.4, §8.3) as a canonical JSON document, and its anchor.

One builder for the three kinds: every report carries a scored Assessment (for an incident,
the re-assessment of the recovered systems that §8 asks for), so every anchor has a score and
a level. The document holds only strings, ints and bools; the subject is a salted commitment,
and the organisation's name appears only if the caller passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import TypedDict

from eth_utils.address import is_address, to_checksum_address

from contracts import enums
from service.assessment.appendix_a import STANDARD
from service.assessment.canonical import report_hash
from service.assessment.errors import ReportError
from service.assessment.exposure import EXPOSURE_BY_PART
from service.assessment.fields import hex32, parse_hex32, text, texts, utc_iso
from service.assessment.hardening import hardening
from service.assessment.in_policy import InPolicyDetails, in_policy_json
from service.assessment.incident import IncidentDetails, incident_json
from service.assessment.jsontypes import JSONObject, JSONValue
from service.assessment.levels import RiskLevel, classify
from service.assessment.numbers import format_2dp
from service.assessment.scoring import Answer, Assessment
from service.assessment.views import assessment_json, result_json

SCHEMA = "cybercover.assessment-report/1"


class ReportKind(StrEnum):
    """The kinds as reports name them: the chain's enum (contracts.enums), by label."""

    PRE_UNDERWRITING = enums.ReportKind.PRE_UNDERWRITING.label  # §6 保前
    IN_POLICY = enums.ReportKind.IN_POLICY.label  # §7 过程
    INCIDENT = enums.ReportKind.INCIDENT.label  # §8 事故

    @property
    def on_chain(self) -> enums.ReportKind:
        return enums.ReportKind[self.name]


KIND_ZH = {
    ReportKind.PRE_UNDERWRITING: "网络安全保险保前风险评估报告",
    ReportKind.IN_POLICY: "网络安全保险过程风险评估报告",
    ReportKind.INCIDENT: "网络安全保险事故风险评估报告",
}


class Method(StrEnum):
    """Evidence-gathering methods named by §6.4 a), §7.3 and §8.2.2."""

    QUESTIONNAIRE = "questionnaire"
    INTERVIEW = "interview"
    TOOL_SCAN = "tool_scan"
    PENETRATION_TEST = "penetration_test"
    VULNERABILITY_SCAN = "vulnerability_scan"
    BASELINE_CHECK = "baseline_check"
    THREAT_INTELLIGENCE = "threat_intelligence"
    INDUSTRY_ANALYSIS = "industry_analysis"
    FORENSICS = "forensics"
    SITE_SURVEY = "site_survey"


@dataclass(frozen=True, slots=True)
class Assessor:
    name: str
    address: str | None = None  # the signing key's address, if known when building


@dataclass(frozen=True, slots=True)
class Overview:
    """§6.4 a) 评估概况."""

    objective: str
    scope: str
    started_at: datetime
    ended_at: datetime
    methods: tuple[Method, ...]
    team: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Subject:
    """§6.4 b) 评估对象概述. `disclosed_name` is the opt-in for printing the org's name."""

    commitment: bytes
    industry: str
    business_overview: str
    key_assets: tuple[str, ...]
    disclosed_name: str | None = None


class AnchorFields(TypedDict):
    report_hash: bytes
    score_bps: int
    risk_level: enums.RiskLevel
    kind: enums.ReportKind
    subject: bytes


def _assessor_json(assessor: Assessor) -> JSONObject:
    out: JSONObject = {"name": text(assessor.name, "assessor.name")}
    if assessor.address is not None:
        if not is_address(assessor.address):
            raise ReportError(f"assessor.address: {assessor.address!r} is not an address")
        out["address"] = to_checksum_address(assessor.address)
    return out


def _overview_json(overview: Overview) -> JSONObject:
    start = utc_iso(overview.started_at, "overview.started_at")
    end = utc_iso(overview.ended_at, "overview.ended_at")
    if overview.ended_at < overview.started_at:
        raise ReportError("overview: assessment ends before it starts")
    if not overview.methods:
        raise ReportError("overview.methods: at least one method is required")
    if not overview.team:
        raise ReportError("overview.team: at least one team member is required")
    return {
        "objective": text(overview.objective, "overview.objective"),
        "scope": text(overview.scope, "overview.scope"),
        "period": {"start": start, "end": end},
        "basis": STANDARD,
        "methods": [Method(m).value for m in overview.methods],
        "team": texts(overview.team, "overview.team"),
    }


def _subject_json(subject: Subject) -> JSONObject:
    out: JSONObject = {
        "commitment": hex32(subject.commitment, "subject.commitment"),
        "industry": text(subject.industry, "subject.industry"),
        "business_overview": text(subject.business_overview, "subject.business_overview"),
        "key_assets": texts(subject.key_assets, "subject.key_assets"),
    }
    if subject.disclosed_name is not None:
        out["name"] = text(subject.disclosed_name, "subject.disclosed_name")
    return out


def _scores_json(assessment: Assessment, evidence: Mapping[str, str]) -> JSONObject:
    view = assessment_json(assessment)
    keys = ("overall_score", "overall_score_exact", "score_bps", "base_score", "scenario_scores",
            "scenarios", "weights", "parts", "formula")
    scores: JSONObject = {k: view[k] for k in keys}
    scores["answers"] = {r.item.id: r.answer.value for r in assessment.results}
    scores["evidence"] = dict(evidence)
    return scores


def _risk_list(assessment: Assessment, evidence: Mapping[str, str]) -> list[JSONValue]:
    """§6.4 c), listed by part and category (template order), unmet items only."""
    out: list[JSONValue] = []
    for r in assessment.results:
        if r.answer is Answer.YES:
            continue
        entry = result_json(assessment, r)
        entry["exposure"] = [t.value for t in EXPOSURE_BY_PART[r.item.part]]
        if r.item.id in evidence:
            entry["evidence"] = evidence[r.item.id]
        out.append(entry)
    return out


def _sentence(text_: str, stop: str) -> str:
    # Table 6 prints one 说明 without a full stop; sentences are joined, so add it.
    return text_ if text_.endswith(("。", ".", "！", "!")) else text_ + stop


def _conclusion(assessment: Assessment, remarks: str) -> JSONObject:
    band = assessment.band
    unmet = len(hardening(assessment))
    score = format_2dp(assessment.overall)
    out: JSONObject = {
        "summary_en": (
            f"Overall risk score {score} of 100: {band.level.value} risk. {band.advice_en} "
            f"{_sentence(band.note_en, '.')} {unmet} item(s) not fully met; see the hardening list."
        ),
        "summary_zh": (
            f"整体风险分值 {score} 分，风险等级：{band.level_zh}，核保建议：{band.advice_zh}。"
            f"{_sentence(band.note_zh, '。')}未完全达到要求的评估项 {unmet} 项，详见加固建议。"
        ),
    }
    if remarks:
        out["remarks"] = remarks
    return out


def build_report(
    *,
    kind: ReportKind | str,
    report_id: str,
    issued_at: datetime,
    assessor: Assessor,
    overview: Overview,
    subject: Subject,
    assessment: Assessment,
    evidence: Mapping[str, str] | None = None,
    remarks: str = "",
    in_policy: InPolicyDetails | None = None,
    incident: IncidentDetails | None = None,
) -> JSONObject:
    """The report document. Deterministic: the same arguments give the same bytes and hash."""
    try:
        kind = ReportKind(kind)
    except ValueError:
        raise ReportError(f"kind: {kind!r} is not one of {[k.value for k in ReportKind]}") from None
    if (in_policy is not None) != (kind is ReportKind.IN_POLICY):
        raise ReportError("in_policy details are required for, and only for, in_policy reports")
    if (incident is not None) != (kind is ReportKind.INCIDENT):
        raise ReportError("incident details are required for, and only for, incident reports")
    evidence = dict(evidence or {})
    assessed = {r.item.id for r in assessment.results}
    stray = sorted(set(evidence) - assessed)
    if stray:
        raise ReportError(f"evidence: not assessed items: {', '.join(stray)}")
    for item_id, source in evidence.items():
        text(source, f"evidence.{item_id}")
    band = assessment.band
    view = assessment_json(assessment)
    report: JSONObject = {
        "schema": SCHEMA,
        "standard": STANDARD,
        "kind": kind.value,
        "title_zh": KIND_ZH[kind],
        "report_id": text(report_id, "report_id"),
        "issued_at": utc_iso(issued_at, "issued_at"),
        "assessor": _assessor_json(assessor),
        "overview": _overview_json(overview),
        "subject": _subject_json(subject),
        "scores": _scores_json(assessment, evidence),
        "risk_list": _risk_list(assessment, evidence),
        "result": {
            "risk_level": band.level.value,
            "risk_level_zh": band.level_zh,
            "underwriting": band.underwriting.value,
            "underwriting_zh": band.advice_zh,
            "underwriting_en": band.advice_en,
            "note_zh": band.note_zh,
            "note_en": band.note_en,
        },
        "hardening": view["hardening"],
        "monitoring_plan": view["monitoring_plan"],
        "conclusion": _conclusion(assessment, remarks),
    }
    if in_policy is not None:
        report["in_policy"] = in_policy_json(in_policy, assessment)
    if incident is not None:
        report["incident"] = incident_json(incident)
    return report


def _field(doc: Mapping[str, object], *path: str) -> object:
    node: object = doc
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise ReportError(f"report: missing field {'.'.join(path)}")
        node = node[key]
    return node


def anchor_fields(report: Mapping[str, object]) -> AnchorFields:
    """What AssessmentRegistry stores for a report; refuses a level that contradicts the score."""
    kind = _field(report, "kind")
    level = _field(report, "result", "risk_level")
    bps = _field(report, "scores", "score_bps")
    if kind not in set(ReportKind):
        raise ReportError(f"report: unknown kind {kind!r}")
    if level not in set(RiskLevel):
        raise ReportError(f"report: unknown risk level {level!r}")
    if isinstance(bps, bool) or not isinstance(bps, int) or not 0 <= bps <= 10_000:
        raise ReportError(f"report: score_bps {bps!r} outside 0..10000")
    if classify(Fraction(bps, 100)).level.value != level:
        raise ReportError(f"report: risk level {level!r} contradicts score_bps {bps} (Table 6)")
    return AnchorFields(
        report_hash=report_hash(report),
        score_bps=bps,
        risk_level=RiskLevel(str(level)).on_chain,
        kind=ReportKind(str(kind)).on_chain,
        subject=parse_hex32(_field(report, "subject", "commitment"), "subject.commitment"),
    )
