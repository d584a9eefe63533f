"""Policies: issued on-chain from an accepted quote (one, or up to 1,000 per call chunked into
issueBatch transactions), read from the event projection, scoped to the distributor."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from eth_utils import keccak
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from contracts.enums import PolicyStatus
from service.api import idempotency
from service.api.deps import Anyone, FactoryDep, GatewayDep, IndexerDep, Principal, SessionDep, SettingsDep, require
from service.api.schemas import Address, Page, Strict, hx
from service.assessment import anchor_fields
from service.assessment.anchoring import report_anchor_id
from service.chain.gateway import Gateway
from service.db import models as m
from service.db.session import transaction
from service.errors import BadRequest, Conflict, NotFound, ServiceError

router = APIRouter(prefix="/v1/policies", tags=["policies"])
Issuer = Annotated[Principal, Depends(require("distributor"))]
CoverSeconds = Annotated[int, Field(ge=60, le=10 * 366 * 86400)]
HolderRef = Annotated[str, Field(min_length=1, max_length=200)]


class Cover(Strict):
    beneficiary: Address
    holder_ref: HolderRef = Field(description="The distributor's customer reference; only a salted hash goes on-chain")


class PolicyIn(Cover):
    quote_id: Annotated[str, Field(max_length=32)]
    cover_seconds: CoverSeconds = 30 * 86400


class BatchIn(Strict):
    quote_id: Annotated[str, Field(max_length=32)]
    cover_seconds: CoverSeconds = 30 * 86400
    covers: list[Cover] = Field(min_length=1, max_length=1000)


class PolicyOut(BaseModel):
    id: int
    product_id: int
    cover_start: int
    cover_end: int
    limit: int
    premium: int
    beneficiary: str
    issuer: str
    holder: str
    subject: str
    report_hash: str
    settled: int
    paid: int
    open_claim: int
    status: Literal["active", "expired"]
    tenant_id: str | None
    holder_ref: str | None
    tx: str


def out(p: m.Policy, owner: m.PolicyOwner | None) -> dict[str, Any]:
    return {"id": p.id, "product_id": p.product_id, "cover_start": p.cover_start, "cover_end": p.cover_end,
            "limit": p.limit, "premium": p.premium, "beneficiary": p.beneficiary, "issuer": p.issuer,
            "holder": p.holder, "subject": p.subject, "report_hash": p.report_hash, "settled": p.settled,
            "paid": p.paid, "open_claim": p.open_claim,
            "status": PolicyStatus(p.status).label, "tenant_id": owner.tenant_id if owner else None,
            "holder_ref": owner.holder_ref if owner else None, "tx": p.tx}


def _offer(session: Session, principal: Principal, quote_id: str) -> m.Quote:
    q = session.get(m.Quote, quote_id)
    if q is None or not principal.can_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    if q.decision != "offer":
        raise Conflict(f"quote {quote_id} was declined: {q.reason}", type="quote_declined")
    return q


class BatchError(BaseModel):
    type: str
    detail: str
    not_issued_from: int  # index in `covers` of the first cover not issued


class BatchOut(BaseModel):
    policies: list[PolicyOut]
    error: BatchError | None = None


def issue(gw: Gateway, factory: Any, indexer: Any, quote: m.Quote, covers: list[Cover], cover_seconds: int,
          chunk: int) -> tuple[list[dict[str, Any]], BatchError | None]:
    """Sends the covers in chunks; records the owner of every issued id; returns the policies.
    A chunk that fails after earlier ones were issued ends the call with what was issued and
    the error (raising would hide money that moved); a failing first chunk raises."""
    if quote.max_cover_seconds is not None and cover_seconds > quote.max_cover_seconds:
        raise BadRequest(f"cover_seconds {cover_seconds} is longer than this quote allows "
                         f"({quote.max_cover_seconds} s: the product's maximum cover, or its premium floor)",
                         type="cover_too_long")
    end = gw.now() + cover_seconds
    with factory() as s:  # the book takes the report's anchor id (it commits to the assessor)
        record = s.get(m.AssessmentRecord, quote.assessment_id)
        assert record is not None
        report_id = report_anchor_id(record.report)
        subject = anchor_fields(record.report)["subject"]  # the insured the report was anchored for
    issued: list[int] = []
    salts = [secrets.token_bytes(32) for _ in covers]
    error: BatchError | None = None
    for i in range(0, len(covers), chunk):
        terms = [(quote.product_id, 0, end, quote.limit, quote.premium, c.beneficiary,
                  keccak(salt + c.holder_ref.encode()), subject, report_id)
                 for c, salt in zip(covers[i:i + chunk], salts[i:i + chunk], strict=True)]
        fn = gw.book.functions.issue(terms[0]) if len(terms) == 1 else gw.book.functions.issueBatch(terms)
        try:
            receipt = gw.send(fn)
        except ServiceError as exc:
            if not issued:
                raise
            error = BatchError(type=exc.type, detail=exc.detail, not_issued_from=i)
            break
        ids = [int(e["args"]["policyId"]) for e in gw.book.events.PolicyIssued().process_receipt(receipt,
                                                                                               errors=DISCARD)]
        with transaction(factory) as s:  # owners are committed per chunk: that money has moved
            for pid, c, salt in zip(ids, covers[i:i + chunk], salts[i:i + chunk], strict=True):
                s.add(m.PolicyOwner(policy_id=pid, tenant_id=quote.tenant_id, quote_id=quote.id,
                                    holder_ref=c.holder_ref, holder_salt=hx(salt)))
        issued.extend(ids)
    indexer.sync()
    with factory() as s:
        rows = s.scalars(select(m.Policy).where(m.Policy.id.in_(issued)).order_by(m.Policy.id)).all()
        return [out(p, s.get(m.PolicyOwner, p.id)) for p in rows], error


@router.post("", status_code=201, response_model=PolicyOut)
def create_policy(body: PolicyIn, request: Request, session: SessionDep, factory: FactoryDep, gw: GatewayDep,
                  indexer: IndexerDep, principal: Issuer,
                  idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    def work() -> tuple[int, Any]:
        quote = _offer(session, principal, body.quote_id)
        cover = Cover(beneficiary=body.beneficiary, holder_ref=body.holder_ref)
        return 201, issue(gw, factory, indexer, quote, [cover], body.cover_seconds, 1)[0][0]

    return idempotency.run(factory, principal, idempotency_key, request, body, work)


@router.post("/batch", status_code=201, response_model=BatchOut)
def create_batch(body: BatchIn, request: Request, session: SessionDep, factory: FactoryDep, gw: GatewayDep,
                 indexer: IndexerDep, settings: SettingsDep, principal: Issuer,
                 idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    def work() -> tuple[int, Any]:
        quote = _offer(session, principal, body.quote_id)
        policies, error = issue(gw, factory, indexer, quote, body.covers, body.cover_seconds, settings.issue_batch)
        return 201, BatchOut(policies=policies, error=error)

    return idempotency.run(factory, principal, idempotency_key, request, body, work)


@router.get("/{policy_id}", response_model=PolicyOut)
def get_policy(policy_id: int, session: SessionDep, principal: Anyone) -> dict[str, Any]:
    p = session.get(m.Policy, policy_id) if 0 <= policy_id < 2**63 else None
    owner = session.get(m.PolicyOwner, policy_id) if p is not None else None
    if p is None or not principal.can_see(owner.tenant_id if owner else None):
        raise NotFound(f"no policy {policy_id}")
    return out(p, owner)


@router.get("", response_model=Page[PolicyOut])
def list_policies(session: SessionDep, principal: Anyone,
                  product_id: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
                  status: Literal["active", "expired"] | None = None,
                  beneficiary: Address | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict[str, Any]:
    q = select(m.Policy, m.PolicyOwner).outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
    q = principal.scope(q, m.PolicyOwner.tenant_id)
    if product_id is not None:
        q = q.where(m.Policy.product_id == product_id)
    if status is not None:
        q = q.where(m.Policy.status == PolicyStatus.of(status))
    if beneficiary is not None:
        q = q.where(m.Policy.beneficiary == beneficiary)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(q.order_by(m.Policy.id).limit(limit).offset(offset)).all()
    return {"items": [out(p, o) for p, o in rows], "total": total, "limit": limit, "offset": offset}
