"""Reports on the chain, as the service sees them: anchoring a stored assessment with the
service's assessor account, the underwriting gate a quote or a claim decision reads, and an
auditor's verification of a report hash. The registry arguments and the verification rules are
service.assessment.anchoring's (the library the CLI uses too); this module sends and stores."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.records import UnderwritingStatus, Verification
from service.assessment import ReportKind, anchor_fields
from service.assessment.anchoring import anchor_args, inspect, inspect_hash, named_assessor, report_anchor_id
from service.assessment.canonical import report_hash
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.errors import NotFound


def anchor(session: Session, gw: Gateway, indexer: Indexer, assessment_id: str) -> m.AssessmentRecord:
    """Anchors the assessment's report once; anchoring it again returns the first anchoring
    (a second `anchor` would only revert AlreadyAnchored). An in-policy report replaces its
    baseline (service.domain.in_policy.replaces: the baseline is superseded on-chain)."""
    a = session.get(m.AssessmentRecord, assessment_id)
    if a is None:
        raise NotFound(f"no assessment {assessment_id}")
    if a.anchor_tx is None:
        replaces = None
        if a.report.get("kind") == ReportKind.IN_POLICY.value:  # supersedes its baseline on-chain
            from service.domain import in_policy
            replaces = in_policy.replaces(session, gw, a)
        fn = gw.registry.functions.anchor(*anchor_args(a.report, gw.assessor.address, replaces))
        a.anchor_tx = "0x" + bytes(gw.send(fn, gw.assessor)["transactionHash"]).hex()
        session.commit()
    indexer.sync()
    return a


def underwriting_status(gw: Gateway, anchor_id: bytes, subject: bytes) -> UnderwritingStatus:
    """The registry's gate: whether the report anchored under `anchor_id` is live for `subject`."""
    return UnderwritingStatus.decode(gw.registry.functions.underwritingStatus(anchor_id, subject).call())


def report_status(gw: Gateway, report: Mapping[str, Any]) -> UnderwritingStatus:
    """The gate for a report document: anchored by the assessor it names, for the subject it states."""
    return underwriting_status(gw, report_anchor_id(report), anchor_fields(report)["subject"])


def anchor_record(gw: Gateway, report: Mapping[str, Any]) -> Verification:
    """The registry's record of `report` as anchored by the assessor it names: when (anchored_at,
    chain time; 0: not anchored) and with which score."""
    return Verification.decode(gw.registry.functions.verify(named_assessor(report), report_hash(report)).call())


@dataclass(frozen=True)
class ReportCheck:
    """An auditor's answer for a report hash: `summary` (service.assessment.anchoring.verify's
    answer), the registry's record it was judged on, and whether the document was on file."""

    summary: dict[str, Any]
    anchor: Verification | None
    document_on_file: bool


def verification(session: Session, gw: Gateway, report_hash: bytes, assessor: str | None, *,
                 may_see: Callable[[str | None], bool]) -> ReportCheck:
    """With the document on file (and `may_see(tenant_id)`), its hash is recomputed from its
    content and checked against the anchor of the assessor it names; otherwise the hash is checked
    against `assessor`'s anchor (default: the service's assessor)."""
    hx = "0x" + report_hash.hex()
    a = session.scalar(select(m.AssessmentRecord).where(m.AssessmentRecord.report_hash == hx))
    if a is not None and may_see(a.tenant_id):  # another tenant's document: the chain only
        return ReportCheck(*inspect(gw.registry, a.report, from_block=gw.first_block), document_on_file=True)
    by = assessor or gw.assessor.address
    summary, record = inspect_hash(gw.registry, by, report_hash, from_block=gw.first_block)
    if record.anchored_at == 0:
        raise NotFound(f"report {hx} is not anchored by {by}")
    return ReportCheck(summary, record, document_on_file=False)
