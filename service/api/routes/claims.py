"""Claims above the auto-pay limit, listed for review and decided (service.domain.claims), and
the payouts ledger, with payouts the pool could not transfer shown as credited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eth_utils import decode_hex
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Hex32, Out, Strict
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain import claims, exclusions
from service.errors import NotFound

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


class ExcludedEventRef(Out):
    service_id: str
    index: int
    start: int
    end: int
    reason: str | None = Field(description="The event's public statement (null: declared outside this service)")
    reason_hash: str
    declared_at: int


class ClaimOut(Out):
    id: int
    policy_id: int
    amount: int
    entitlement: int
    status: ClaimStatus
    review_reason: Literal["above_auto_pay_limit", "excluded_event"] = Field(
        description="Why it is in review (on-chain): entitlement above the auto-pay limit, or from an outage "
                    "inside a declared excluded event (never auto-paid)")
    deadline: int = Field(description="Unix time after which an undecided claim lapses: paid in full")
    approved: int | None = Field(description="Paid on approval (≤ amount) or lapse")
    declined: int | None = Field(description="The part not paid: amount − approved, or all of a rejected claim")
    incident_report: str | None
    reason: str | None = Field(description="The written reason of the decision, if one was given")
    reason_hash: str | None = Field(description="keccak256 of the rejection's reason, as recorded on-chain")
    excluded_event: ExcludedEventRef | None = Field(
        description="The declared excluded event an episode of the cover overlapped (its entitlement is never "
                    "auto-paid: it is in review), with its period and reason text; null: none")

    @classmethod
    def of_claim(cls, c: m.Claim, note: m.ClaimNote | None, event: dict[str, Any] | None = None) -> ClaimOut:
        declined = c.amount - c.approved if c.approved is not None else c.amount if c.status == "rejected" else None
        return cls.of(c, declined=declined, reason=note.reason if note is not None else None,
                      review_reason=c.reason, excluded_event=event)


class PayoutOut(Out):
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


def _scope(q: Any, principal: Principal, policy_col: Any) -> Any:
    """Claims and payouts belong to the tenant that issued their policy."""
    return principal.scope(q.outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == policy_col),
                           m.PolicyOwner.tenant_id)


@router.get("/claims", response_model=list[ClaimOut])
def list_claims(session: SessionDep, gw: GatewayDep, principal: Anyone, status: ClaimStatus | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[ClaimOut]:
    q = _scope(select(m.Claim, m.ClaimNote), principal, m.Claim.policy_id).outerjoin(
        m.ClaimNote, m.ClaimNote.claim_id == m.Claim.id)
    if status is not None:
        q = q.where(m.Claim.status == status)
    params = gw.episode_params()
    return [ClaimOut.of_claim(c, n, exclusions.claim_event(session, c, *params))
            for c, n in session.execute(q.order_by(m.Claim.id).limit(limit).offset(offset))]


@router.get("/claims/{claim_id}", response_model=ClaimOut)
def get_claim(claim_id: int, session: SessionDep, gw: GatewayDep, principal: Anyone) -> ClaimOut:
    c = session.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if c is None or not _owned(session, principal, c.policy_id):
        raise NotFound(f"no claim {claim_id}")
    return _answer(session, gw, c)


def _answer(session: Session, gw: Gateway, claim: m.Claim) -> ClaimOut:
    return ClaimOut.of_claim(claim, session.get(m.ClaimNote, claim.id),
                             exclusions.claim_event(session, claim, *gw.episode_params()))


@router.post("/claims/{claim_id}/approve", response_model=ClaimOut, responses=responses(400, 409, 502))
def approve_claim(claim_id: int, body: Approval, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                  principal: Reviewer, idem: Idempotent) -> JSONResponse:
    """Pays `amount` (default: the whole claim) against a live incident report bound to the
    policy's insured subject and service; the rest of the claim is declined."""
    return idem.run(body, lambda: _answer(session, gw, claims.approve(
        session, gw, indexer, claim_id, decode_hex(body.incident_report), body.amount, body.reason, principal.key_id)))


@router.post("/claims/{claim_id}/reject", response_model=ClaimOut, responses=responses(400, 409, 502))
def reject_claim(claim_id: int, body: Rejection, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                 principal: Reviewer, idem: Idempotent) -> JSONResponse:
    """Declines the claim with a written reason (its keccak256 is the on-chain `reason`); no
    incident report is needed."""
    report = decode_hex(body.incident_report) if body.incident_report is not None else None
    return idem.run(body, lambda: _answer(session, gw, claims.reject(
        session, gw, indexer, claim_id, body.reason, report, principal.key_id)))


@router.get("/payouts", response_model=list[PayoutOut])
def list_payouts(session: SessionDep, principal: Anyone,
                 policy_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                 status: Literal["sent", "credited"] | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[PayoutOut]:
    q = _scope(select(m.Payout), principal, m.Payout.policy_id)
    if policy_id is not None:
        q = q.where(m.Payout.policy_id == policy_id)
    if status is not None:
        q = q.where(m.Payout.status == status)
    rows = session.scalars(q.order_by(m.Payout.block, m.Payout.log_index).limit(limit).offset(offset))
    return [PayoutOut.of(p) for p in rows]
