"""Claims above the auto-pay limit: listed for review and decided before their deadline —
approved (in full or in part) against an incident report anchored on-chain for the insured
subject and the covered service, or rejected with a written reason — or, undecided past the
deadline, lapsed (deemed approved in full and paid; the payout worker closes them). And the
payouts ledger, with payouts the pool could not transfer shown as credited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eth_utils import keccak
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contracts.enums import ReportKind
from contracts.records import PolicyRecord, UnderwritingStatus
from contracts.registry import incident_subject
from service.api import idempotency
from service.api.deps import Anyone, FactoryDep, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.schemas import Hex32, Strict, hx, unhex
from service.chain.gateway import Gateway
from service.db import models as m
from service.db.session import transaction
from service.errors import BadRequest, Conflict, NotFound, ServiceError

router = APIRouter(prefix="/v1", tags=["claims"])
Reviewer = Annotated[Principal, Depends(require("claims"))]
Reason = Annotated[str, Field(min_length=1, max_length=5000)]
ClaimStatus = Literal["open", "approved", "rejected", "lapsed"]


class Approval(Strict):
    incident_report: Hex32 = Field(description="Anchor id of the §8 incident report, anchored for "
                                               "keccak256(abi.encode(insured subject, service id))")
    amount: Annotated[int, Field(ge=1, le=2**96 - 1)] | None = Field(
        None, description="Amount to approve and pay, at most the claim (the rest is declined); default: all of it")
    reason: Reason | None = Field(None, description="Written reason (e.g. for a partial approval); kept off-chain")


class Rejection(Strict):
    reason: Reason = Field(description="Written reason; its keccak256 goes on-chain, the text is kept here")
    incident_report: Hex32 | None = Field(None, description="Optional: an incident report the decision relies "
                                          "on; checked like an approval's when given")


class ClaimOut(BaseModel):
    id: int
    policy_id: int
    amount: int
    entitlement: int
    status: ClaimStatus
    deadline: int = Field(description="Unix time after which an undecided claim lapses: paid in full")
    approved: int | None = Field(description="Paid on approval (≤ amount) or lapse")
    declined: int | None = Field(description="The part not paid: amount − approved, or all of a rejected claim")
    incident_report: str | None
    reason: str | None = Field(description="The written reason of the decision, if one was given")
    reason_hash: str | None = Field(description="keccak256 of the rejection's reason, as recorded on-chain")


class PayoutOut(BaseModel):
    policy_id: int
    beneficiary: str
    amount: int
    entitlement: int
    status: Literal["sent", "credited"] = Field(description="credited: the pool could not transfer it; the "
                                                "beneficiary claims it from CoverPool (claim(to))")
    block: int
    tx: str


def _owned(session: Session, principal: Principal, policy_id: int) -> bool:
    owner = session.get(m.PolicyOwner, policy_id)
    return principal.can_see(owner.tenant_id if owner else None)


def claim_out(c: m.Claim, note: m.ClaimNote | None) -> dict[str, Any]:
    declined = (c.amount - c.approved if c.approved is not None else c.amount if c.status == "rejected" else None)
    return {"id": c.id, "policy_id": c.policy_id, "amount": c.amount, "entitlement": c.entitlement,
            "status": c.status, "deadline": c.deadline, "approved": c.approved, "declined": declined,
            "incident_report": c.incident_report, "reason": note.reason if note is not None else None,
            "reason_hash": c.reason_hash}


def _scope(q: Any, principal: Principal, policy_col: Any) -> Any:
    """Claims and payouts belong to the tenant that issued their policy."""
    return principal.scope(q.outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == policy_col),
                           m.PolicyOwner.tenant_id)


@router.get("/claims", response_model=list[ClaimOut])
def list_claims(session: SessionDep, principal: Anyone, status: ClaimStatus | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict[str, Any]]:
    q = _scope(select(m.Claim, m.ClaimNote), principal, m.Claim.policy_id).outerjoin(
        m.ClaimNote, m.ClaimNote.claim_id == m.Claim.id)
    if status is not None:
        q = q.where(m.Claim.status == status)
    return [claim_out(c, n) for c, n in session.execute(q.order_by(m.Claim.id).limit(limit).offset(offset))]


@router.get("/claims/{claim_id}", response_model=ClaimOut)
def get_claim(claim_id: int, session: SessionDep, principal: Anyone) -> dict[str, Any]:
    c = session.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if c is None or not _owned(session, principal, c.policy_id):
        raise NotFound(f"no claim {claim_id}")
    return claim_out(c, session.get(m.ClaimNote, claim_id))


def incident_binding(session: Session, policy: m.Policy) -> bytes:
    """The subject an incident report on this policy is anchored for: the policy's insured subject
    bound to the covered service's id."""
    product = session.get(m.Product, policy.product_id)
    if product is None:
        raise Conflict(f"policy {policy.id}: its product is not projected yet", type="projection_behind")
    return incident_subject(unhex(policy.subject), unhex(product.service_id))


def _check_incident(gw: Gateway, report: str, subject: bytes) -> None:
    status = UnderwritingStatus.decode(gw.registry.functions.underwritingStatus(unhex(report), subject).call())
    if not status.live or status.kind is not ReportKind.INCIDENT:
        raise BadRequest(f"{report} is not the anchor id of a live incident report (standard §8) on this "
                         f"policy's subject and service", type="invalid_incident_report")


def _open_claim(s: Session, gw: Gateway, claim_id: int) -> tuple[m.Claim, m.Policy]:
    claim = s.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if claim is None:
        raise NotFound(f"no claim {claim_id}")
    if claim.status != "open":
        raise Conflict(f"claim {claim_id} is {claim.status}", type="claim_not_open")
    if gw.now() > claim.deadline:
        raise Conflict(f"claim {claim_id} passed its decision deadline ({claim.deadline}): it is deemed approved "
                       "and paid in full when closed (the payout worker closes it)", type="claim_deadline_passed")
    policy = s.get(m.Policy, claim.policy_id)
    assert policy is not None
    return claim, policy


def _decide(factory: Any, gw: Gateway, indexer: Any, principal: Principal, claim_id: int, fn: Any,
            note: m.ClaimNote | None) -> tuple[int, Any]:
    """Sends the decision; the written reason is stored first (so a decision whose outcome is
    unknown keeps it) and dropped again if the chain refuses."""
    if note is not None:
        with transaction(factory) as s:
            s.merge(note)
    try:
        gw.send(fn)
    except ServiceError as exc:
        if note is not None and exc.status < 500:
            with transaction(factory) as s:
                s.execute(delete(m.ClaimNote).where(m.ClaimNote.claim_id == claim_id))
        raise
    indexer.sync()
    with factory() as s:
        decided = s.get(m.Claim, claim_id)
        assert decided is not None
        return 200, claim_out(decided, s.get(m.ClaimNote, claim_id))


def _note(claim_id: int, action: str, reason: str | None, amount: int | None,
          principal: Principal) -> m.ClaimNote | None:
    if reason is None:
        return None
    return m.ClaimNote(claim_id=claim_id, action=action, reason=reason, reason_hash=hx(keccak(text=reason)),
                       amount=amount, decided_by=principal.key_id)


@router.post("/claims/{claim_id}/approve", response_model=ClaimOut)
def approve_claim(claim_id: int, body: Approval, request: Request, factory: FactoryDep, gw: GatewayDep,
                  indexer: IndexerDep, principal: Reviewer,
                  idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Pays `amount` (default: the whole claim) against a live incident report bound to the
    policy's insured subject and service; the rest of the claim is declined."""
    def work() -> tuple[int, Any]:
        indexer.sync()
        with factory() as s:
            claim, policy = _open_claim(s, gw, claim_id)
            amount = claim.amount if body.amount is None else body.amount
            if amount > claim.amount:
                raise BadRequest(f"amount {amount} is more than the claim ({claim.amount})",
                                 type="invalid_approval_amount")
            record, subject, policy_id = PolicyRecord.of(policy).as_tuple(), incident_binding(s, policy), policy.id
        _check_incident(gw, body.incident_report, subject)
        fn = gw.book.functions.approveClaim(claim_id, policy_id, record, unhex(body.incident_report), amount)
        return _decide(factory, gw, indexer, principal, claim_id, fn,
                       _note(claim_id, "approve", body.reason, amount, principal))

    return idempotency.run(factory, principal, idempotency_key, request, body, work)


@router.post("/claims/{claim_id}/reject", response_model=ClaimOut)
def reject_claim(claim_id: int, body: Rejection, request: Request, factory: FactoryDep, gw: GatewayDep,
                 indexer: IndexerDep, principal: Reviewer,
                 idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    """Declines the claim with a written reason (its keccak256 is the on-chain `reason`); no
    incident report is needed."""
    def work() -> tuple[int, Any]:
        indexer.sync()
        with factory() as s:
            claim, policy = _open_claim(s, gw, claim_id)
            record, policy_id = PolicyRecord.of(policy).as_tuple(), policy.id
            subject = incident_binding(s, policy) if body.incident_report is not None else b""
        if body.incident_report is not None:
            _check_incident(gw, body.incident_report, subject)
        note = _note(claim_id, "reject", body.reason, None, principal)
        assert note is not None
        fn = gw.book.functions.rejectClaim(claim_id, policy_id, record, unhex(note.reason_hash))
        return _decide(factory, gw, indexer, principal, claim_id, fn, note)

    return idempotency.run(factory, principal, idempotency_key, request, body, work)


@router.get("/payouts", response_model=list[PayoutOut])
def list_payouts(session: SessionDep, principal: Anyone,
                 policy_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                 status: Literal["sent", "credited"] | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict[str, Any]]:
    q = _scope(select(m.Payout), principal, m.Payout.policy_id)
    if policy_id is not None:
        q = q.where(m.Payout.policy_id == policy_id)
    if status is not None:
        q = q.where(m.Payout.status == status)
    rows = session.scalars(q.order_by(m.Payout.block, m.Payout.log_index).limit(limit).offset(offset))
    return [{"policy_id": p.policy_id, "beneficiary": p.beneficiary, "amount": p.amount,
             "entitlement": p.entitlement, "status": p.status, "block": p.block, "tx": p.tx} for p in rows]
