"""Claims above the auto-pay limit: listed for review, approved or rejected on an incident
report anchored on-chain as kind `incident`; and the payouts ledger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.registry import incident_subject
from service.api import idempotency
from service.api.deps import Anyone, FactoryDep, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.schemas import Hex32, Strict, unhex
from service.chain.records import as_tuple
from service.db import models as m
from service.errors import BadRequest, Conflict, NotFound

router = APIRouter(prefix="/v1", tags=["claims"])
Reviewer = Annotated[Principal, Depends(require("claims"))]
INCIDENT = 2  # AssessmentRegistry.ReportKind.Incident


class Decision(Strict):
    incident_report: Hex32 = Field(description="Anchor id of the §8 incident report, anchored for "
                                               "keccak256(abi.encode(insured subject, service id))")


class ClaimOut(BaseModel):
    id: int
    policy_id: int
    amount: int
    entitlement: int
    status: str
    incident_report: str | None


class PayoutOut(BaseModel):
    policy_id: int
    amount: int
    entitlement: int
    block: int
    tx: str


def _owned(session: Session, principal: Principal, policy_id: int) -> bool:
    owner = session.get(m.PolicyOwner, policy_id)
    return principal.can_see(owner.tenant_id if owner else None)


def claim_out(c: m.Claim) -> dict[str, Any]:
    return {"id": c.id, "policy_id": c.policy_id, "amount": c.amount, "entitlement": c.entitlement,
            "status": c.status, "incident_report": c.incident_report}


def _scope(q: Any, principal: Principal, policy_col: Any) -> Any:
    """Claims and payouts belong to the tenant that issued their policy."""
    return principal.scope(q.outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == policy_col),
                           m.PolicyOwner.tenant_id)


@router.get("/claims", response_model=list[ClaimOut])
def list_claims(session: SessionDep, principal: Anyone, status: Literal["open", "approved", "rejected"] | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict[str, Any]]:
    q = _scope(select(m.Claim), principal, m.Claim.policy_id)
    if status is not None:
        q = q.where(m.Claim.status == status)
    return [claim_out(c) for c in session.scalars(q.order_by(m.Claim.id).limit(limit).offset(offset))]


@router.get("/claims/{claim_id}", response_model=ClaimOut)
def get_claim(claim_id: int, session: SessionDep, principal: Anyone) -> dict[str, Any]:
    c = session.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if c is None or not _owned(session, principal, c.policy_id):
        raise NotFound(f"no claim {claim_id}")
    return claim_out(c)


def incident_binding(session: Session, policy: m.Policy) -> bytes:
    """The subject an incident report on this policy is anchored for: the insured subject (that of
    the policy's underwriting report) bound to the covered service's id."""
    underwriting = session.get(m.Anchor, policy.report_hash)
    product = session.get(m.Product, policy.product_id)
    if underwriting is None or product is None:
        raise Conflict(f"policy {policy.id}: its underwriting report or product is not projected yet",
                       type="projection_behind")
    return incident_subject(unhex(underwriting.subject), unhex(product.service_id))


def _decide(action: Literal["approve", "reject"]) -> Any:
    def decide(claim_id: int, body: Decision, request: Request, factory: FactoryDep, gw: GatewayDep,
               indexer: IndexerDep, principal: Reviewer,
               idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
        def work() -> tuple[int, Any]:
            indexer.sync()
            with factory() as s:
                claim = s.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
                if claim is None:
                    raise NotFound(f"no claim {claim_id}")
                if claim.status != "open":
                    raise Conflict(f"claim {claim_id} is {claim.status}", type="claim_not_open")
                policy = s.get(m.Policy, claim.policy_id)
                assert policy is not None
                record = as_tuple(policy)
                subject = incident_binding(s, policy)
            live, _, kind = gw.registry.functions.underwritingStatus(unhex(body.incident_report), subject).call()
            if not live or kind != INCIDENT:
                raise BadRequest(f"{body.incident_report} is not the anchor id of a live incident report (standard "
                                 f"§8) on this policy's subject and service", type="invalid_incident_report")
            fn = getattr(gw.book.functions, f"{action}Claim")(claim_id, claim.policy_id, record,
                                                                unhex(body.incident_report))
            gw.send(fn)
            indexer.sync()
            with factory() as s:
                decided = s.get(m.Claim, claim_id)
                assert decided is not None
                return 200, claim_out(decided)

        return idempotency.run(factory, principal, idempotency_key, request, body, work)

    decide.__name__ = f"{action}_claim"
    return decide


router.post("/claims/{claim_id}/approve", response_model=ClaimOut)(_decide("approve"))
router.post("/claims/{claim_id}/reject", response_model=ClaimOut)(_decide("reject"))


@router.get("/payouts", response_model=list[PayoutOut])
def list_payouts(session: SessionDep, principal: Anyone,
                 policy_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[dict[str, Any]]:
    q = _scope(select(m.Payout), principal, m.Payout.policy_id)
    if policy_id is not None:
        q = q.where(m.Payout.policy_id == policy_id)
    rows = session.scalars(q.order_by(m.Payout.block, m.Payout.log_index).limit(limit).offset(offset))
    return [{"policy_id": p.policy_id, "amount": p.amount, "entitlement": p.entitlement, "block": p.block,
             "tx": p.tx} for p in rows]
