"""Risk-assessment engine for T/SNISA 04002—2025 (网络安全保险风险评估规范).

appendix_a (item data) → scoring (Table 5, §6.3.3) → levels (Table 6) → plan (§7.2.1)
→ report (§6.4/§7/§8, canonical JSON + keccak256) → anchor_fields (what the chain stores).
"""

from service.assessment.appendix_a import ITEMS, ITEMS_BY_ID, STANDARD, max_points
from service.assessment.canonical import canonical_bytes, report_hash
from service.assessment.commitment import SubjectCommitment, commit_subject, subject_commitment
from service.assessment.errors import (
    AssessmentError,
    MissingAnswersError,
    ReportError,
    UnknownItemsError,
)
from service.assessment.hardening import hardening
from service.assessment.levels import RiskLevel, Underwriting, classify
from service.assessment.plan import plan_for
from service.assessment.provider import ProviderGrade, ProviderScore, grade_for, score_provider
from service.assessment.render import render_html
from service.assessment.report import (
    AnchorFields,
    Assessor,
    Method,
    Overview,
    ReportKind,
    Subject,
    anchor_fields,
    build_report,
)
from service.assessment.scoring import Answer, Assessment, assess
from service.assessment.template import Category, Item, Part
from service.assessment.weights import DEFAULT_WEIGHTS, resolve_weights

__all__ = [
    "DEFAULT_WEIGHTS", "ITEMS", "ITEMS_BY_ID", "STANDARD",
    "AnchorFields", "Answer", "Assessment", "AssessmentError", "Assessor", "Category", "Item",
    "Method", "MissingAnswersError", "Overview", "Part", "ProviderGrade", "ProviderScore",
    "ReportError", "ReportKind", "RiskLevel", "Subject", "SubjectCommitment", "Underwriting",
    "UnknownItemsError", "anchor_fields", "assess", "build_report", "canonical_bytes",
    "classify", "commit_subject", "grade_for", "hardening", "max_points", "plan_for",
    "render_html", "report_hash", "resolve_weights", "score_provider", "subject_commitment",
]
