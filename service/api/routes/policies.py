"""Policies: issued on-chain from an accepted quote (one, or up to 1,000 per call chunked into
issueBatch transactions), read from the event projection, scoped to the distributor."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from contracts.enums import PolicyStatus
from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, SettingsDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.negotiation import language, wants_json
from service.api.schemas import Address, Out, Page, Strict
from service.assessment.canonical import canonical_bytes
from service.db import models as m
from service.domain import issuance, wording
from service.domain.wording import served as served_schedule
from service.errors import NotFound

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


class PolicyOut(Out):
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

    @classmethod
    def of_policy(cls, p: m.Policy, owner: m.PolicyOwner | None) -> PolicyOut:
        return cls.of(p, status=PolicyStatus(p.status).label, tenant_id=owner.tenant_id if owner else None,
                      holder_ref=owner.holder_ref if owner else None)


class BatchError(Out):
    type: str
    detail: str
    not_issued_from: int  # index in `covers` of the first cover not issued


class BatchOut(BaseModel):
    policies: list[PolicyOut]
    error: BatchError | None = None

    @classmethod
    def of_issued(cls, issued: issuance.Issued) -> BatchOut:
        return cls(policies=[PolicyOut.of_policy(p, o) for p, o in issued.policies],
                   error=BatchError.of(issued.error) if issued.error is not None else None)


@router.post("", status_code=201, response_model=PolicyOut, responses=responses(400, 404, 409, 502))
def create_policy(body: PolicyIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, settings: SettingsDep,
                  principal: Issuer, idem: Idempotent) -> JSONResponse:
    def work() -> PolicyOut:
        issued = issuance.issue(session, gw, indexer, body.quote_id, [body], body.cover_seconds, 1,
                                may_see=principal.can_see, insurer=settings.insurer_name,
                                assessor=settings.assessor_name)
        return PolicyOut.of_policy(*issued.policies[0])

    return idem.run(body, work, 201)


@router.post("/batch", status_code=201, response_model=BatchOut, responses=responses(400, 404, 409, 502))
def create_batch(body: BatchIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, settings: SettingsDep,
                 principal: Issuer, idem: Idempotent) -> JSONResponse:
    return idem.run(body, lambda: BatchOut.of_issued(issuance.issue(
        session, gw, indexer, body.quote_id, body.covers, body.cover_seconds, settings.issue_batch,
        may_see=principal.can_see, insurer=settings.insurer_name, assessor=settings.assessor_name)), 201)


@router.get("/{policy_id:int}", response_model=PolicyOut)  # not /batch: 405 there, not 422
def get_policy(policy_id: int, session: SessionDep, principal: Anyone) -> PolicyOut:
    p = session.get(m.Policy, policy_id) if 0 <= policy_id < 2**63 else None
    owner = session.get(m.PolicyOwner, policy_id) if p is not None else None
    if p is None or not principal.can_see(owner.tenant_id if owner else None):
        raise NotFound(f"no policy {policy_id}")
    return PolicyOut.of_policy(p, owner)


@router.get("", response_model=Page[PolicyOut])
def list_policies(session: SessionDep, principal: Anyone,
                  product_id: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
                  status: Literal["active", "expired"] | None = None,
                  beneficiary: Address | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[PolicyOut]:
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
    return Page[PolicyOut](items=[PolicyOut.of_policy(p, o) for p, o in rows], total=total, limit=limit, offset=offset)


_SCHEDULE_JSON = {"type": "object", "description": "The schedule exactly as hashed: RFC 8785 bytes, whose keccak256 "
                  "is the record's scheduleHash", "required": ["schema", "product", "cover_start", "cover_end",
                                                              "holder", "beneficiary"]}
_SCHEDULE_RESPONSES = {200: {"description": "The policy schedule: an HTML page (zh or en), or with "
                             "`Accept: application/json` the hashed JSON document",
                             "content": {"text/html": {"schema": {"type": "string"}},
                                         "application/json": {"schema": _SCHEDULE_JSON}}}}


@router.get("/{policy_id:int}/schedule", response_class=HTMLResponse, responses=_SCHEDULE_RESPONSES)
def get_schedule(policy_id: int, request: Request, session: SessionDep, principal: Anyone,
                 lang: Annotated[Literal["zh", "en"] | None, Query(description="Page language (default: from "
                                                                     "Accept-Language, else en)")] = None) -> Response:
    """The policy wording. Visible to whoever may see the policy."""
    served = served_schedule.stored(session, policy_id, principal.can_see)
    if wants_json(request.headers.get("accept")):
        return Response(canonical_bytes(served.document), media_type="application/json",
                        headers={"Vary": "Accept, Accept-Language"})
    page = wording.render_html(served.document, lang or language(request.headers.get("accept-language")),
                               served.facts)
    return HTMLResponse(page, headers={"Vary": "Accept, Accept-Language",
                                       "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})
