"""Assessments: questionnaire → scored report (stored), the report as JSON or HTML, anchoring
by the service's accredited assessor account, and an auditor's verification from the chain."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from eth_utils import decode_hex, encode_hex
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator
from sqlalchemy.orm import Session

from contracts.httperrors import rule
from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, SettingsDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.routes.in_policy import InPolicyIn
from service.api.schemas import Address, Hex32, Out, Strict, Text
from service.assessment import (
    ITEMS,
    Answer,
    Assessor,
    Method,
    Overview,
    Part,
    ReportKind,
    Subject,
    anchor_fields,
    assess,
    build_report,
    commit_subject,
    render_html,
)
from service.assessment.anchoring import report_anchor_id
from service.assessment.template import SCENARIOS
from service.db import models as m
from service.domain import anchoring, in_policy, rerating
from service.errors import NotFound

router = APIRouter(prefix="/v1", tags=["assessments"])
Creator = Annotated[Principal, Depends(require("assessor", "distributor"))]
AssessorRole = Annotated[Principal, Depends(require("assessor"))]


def _items(part: Part) -> list[str]:
    return [i.id for i in ITEMS if i.part is part]


# The report refuses blank text (str.strip() leaves nothing); as a pattern: one character that is
# not str.isspace() (spelled out: Python and JSON Schema disagree on \s).
NON_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
Prose = Annotated[Text, Field(json_schema_extra={"pattern": NON_BLANK})]


class AssessmentIn(Strict):
    """Every item of the base part is answered, and every item of each listed scenario. The
    org identifier is one spelling: no surrounding whitespace, Unicode NFC (else 400)."""

    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"if": {"required": ["scenarios"], "properties": {"scenarios": {"contains": {"const": s.value}}}},
         "then": {"properties": {"answers": {"required": _items(s)}}}} for s in SCENARIOS]})
    kind: Literal["pre_underwriting"] = "pre_underwriting"
    org_identifier: Text = Field(description="The organisation's registration number; committed with a salt")
    answers: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=20)]] = Field(
        json_schema_extra={"properties": {i.id: {"enum": [a.value for a in Answer]} for i in ITEMS},
                           "additionalProperties": False, "required": _items(Part.BASE)},
        description="Item id → yes, partial or no (Appendix A)")
    scenarios: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=3, json_schema_extra={"items": {"enum": [s.value for s in SCENARIOS]},
                                                               "uniqueItems": True})
    industry: Prose
    business_overview: Prose
    key_assets: list[Prose] = Field(min_length=1, max_length=50)
    objective: Prose = "Pre-underwriting cyber risk assessment"
    scope: Prose = "Production services named in the cover"
    methods: list[Method] = Field(default=[Method.QUESTIONNAIRE], min_length=1, max_length=10)
    team: list[Prose] = Field(default=["assessment desk"], min_length=1, max_length=20)
    disclosed_name: Prose | None = None
    tenant_id: str | None = Field(None, max_length=32, description="Client tenant (insurer staff only); default: "
                                  "the caller's")
    subject_salt: Hex32 | None = Field(None, description="The salt of an earlier assessment of the same "
                                       "organisation (shown once, at its creation): the new report then commits "
                                       "to the same subject, so its policies can be renewed on it. Default: a "
                                       "fresh salt")

    @field_validator("org_identifier")
    @classmethod
    def _one_spelling(cls, value: str) -> str:
        if value != value.strip() or unicodedata.normalize("NFC", value) != value:
            raise rule("org identifier must be non-empty without surrounding whitespace, in Unicode NFC form")
        return value


class AssessmentOut(Out):
    id: str
    tenant_id: str
    kind: str = Field(description="The report's kind: pre_underwriting, in_policy or incident")
    report_hash: str
    score_bps: int
    risk_level: str
    underwriting: str
    subject: str = Field(description="The report's subject commitment, keccak256(salt ‖ org identifier)")
    anchored: bool
    anchor_tx: str | None
    created_at: datetime
    anchor_id: str | None = Field(None, description="The report's anchor id, keccak256(abi.encode(assessor, "
                                  "report_hash)): what policies and `replaces` name")
    superseded_by: str | None = Field(None, description="The anchor id of the report that superseded this one "
                                      "on-chain (ReportSuperseded; e.g. an in-policy re-rating): a superseded "
                                      "report is not quoted nor issued on (409 report_superseded)")
    current_report: str | None = Field(None, description="The anchor id of the subject's current report: its "
                                       "latest anchored pre-underwriting or in-policy report neither revoked nor "
                                       "superseded — what new covers and renewals are underwritten on")

    @classmethod
    def of_record(cls, a: m.AssessmentRecord, session: Session | None = None) -> Self:
        chain: dict[str, Any] = {}
        if a.anchor_tx is not None and session is not None:
            anchor_id = encode_hex(report_anchor_id(a.report))
            row = session.get(m.Anchor, anchor_id)
            current = rerating.current_anchor(session, a.subject)
            chain = {"anchor_id": anchor_id, "superseded_by": row.superseded_by if row is not None else None,
                     "current_report": current.anchor_id if current is not None else None}
        return cls.of(a, underwriting=a.report["result"]["underwriting"], anchored=a.anchor_tx is not None,
                      kind=a.report["kind"], **chain)


class AssessmentCreated(AssessmentOut):
    subject_salt: str = Field(description="Secret: proves which organisation was assessed. Shown once.")


class InPolicyCreated(AssessmentOut):
    """An in-policy report on the baseline's subject (its salt is the baseline's: not shown again)."""

    baseline_report_hash: str
    monitoring: dict[str, Any] = Field(description="The period's monitoring facts, as in the report's "
                                       "`in_policy.monitoring`")
    control_effectiveness: dict[str, Any]

    @classmethod
    def of_in_policy(cls, a: m.AssessmentRecord) -> Self:
        section = a.report["in_policy"]
        return cls.of(a, underwriting=a.report["result"]["underwriting"], anchored=a.anchor_tx is not None,
                      kind=a.report["kind"], baseline_report_hash=section["baseline_report_hash"],
                      monitoring=section["monitoring"], control_effectiveness=section["control_effectiveness"])


def _kind(value: Any) -> str:
    kind = value.get("kind", "pre_underwriting") if isinstance(value, dict) else getattr(value, "kind", None)
    return str(kind or "pre_underwriting")


AssessmentBody = Annotated[Annotated[AssessmentIn, Tag("pre_underwriting")] | Annotated[InPolicyIn, Tag("in_policy")],
                           Discriminator(_kind)]


class VerificationOut(Out):
    """An auditor's answer for a report hash. With the document on file it is checked from its
    content against the anchor of the assessor it names (`reason` says why it is not valid);
    otherwise the hash against the given assessor's anchor. The anchored figures are the registry's."""

    valid: bool
    report_hash: str
    anchor_id: str | None
    assessor: str | None
    assessor_grade: str | None
    assessor_capability: int | None = Field(None, description="The assessor's Appendix B capability now")
    anchored_at: str | None
    block: int | None
    tx: str | None
    revoked: bool
    superseded_by: str | None
    batch: str | None
    reason: str | None
    score_bps: int | None = None
    risk_level: str | None = None
    kind: str | None = None
    subject_prefix: str | None = Field(None, description="The first 128 bits of the subject commitment, as anchored")
    document_on_file: bool

    @classmethod
    def of_check(cls, check: anchoring.ReportCheck) -> VerificationOut:
        a = check.anchor
        figures = {} if a is None or not a.anchored_at else {
            "assessor_capability": a.assessor_capability, "score_bps": a.score_bps, "risk_level": a.risk_level.label,
            "kind": a.kind.label, "subject_prefix": encode_hex(a.subject)}
        return cls(**check.summary, **figures, document_on_file=check.document_on_file)


def visible(session: SessionDep, principal: Principal, assessment_id: str) -> m.AssessmentRecord:
    a = session.get(m.AssessmentRecord, assessment_id)
    if a is None or not principal.can_see(a.tenant_id):
        raise NotFound(f"no assessment {assessment_id}")
    return a


@router.post("/assessments", status_code=201, response_model=AssessmentCreated | InPolicyCreated,
             responses=responses(400, 404, 409))
def create_assessment(body: AssessmentBody, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                      settings: SettingsDep, principal: Creator) -> AssessmentCreated | InPolicyCreated:
    """`kind` pre_underwriting (default): the §6 questionnaire of an organisation. `kind`
    in_policy: a §7 follow-up of the anchored live report `baseline` for its subject's live
    policies, with the period's monitoring facts pulled from the chain and the oracle nodes
    (see the README, "In-policy assessments and the due list"); anchoring it supersedes the baseline."""
    if isinstance(body, InPolicyIn):
        record = in_policy.create(session, gw, indexer, settings, body.request(), may_see=principal.can_see)
        return InPolicyCreated.of_in_policy(record)
    tenant_id = body.tenant_id or principal.tenant_id
    if session.get(m.Tenant, tenant_id) is None or not principal.can_see(tenant_id):
        raise NotFound(f"no tenant {tenant_id}")
    assessment = assess(body.answers, body.scenarios)
    commitment = commit_subject(body.org_identifier, decode_hex(body.subject_salt) if body.subject_salt else None)
    record_id = m.new_id()
    issued = datetime.now(UTC).replace(microsecond=0)
    report = build_report(
        kind=ReportKind.PRE_UNDERWRITING, report_id=f"RA-{record_id}", issued_at=issued,
        assessor=Assessor(settings.assessor_name, gw.assessor.address),
        overview=Overview(objective=body.objective, scope=body.scope, started_at=issued, ended_at=issued,
                          methods=tuple(body.methods), team=tuple(body.team)),
        subject=Subject(commitment=commitment.commitment, industry=body.industry,
                        business_overview=body.business_overview, key_assets=tuple(body.key_assets),
                        disclosed_name=body.disclosed_name),
        assessment=assessment,
    )
    fields = anchor_fields(report)
    record = m.AssessmentRecord(id=record_id, tenant_id=tenant_id, report=report,
                                report_hash=encode_hex(fields["report_hash"]), score_bps=fields["score_bps"],
                                risk_level=assessment.risk_level.value, subject_salt=encode_hex(commitment.salt),
                                subject=encode_hex(commitment.commitment))
    session.add(record)
    session.commit()
    return AssessmentCreated.of_record(record)


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
def get_assessment(assessment_id: str, session: SessionDep, principal: Anyone) -> AssessmentOut:
    return AssessmentOut.of_record(visible(session, principal, assessment_id), session)


@router.get("/assessments/{assessment_id}/report", responses={200: {"content": {"text/html": {}}}})
def get_report(assessment_id: str, request: Request, session: SessionDep, principal: Anyone,
               format: Annotated[str | None, Query(pattern="^(json|html)$")] = None) -> Any:
    a = visible(session, principal, assessment_id)
    wants_html = format == "html" or (format is None and "text/html" in request.headers.get("accept", ""))
    if wants_html:
        return HTMLResponse(render_html(a.report))
    return JSONResponse(a.report)


@router.post("/assessments/{assessment_id}/anchor", response_model=AssessmentOut, responses=responses(400, 409, 502))
def anchor_assessment(assessment_id: str, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                      principal: AssessorRole, idem: Idempotent) -> JSONResponse:
    visible(session, principal, assessment_id)
    return idem.run(None, lambda: AssessmentOut.of_record(anchoring.anchor(session, gw, indexer, assessment_id),
                                                          session))


@router.get("/reports/{report_hash}/verification", response_model=VerificationOut)
def verify_report(report_hash: Hex32, session: SessionDep, gw: GatewayDep, principal: Anyone,
                  assessor: Annotated[Address | None, Query(description="Without the document on file: the "
                                                            "assessor the report names (default: the "
                                                            "service's assessor)")] = None) -> VerificationOut:
    """Reads the registry. With the document on file, its hash is recomputed from its content and
    checked against the anchor of the assessor it names; otherwise against `assessor`'s anchor."""
    return VerificationOut.of_check(anchoring.verification(session, gw, decode_hex(report_hash), assessor,
                                                           may_see=principal.can_see))
