"""Claims above the auto-pay limit: listed for review, approved or rejected on an incident
report anchored on-chain as kind `incident`; and the payouts ledger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

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
    incident_report: Hex32


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
            anchor = gw.registry.functions.anchorOf(unhex(body.incident_report)).call()
            if anchor[1] == 0 or anchor[4] != INCIDENT or anchor[5]:
                raise BadRequest(f"{body.incident_report} is not anchored as a live incident report (standard §8)",
                                 type="invalid_incident_report")
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
