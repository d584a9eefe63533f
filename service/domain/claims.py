"""Claim decisions (claims above the auto-pay limit): approved, in full or in part, against an
incident report (standard §8) anchored on-chain for the insured subject and the covered service,
or rejected with a written reason, before the claim's deadline. Undecided past it, a claim lapses
(the payout worker closes it: deemed approved in full and paid)."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from sqlalchemy import delete
from sqlalchemy.orm import Session

from contracts.enums import ReportKind
from contracts.registry import incident_subject
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer, policy_record
from service.db import models as m
from service.domain.anchoring import underwriting_status
from service.errors import BadRequest, Conflict, NotFound, ServiceError


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
                       amount=amount, decided_by=by)


def _decide(session: Session, gw: Gateway, indexer: Indexer, claim_id: int, fn: Any,
            note: m.ClaimNote | None) -> m.Claim:
    """Sends the decision; the written reason is stored first (so a decision whose outcome is
    unknown keeps it) and dropped again if the chain refuses."""
    if note is not None:
        session.merge(note)
        session.commit()
    try:
        gw.send(fn)
    except ServiceError as exc:
        if note is not None and exc.status < 500:
            session.execute(delete(m.ClaimNote).where(m.ClaimNote.claim_id == claim_id))
            session.commit()
        raise
    indexer.sync()
    session.expire_all()
    decided = session.get(m.Claim, claim_id)
    assert decided is not None
    return decided


def approve(session: Session, gw: Gateway, indexer: Indexer, claim_id: int, incident_report: bytes,
            amount: int | None, reason: str | None, by: str) -> m.Claim:
    """Pays `amount` (default: the whole claim) against a live incident report bound to the
    policy's insured subject and service; the rest of the claim is declined."""
    claim, policy = _open_claim(session, gw, indexer, claim_id)
    amount = claim.amount if amount is None else amount
    if amount > claim.amount:
        raise BadRequest(f"amount {amount} is more than the claim ({claim.amount})", type="invalid_approval_amount")
    _check_incident(session, gw, policy, incident_report)
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
