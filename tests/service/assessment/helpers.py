"""Shared builders for the assessment tests (imported by name; not a conftest on purpose,
so the suite's module names stay unique next to other teams' tests)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from service.assessment import (
    ITEMS,
    Assessment,
    Assessor,
    Method,
    Overview,
    Part,
    ReportKind,
    Subject,
    assess,
    build_report,
    commit_subject,
)
from service.assessment.template import SCENARIOS

SALT = bytes(range(32))
ORG_ID = "91440300MA5EXAMPLE"  # an 18-character unified social credit code
ISSUED = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)

ALL_SUBSETS: list[tuple[Part, ...]] = [
    combo for n in range(len(SCENARIOS) + 1) for combo in combinations(SCENARIOS, n)
]


def answers_for(parts: tuple[Part, ...], value: str = "yes", **overrides: str) -> dict[str, str]:
    """Every item of base + `parts` answered `value`; keyword overrides use '_' for '.'."""
    chosen = {Part.BASE, *parts}
    answers = {item.id: value for item in ITEMS if item.part in chosen}
    for key, answer in overrides.items():
        answers[key.replace("__", ".")] = answer
    return answers


def sample_assessment() -> Assessment:
    answers = answers_for((Part.RANSOMWARE, Part.DATA_SECURITY))
    answers.update({"base.im.03": "no", "base.ep.06": "partial", "ransomware.ep.02": "no",
                    "data_security.ep.04": "partial"})
    return assess(answers, ["ransomware", "data_security"])


def sample_report(
    kind: ReportKind | str = ReportKind.PRE_UNDERWRITING,
    assessment: Assessment | None = None,
    disclosed_name: str | None = None,
    issued_at: datetime = ISSUED,
    **extra: object,
) -> Any:  # Any: tests walk the JSON document freely
    return build_report(
        kind=kind,
        report_id="RA-2025-0001",
        issued_at=issued_at,
        assessor=Assessor("Shenzhen Example Security Co.",
                          "0x" + "ab" * 20),
        overview=Overview(
            objective="Pre-underwriting assessment for a SaaS downtime cover",
            scope="Production web platform, office network, cloud tenancy",
            started_at=datetime(2025, 6, 20, 1, 0, tzinfo=UTC),
            ended_at=datetime(2025, 6, 27, 10, 0, tzinfo=UTC),
            methods=(Method.QUESTIONNAIRE, Method.INTERVIEW, Method.TOOL_SCAN),
            team=("Li Lei (lead)", "Han Meimei"),
        ),
        subject=Subject(
            commitment=commit_subject(ORG_ID, SALT).commitment,
            industry="software / SaaS",
            business_overview="B2B invoicing platform, 40 staff",
            key_assets=("customer database", "payment gateway integration"),
            disclosed_name=disclosed_name,
        ),
        assessment=assessment or sample_assessment(),
        **extra,  # type: ignore[arg-type]
    )
