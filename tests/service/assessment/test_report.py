"""Report documents: §6.4/§7/§8 contents, canonical bytes, hash, commitment, anchor, HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from eth_utils.crypto import keccak

from service.assessment import (
    AssessmentError,
    Part,
    ReportError,
    ReportKind,
    anchor_fields,
    assess,
    canonical_bytes,
    commit_subject,
    render_html,
    report_hash,
    subject_commitment,
)
from service.assessment.exposure import LossType
from service.assessment.in_policy import Change, InPolicyDetails
from service.assessment.incident import (
    Cause,
    EntryVector,
    IncidentDetails,
    LossItem,
    OutageWindow,
    Responsibility,
    TimelineEvent,
)
from service.assessment.plan import ChangeArea
from tests.service.assessment.helpers import ISSUED, ORG_ID, SALT, answers_for, sample_assessment, sample_report


def _walk(value: object) -> list[object]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


def _incident(**changes: object) -> IncidentDetails:
    reported = datetime(2025, 9, 1, 2, 0, tzinfo=UTC)
    fields: dict[str, object] = dict(
        incident_ref="INC-7",
        reported_at=reported,
        response_started_at=reported + timedelta(minutes=40),
        timeline=(
            TimelineEvent(reported - timedelta(hours=3), "files encrypted on the file server"),
            TimelineEvent(reported - timedelta(days=2), "phishing mail opened"),
        ),
        reconstruction="phishing → credential theft → lateral movement → encryption",
        currency="CNY",
        losses=(
            LossItem(LossType.BUSINESS_INTERRUPTION, "36 h outage", 1_200_000_00, "gross profit"),
            LossItem(LossType.EMERGENCY_RESPONSE, "forensics", 80_000_00, "invoice"),
            LossItem(LossType.INFORMATION_LEAK_LIABILITY, "notification", 15_000_00, "quotes"),
        ),
        cause=Cause(EntryVector.PHISHING, "mail → VPN → file server", "known ransomware group",
                    ("no MFA on VPN",), ("no phishing training",)),
        responsibility=Responsibility(True, "policy 42", "external attacker",
                                      "ransomware and BI losses are within the cover"),
        secondary_risks=("stolen data may be published",),
        log_retention_days=90,
        advice=("enable MFA", "keep logs ≥ 180 days"),
    )
    fields.update(changes)
    return IncidentDetails(**fields)  # type: ignore[arg-type]


def test_pre_underwriting_report_contents() -> None:
    report = sample_report()
    assert report["kind"] == "pre_underwriting"
    assert report["standard"] == "T/SNISA 04002—2025"
    assert set(report) >= {"overview", "subject", "scores", "risk_list", "result", "hardening",
                           "monitoring_plan", "conclusion"}
    scores = report["scores"]
    assert isinstance(scores, dict)
    assessment = sample_assessment()
    assert scores["score_bps"] == assessment.score_bps
    assert scores["answers"] == {r.item.id: r.answer.value for r in assessment.results}
    risk_ids = [e["id"] for e in report["risk_list"]]
    assert risk_ids == ["base.im.03", "base.ep.06", "ransomware.ep.02", "data_security.ep.04"]
    result = report["result"]
    assert isinstance(result, dict)
    assert result["risk_level"] == assessment.risk_level.value
    assert "name" not in report["subject"]


def test_report_holds_only_strings_ints_and_bools() -> None:
    report = sample_report(ReportKind.INCIDENT, incident=_incident())
    assert all(type(v) in (str, int, bool) for v in _walk(report))


def test_scores_in_report_can_be_recomputed() -> None:
    report = sample_report()
    scores = report["scores"]
    assert isinstance(scores, dict)
    again = assess(scores["answers"], scores["scenarios"])
    assert again.score_bps == scores["score_bps"]
    assert Fraction(str(scores["overall_score_exact"])) == again.overall


def test_hash_is_stable_and_key_order_irrelevant() -> None:
    first, second = sample_report(), sample_report()
    assert report_hash(first) == report_hash(second)
    reordered = json.loads(json.dumps(first, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert report_hash(reordered) == report_hash(first)
    assert canonical_bytes(first) == canonical_bytes(reordered)
    assert report_hash(first) == keccak(canonical_bytes(first))
    assert len(report_hash(first)) == 32


def test_one_changed_field_changes_the_hash() -> None:
    report = sample_report()
    tampered = json.loads(json.dumps(report))
    tampered["overview"]["scope"] += "."
    assert report_hash(tampered) != report_hash(report)
    other = sample_report(assessment=assess(answers_for((), "yes"), []))
    assert report_hash(other) != report_hash(report)


def test_canonical_bytes_follow_rfc_8785() -> None:
    assert canonical_bytes({"b": 1, "a": "é", "c": [True, False]}) == (
        '{"a":"é","b":1,"c":[true,false]}'.encode()
    )


@pytest.mark.parametrize("bad", [1.5, None, b"x", 2**53, Fraction(1, 2)])
def test_canonical_bytes_refuse_non_canonical_values(bad: object) -> None:
    with pytest.raises(ReportError):
        canonical_bytes({"x": [bad]})


def test_subject_commitment_and_name_opt_in() -> None:
    expected = keccak(SALT + ORG_ID.encode())
    assert subject_commitment(SALT, ORG_ID) == expected
    report = sample_report()
    assert report["subject"]["commitment"] == "0x" + expected.hex()
    assert ORG_ID not in canonical_bytes(report).decode()
    named = sample_report(disclosed_name="深圳示例科技有限公司")
    assert named["subject"]["name"] == "深圳示例科技有限公司"
    assert report_hash(named) != report_hash(report)


def test_fresh_salts_hide_the_subject() -> None:
    a, b = commit_subject(ORG_ID), commit_subject(ORG_ID)
    assert len(a.salt) == 32
    assert a.salt != b.salt
    assert a.commitment != b.commitment
    assert commit_subject(ORG_ID, a.salt) == a


@pytest.mark.parametrize("identifier", ["", " 9144", "9144 ", "e\u0301"])
def test_subject_identifier_must_be_canonical(identifier: str) -> None:
    with pytest.raises(AssessmentError):
        subject_commitment(SALT, identifier)


def test_anchor_fields() -> None:
    report = sample_report(ReportKind.INCIDENT, incident=_incident())
    fields = anchor_fields(report)
    assessment = sample_assessment()
    levels = ("low", "lower", "medium", "high")
    assert set(fields) == {"report_hash", "score_bps", "risk_level", "kind", "subject"}
    assert fields["report_hash"] == report_hash(report)
    assert fields["score_bps"] == assessment.score_bps
    assert fields["risk_level"] == levels.index(assessment.risk_level.value)
    assert fields["kind"] == 2
    assert fields["subject"] == subject_commitment(SALT, ORG_ID)
    assert anchor_fields(sample_report())["kind"] == 0


def test_anchor_refuses_a_level_that_contradicts_the_score() -> None:
    report = json.loads(json.dumps(sample_report()))
    report["result"]["risk_level"] = "low" if report["result"]["risk_level"] != "low" else "high"
    with pytest.raises(ReportError, match="contradicts"):
        anchor_fields(report)
    del report["scores"]
    with pytest.raises(ReportError, match="scores.score_bps"):
        anchor_fields(report)


def test_in_policy_section_tracks_remediation() -> None:
    baseline = sample_assessment()  # base.im.03 no, base.ep.06 partial, ransomware.ep.02 no…
    answers = {r.item.id: r.answer.value for r in baseline.results}
    answers.update({"base.im.03": "yes", "ransomware.ep.02": "partial", "base.im.01": "no"})
    current = assess(answers, ["ransomware", "data_security"])
    details = InPolicyDetails(
        policy_ref="policy 42",
        period_start=datetime(2025, 7, 1, tzinfo=UTC),
        period_end=datetime(2025, 9, 30, tzinfo=UTC),
        baseline_report_hash=report_hash(sample_report()),
        baseline=baseline,
        changes=(Change(ChangeArea.SUPPLIER_CHANGE, datetime(2025, 8, 2, tzinfo=UTC),
                        "new payment processor"),),
        advice=("re-run the phishing training",),
    )
    report = sample_report(ReportKind.IN_POLICY, assessment=current, in_policy=details)
    section = report["in_policy"]
    assert isinstance(section, dict)
    assert section["control_effectiveness"] == {
        "remediated": ["base.im.03"],
        "improved": ["ransomware.ep.02"],
        "regressed": ["base.im.01"],
        "still_open": ["base.ep.06", "data_security.ep.04"],
        "baseline_score_bps": baseline.score_bps,
        "score_change_bps": current.score_bps - baseline.score_bps,
    }
    assert section["changes"][0]["area"] == "supplier_change"
    assert anchor_fields(report)["kind"] == 1


def test_incident_section() -> None:
    report = sample_report(ReportKind.INCIDENT, incident=_incident())
    section = report["incident"]
    assert isinstance(section, dict)
    assert section["response_within_1h"] is True
    assert [e["description"] for e in section["timeline"]] == [
        "phishing mail opened", "files encrypted on the file server",
    ]
    assert section["losses"] == {
        "currency": "CNY",
        "items": section["losses"]["items"],
        "first_party_total_minor": 1_280_000_00,
        "third_party_total_minor": 15_000_00,
        "total_minor": 1_295_000_00,
    }
    assert section["log_retention"] == {"days": 90, "meets_minimum": False, "minimum_days": 180}
    assert section["responsibility"]["within_cover"] is True
    late = sample_report(ReportKind.INCIDENT, incident=_incident(
        response_started_at=datetime(2025, 9, 1, 3, 0, 1, tzinfo=UTC)))
    assert late["incident"]["response_within_1h"] is False
    assert "outage" not in section  # optional in the engine; the API always states it


def test_incident_outage_window() -> None:
    window = OutageWindow(b"\x11" * 32, 1_756_692_000, 1_756_692_060)
    report = sample_report(ReportKind.INCIDENT, incident=_incident(outage=window))
    assert report["incident"]["outage"] == {"service_id": "0x" + "11" * 32, "start": 1_756_692_000,
                                            "end": 1_756_692_060}
    assert anchor_fields(report)["report_hash"] != anchor_fields(
        sample_report(ReportKind.INCIDENT, incident=_incident()))["report_hash"]  # the window is hashed


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (OutageWindow(b"\x11" * 32, 100, 100), "end after it starts"),
        (OutageWindow(b"\x11" * 32, 100, 99), "end after it starts"),
        (OutageWindow(b"\x11" * 32, -1, 99), "outage.start"),
        (OutageWindow(b"\x11" * 32, True, 99), "outage.start"),  # type: ignore[arg-type]
        (OutageWindow(b"\x11" * 31, 1, 2), "service_id"),
    ],
)
def test_incident_outage_validation(window: OutageWindow, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        sample_report(ReportKind.INCIDENT, incident=_incident(outage=window))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"currency": "yuan"}, "ISO 4217"),
        ({"timeline": ()}, "at least one event"),
        ({"response_started_at": datetime(2025, 9, 1, 1, tzinfo=UTC)}, "before"),
        ({"losses": (LossItem(LossType.EXTORTION, "ransom", -1, "x"),)}, "≥ 0"),
        ({"reconstruction": "  "}, "reconstruction"),
        ({"reported_at": datetime(2025, 9, 1, 2)}, "timezone-aware"),
    ],
)
def test_incident_validation(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ReportError, match=message):
        sample_report(ReportKind.INCIDENT, incident=_incident(**changes))


def test_kind_and_details_must_agree() -> None:
    with pytest.raises(ReportError, match="incident details"):
        sample_report(ReportKind.INCIDENT)
    with pytest.raises(ReportError, match="incident details"):
        sample_report(ReportKind.PRE_UNDERWRITING, incident=_incident())
    with pytest.raises(ReportError, match="kind"):
        sample_report("claims")


def test_evidence_must_name_assessed_items() -> None:
    report = sample_report(evidence={"base.im.03": "interview with CISO, 2025-06-21"})
    entry = report["risk_list"][0]
    assert entry["evidence"] == "interview with CISO, 2025-06-21"
    with pytest.raises(ReportError, match="business_interruption.ep.01"):
        sample_report(evidence={"business_interruption.ep.01": "site visit"})


def test_times_are_utc_text_so_the_same_instant_hashes_the_same() -> None:
    report = sample_report()
    assert report["issued_at"] == "2025-07-01T08:00:00Z"
    beijing = timezone(timedelta(hours=8))
    moment = ISSUED.astimezone(beijing)
    assert moment.hour == 16
    other = sample_report(issued_at=moment)
    assert other["issued_at"] == report["issued_at"]
    assert report_hash(other) == report_hash(report)


def test_html_shows_the_key_figures_escaped() -> None:
    report = sample_report(disclosed_name="<script>alert(1)</script> Ltd")
    page = render_html(report)
    assessment = sample_assessment()
    scores = report["scores"]
    assert isinstance(scores, dict)
    assert f'id="overall">{scores["overall_score"]} ({assessment.score_bps} bps)' in page
    assert assessment.risk_level.value in page
    assert assessment.band.advice_zh in page
    assert "0x" + report_hash(report).hex() in page
    assert "base.im.03" in page
    assert "等保建设" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    incident = render_html(sample_report(ReportKind.INCIDENT, incident=_incident()))
    assert "Incident assessment" in incident
    assert "phishing mail opened" in incident


def test_report_for_uncovered_scenario_omits_it() -> None:
    report = sample_report(assessment=assess(answers_for((Part.RANSOMWARE,), "yes"),
                                             ["ransomware"]))
    assert report["scores"]["scenario_scores"] == {"ransomware": "100.00"}
    assert report["scores"]["weights"]["data_security"] == "0"
