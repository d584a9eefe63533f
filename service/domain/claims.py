"""Claim decisions (claims above the auto-pay limit): approved, in full or in part, against an
incident report (standard §8) anchored on-chain for the insured subject and the covered service,
or rejected with a written reason, before the claim's deadline. Undecided past it, a claim lapses
(the payout worker closes it: deemed approved in full and paid).

An approval's incident report is checked, in this order: live on-chain, of kind incident and
bound to the policy's insured subject and service (the chain's own rule; 400
`invalid_incident_report`); its document on file here (400 `incident_report_not_on_file`: the
window it states cannot be checked otherwise); and the outage window it states
(`report["incident"]["outage"]`) overlapping an episode behind the claim (400
`incident_outside_outage`). The chain pays a claim once: a second decision reverts
(`claim_not_open`). Two decisions in flight at once with written reasons would each store a note
for the claim: the first holds it (a lease) and the other is refused before it reaches the chain
(409 `claim_decision_in_progress`), so the reason kept is the paying decision's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eth_utils import keccak
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts.enums import ReportKind
from contracts.registry import incident_subject
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer, policy_record
from service.db import models as m
from service.domain import claim_view
from service.domain.anchoring import underwriting_status
from service.errors import BadRequest, Conflict, NotFound, ServiceError

# A decision note older than this on a claim still open is from a decision whose outcome was never
# learned (its process died, or its transaction was dropped): another decision may take it over.
DECISION_LEASE = timedelta(minutes=10)


def incident_binding(session: Session, policy: m.Policy) -> bytes:
    """The subject an incident report on this policy is anchored for: the policy's insured subject
    bound to the covered service's id."""
    product = session.get(m.Product, policy.product_id)
    if product is None:
        raise Conflict(f"policy {policy.id}: its product is not projected yet", type="projection_behind")
    return incident_subject(bytes.fromhex(policy.subject[2:]), bytes.fromhex(product.service_id[2:]))


def _check_incident(session: Session, gw: Gateway, policy: m.Policy, report: bytes) -> None:
    status = underwriting_status(gw, report, incident_binding(session, policy))
    if not status.live or status.kind is not ReportKind.INCIDENT:
        raise BadRequest(f"0x{report.hex()} is not the anchor id of a live incident report (standard §8) on this "
                         f"policy's subject and service", type="invalid_incident_report")


def _check_outage(session: Session, gw: Gateway, claim: m.Claim, report: bytes) -> m.AssessmentRecord:
    """The incident report's document is on file, and the outage window it states overlaps an
    episode behind the claim; answers the document."""
    anchor_id = "0x" + report.hex()
    record = claim_view.on_file(session, anchor_id)
    if record is None:
        raise BadRequest(f"{anchor_id}: no incident report document anchored under this id is on file here (build "
                         "it through the API, or wait until its anchoring is projected), so the outage window it "
                         "is about cannot be checked", type="incident_report_not_on_file")
    ctx = claim_view.context(session, gw, claim)
    problem = claim_view.outage_problem(record.report, ctx) if ctx is not None else "its policy is not projected"
    if problem is not None:
        raise BadRequest(f"{anchor_id}: {problem}", type="incident_outside_outage")
    return record


def _open_claim(session: Session, gw: Gateway, indexer: Indexer, claim_id: int) -> tuple[m.Claim, m.Policy]:
    indexer.sync()
    claim = session.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if claim is None:
        raise NotFound(f"no claim {claim_id}")
    if claim.status != "open":
        raise Conflict(f"claim {claim_id} is {claim.status}", type="claim_not_open")
    if gw.now() > claim.deadline:
        raise Conflict(f"claim {claim_id} passed its decision deadline ({claim.deadline}): it is deemed approved "
                       "and paid in full when closed (the payout worker closes it)", type="claim_deadline_passed")
    policy = session.get(m.Policy, claim.policy_id)
    assert policy is not None
    return claim, policy


def _note(claim_id: int, action: str, reason: str | None, amount: int | None, by: str) -> m.ClaimNote | None:
    if reason is None:
        return None
    return m.ClaimNote(claim_id=claim_id, action=action, reason=reason, reason_hash="0x" + keccak(text=reason).hex(),
                       amount=amount, decided_by=by, created_at=m.now())


def _decide(session: Session, gw: Gateway, indexer: Indexer, claim_id: int, fn: Any,
            note: m.ClaimNote | None) -> m.Claim:
    """Sends the decision; the written reason is stored first (so a decision whose outcome is
    unknown keeps it) and dropped again if the chain refuses."""
    if note is not None:
        _hold(session, note)
    try:
        gw.send(fn)
    except ServiceError as exc:
        if note is not None and exc.status < 500:  # refused: drop our note (only ours: we hold the lease)
            session.execute(delete(m.ClaimNote).where(m.ClaimNote.claim_id == claim_id,
                                                      m.ClaimNote.created_at == note.created_at,
                                                      m.ClaimNote.decided_by == note.decided_by))
            session.commit()
        raise
    indexer.sync()
    session.expire_all()
    decided = session.get(m.Claim, claim_id)
    assert decided is not None
    return decided


def _hold(session: Session, note: m.ClaimNote) -> None:
    """Stores the note, unless another decision's note on this open claim is fresh (in flight)."""
    session.add(note)
    try:
        session.commit()
        return
    except IntegrityError:
        session.rollback()
    held = session.get(m.ClaimNote, note.claim_id)
    if held is not None and held.created_at > m.now() - DECISION_LEASE:
        raise Conflict(f"another decision on claim {note.claim_id} is in flight (by key {held.decided_by}); "
                       "read the claim again", type="claim_decision_in_progress")
    if held is not None:
        session.delete(held)
        session.flush()
    session.add(note)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"another decision on claim {note.claim_id} is in flight; read the claim again",
                       type="claim_decision_in_progress") from None


def approve(session: Session, gw: Gateway, indexer: Indexer, claim_id: int, incident_report: bytes,
            amount: int | None, reason: str | None, by: str, *, token_currency: str | None = None,
            token_decimals: int | None = None) -> m.Claim:
    """Pays `amount` (default: the whole claim) against a live incident report bound to the
    policy's insured subject and service, on file, about an outage window of the claim's
    episodes, and at most the report's quantified loss in token units when it is in the payout
    token's currency (`token_currency`, `token_decimals`; claim_view.approval_cap); the rest of
    the claim is declined."""
    claim, policy = _open_claim(session, gw, indexer, claim_id)
    amount = claim.amount if amount is None else amount
    if amount > claim.amount:
        raise BadRequest(f"amount {amount} is more than the claim ({claim.amount})", type="invalid_approval_amount")
    _check_incident(session, gw, policy, incident_report)
    record = _check_outage(session, gw, claim, incident_report)
    cap = claim_view.approval_cap(record.report, claim.amount, token_currency, token_decimals)
    if amount > cap["amount"]:
        raise BadRequest(f"amount {amount} is more than the incident report's quantified loss: {cap['detail']}; "
                         f"approve at most {cap['amount']} (pass `amount`)", type="approval_above_quantified_loss")
    fn = gw.book.functions.approveClaim(claim_id, policy.id, policy_record(policy).as_tuple(), incident_report,
                                        amount)
    return _decide(session, gw, indexer, claim_id, fn, _note(claim_id, "approve", reason, amount, by))


def reject(session: Session, gw: Gateway, indexer: Indexer, claim_id: int, reason: str,
           incident_report: bytes | None, by: str) -> m.Claim:
    """Declines the claim with a written reason (its keccak256 is the on-chain `reason`); an
    incident report is optional, and checked like an approval's when given."""
    _, policy = _open_claim(session, gw, indexer, claim_id)
    if incident_report is not None:
        _check_incident(session, gw, policy, incident_report)
    note = _note(claim_id, "reject", reason, None, by)
    assert note is not None
    fn = gw.book.functions.rejectClaim(claim_id, policy.id, policy_record(policy).as_tuple(),
                                       keccak(text=reason))
    return _decide(session, gw, indexer, claim_id, fn, note)
