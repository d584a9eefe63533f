"""Policies: issued on-chain from an accepted quote (one, or up to 1,000 per call chunked into
issueBatch transactions), cancelled and renewed (service.domain.lifecycle), read from the event
projection, scoped to the distributor."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from contracts.enums import PolicyStatus
from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, SettingsDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.negotiation import language, wants_json
from service.api.schemas import Address, Out, Page, Strict
from service.assessment.canonical import canonical_bytes
from service.db import models as m
from service.domain import issuance, issue_batches, lifecycle, wording
from service.domain.wording import served as served_schedule

router = APIRouter(prefix="/v1/policies", tags=["policies"])
Issuer = Annotated[Principal, Depends(require("distributor"))]
# The distributor tenant that owns the policy (others do not see it: 404), or the insurer's underwriter.
Manager = Annotated[Principal, Depends(require("distributor", "underwriter"))]
Status = Literal["active", "expired", "cancelled"]
CoverSeconds = Annotated[int, Field(ge=60, le=2**32 - 1)]
HolderRef = Annotated[str, Field(min_length=1, max_length=200)]


class Cover(Strict):
    beneficiary: Address
    holder_ref: HolderRef = Field(description="The distributor's customer reference; only a salted hash goes on-chain")


QuotedCover = Annotated[CoverSeconds | None, Field(description="The quote's cover_seconds, if given (400 "
                                                  "cover_mismatch otherwise): a policy has the cover its quote priced")]


class PolicyIn(Cover):
    quote_id: Annotated[str, Field(max_length=32)]
    cover_seconds: QuotedCover = None


class BatchIn(Strict):
    quote_id: Annotated[str, Field(max_length=32)]
    cover_seconds: QuotedCover = None
    covers: list[Cover] = Field(min_length=1, max_length=1000)


class PolicyPayout(Out):
    amount: int
    entitlement: int = Field(description="The policy's settled entitlement after this payout")
    status: Literal["sent", "credited"] = Field(description="credited: the pool could not transfer it; the "
                                                "beneficiary claims it from CoverPool (claim(to))")
    block: int
    tx: str


class PolicyOut(Out):
    id: int
    product_id: int
    cover_start: int
    cover_end: int
    limit: int
    premium: int = Field(description="What was collected for the policy (token minor units)")
    beneficiary: str
    issuer: str
    holder: str
    subject: str
    report_hash: str
    schedule_hash: str = Field(description="keccak256 of the policy schedule (0x00…00: none)")
    settled: int
    event_settled: int = Field(description="Part of `settled` from excluded-event episodes (sent to review)")
    paid: int
    open_claim: int
    status: Status
    renewal_of: int | None = Field(description="The policy this one renews (no waiting period); null: none")
    renewed_by: int | None = Field(description="The follow-on policy, starting at this one's cover end; null: none")
    refund: int | None = Field(description="Paid to the issuer on cancellation; null: not cancelled")
    released: int | None = Field(description="Collateral released on cancellation; null: not cancelled")
    cancel_tx: str | None
    payouts: list[PolicyPayout] = Field(description="Payouts sent (or credited), oldest first")
    tenant_id: str | None
    holder_ref: str | None
    cover_page: str | None = Field(default=None, description="The holder's cover page (path on this service): "
                                   "send it to the customer; its `ref` is the holder salt, the page's only key")
    tx: str

    @classmethod
    def of_policy(cls, p: m.Policy, owner: m.PolicyOwner | None, payouts: list[m.Payout] | None = None) -> PolicyOut:
        return cls.of(p, status=PolicyStatus(p.status).label, tenant_id=owner.tenant_id if owner else None,
                      holder_ref=owner.holder_ref if owner else None, renewal_of=p.renewal_of or None,
                      cover_page=f"/cover/{p.id}?ref={owner.holder_salt}" if owner else None,
                      renewed_by=p.renewed_by or None, payouts=[PolicyPayout.of(x) for x in payouts or ()])


def _payouts(session: Session, ids: list[int]) -> dict[int, list[m.Payout]]:
    out: dict[int, list[m.Payout]] = {i: [] for i in ids}
    for row in session.scalars(select(m.Payout).where(m.Payout.policy_id.in_(ids))
                               .order_by(m.Payout.block, m.Payout.log_index)):
        out[row.policy_id].append(row)
    return out


def _answer(session: Session, found: lifecycle.Owned) -> PolicyOut:
    return PolicyOut.of_policy(found.policy, found.owner, _payouts(session, [found.policy.id])[found.policy.id])


class CancelIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=5000)] | None = Field(
        None, description="Written reason; kept off-chain")


class RenewIn(Strict):
    product_id: Annotated[int, Field(ge=1, le=2**32 - 1)] | None = Field(
        None, description="Another product of the same covered service; default: the policy's product")
    cover_seconds: CoverSeconds | None = Field(None, description="Length of the follow-on cover; default: the "
                                               "policy's cover length")


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
                                assessor=settings.assessor_name, request_key=idem.scope_key)
        return PolicyOut.of_policy(*issued.policies[0])

    return idem.run(body, work, 201)


class BatchStatus(BaseModel):
    id: str
    status: Literal["sending", "pending", "issued", "partial", "failed"] = Field(
        description="pending: every transaction sent, receipts awaited; then issued, partial (error names the "
                    "first cover not issued) or failed (nothing issued)")
    total: int
    policy_ids: list[int] = Field(description="Issued so far (filled in once the batch ends)")
    error: BatchError | None = None
    status_url: str

    @classmethod
    def of(cls, row: m.IssueBatch) -> BatchStatus:
        return cls(id=row.id, status=row.status, total=row.total, policy_ids=list(row.policy_ids or []),  # type: ignore[arg-type]
                   error=BatchError(**row.error) if row.error else None, status_url=f"/v1/policies/batches/{row.id}")


@router.post("/batch", status_code=202, response_model=BatchStatus | BatchOut,
             responses=responses(400, 404, 409, 502))
def create_batch(body: BatchIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, settings: SettingsDep,
                 principal: Issuer, idem: Idempotent, request: Request,
                 wait: Annotated[bool, Query(description="Answer 201 with the policies once every receipt is in, "
                                                         "instead of 202 with a status to poll once sent")] = False,
                 ) -> JSONResponse:
    """Issue transactions pipelined (`CYBERCOVER_ISSUE_IN_FLIGHT` in flight). By default 202 as
    soon as they are sent, with the batch's status to poll at `status_url`; each cover's
    `policy.issued` webhook reports its issuance. `?wait=true`: 201 with the policies."""
    if wait:
        return idem.run(body, lambda: BatchOut.of_issued(issuance.issue(
            session, gw, indexer, body.quote_id, body.covers, body.cover_seconds, settings.issue_batch,
            may_see=principal.can_see, insurer=settings.insurer_name, assessor=settings.assessor_name,
            in_flight=settings.issue_in_flight, request_key=idem.scope_key)), 201)
    quote = session.get(m.Quote, body.quote_id)
    return idem.run(body, lambda: BatchStatus.of(issue_batches.start(
        request.app.state.factory, gw, indexer, body.quote_id, body.covers, body.cover_seconds, settings.issue_batch,
        tenant_id=quote.tenant_id if quote is not None else None, may_see=principal.can_see,
        insurer=settings.insurer_name, assessor=settings.assessor_name, in_flight=settings.issue_in_flight,
        idempotency_key=idem.scope_key)), 202)


@router.get("/batches/{batch_id}", response_model=BatchStatus, responses=responses(404))
def get_batch(batch_id: str, request: Request, principal: Issuer) -> BatchStatus:
    """A batch's status (its tenant's distributors only; others: 404)."""
    return BatchStatus.of(issue_batches.get(request.app.state.factory, batch_id, principal.can_see))


@router.get("/{policy_id:int}", response_model=PolicyOut)  # not /batch: 405 there, not 422
def get_policy(policy_id: int, session: SessionDep, principal: Anyone) -> PolicyOut:
    return _answer(session, lifecycle.find(session, policy_id, principal.can_see))


@router.post("/{policy_id:int}/cancel", response_model=PolicyOut, responses=responses(400, 404, 409, 502))
def cancel_policy(policy_id: int, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Manager,
                  idem: Idempotent, body: CancelIn | None = None) -> JSONResponse:
    """Refunds the unexpired share of the premium less the product's cancellation fee to the
    issuer and releases the collateral. Refused (409) while an outage of the service is in
    progress or unsettled (`outage_in_progress`), after any payout or claim (`policy_has_payout`),
    at or after cover end (`cover_ended`), and for a policy not active (`policy_not_active`)."""
    body = body or CancelIn()
    return idem.run(body, lambda: _answer(session, lifecycle.cancel(
        session, gw, indexer, policy_id, may_see=principal.can_see, reason=body.reason, by=principal.key_id)))


@router.post("/{policy_id:int}/renew", status_code=201, response_model=PolicyOut,
             responses=responses(400, 404, 409, 502))
def renew_policy(policy_id: int, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, settings: SettingsDep,
                 principal: Manager, idem: Idempotent, body: RenewIn | None = None) -> JSONResponse:
    """Issues the follow-on cover from a fresh quote on the latest live report of the policy's
    subject: it starts at the old cover end, with no waiting period. A declined quote (a High
    level, no rate for the level) is 409 `renewal_declined` with its reason; a policy renewed
    before is 409 `already_renewed`."""
    body = body or RenewIn()
    return idem.run(body, lambda: _answer(session, lifecycle.renew(
        session, gw, indexer, policy_id, may_see=principal.can_see, product_id=body.product_id,
        cover_seconds=body.cover_seconds, insurer=settings.insurer_name, assessor=settings.assessor_name)), 201)


def _search(text: str) -> Any:
    """A policy whose id is `text`, whose beneficiary is the address `text`, or whose holder
    reference contains it (case-insensitive; LIKE's wildcards are taken literally)."""
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: list[Any] = [func.lower(m.PolicyOwner.holder_ref).like(like, escape="\\")]
    if text.isdigit() and len(text) <= 18:
        found.append(m.Policy.id == int(text))
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        found.append(m.Policy.beneficiary == to_checksum_address(text))
    return or_(*found)


@router.get("", response_model=Page[PolicyOut])
def list_policies(session: SessionDep, principal: Anyone,
                  product_id: Annotated[int | None, Query(ge=0, le=2**32 - 1)] = None,
                  status: Status | None = None,
                  beneficiary: Address | None = None,
                  q: Annotated[str | None, Query(min_length=1, max_length=200, description=(
                      "Search: the policy id, a beneficiary address, or part of the holder reference "
                      "(case-insensitive)"))] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[PolicyOut]:
    query = select(m.Policy, m.PolicyOwner).outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
    query = principal.scope(query, m.PolicyOwner.tenant_id)
    if product_id is not None:
        query = query.where(m.Policy.product_id == product_id)
    if status is not None:
        query = query.where(m.Policy.status == PolicyStatus.of(status))
    if beneficiary is not None:
        query = query.where(m.Policy.beneficiary == beneficiary)
    if q is not None:
        query = query.where(_search(q.strip()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(m.Policy.id).limit(limit).offset(offset)).all()
    payouts = _payouts(session, [p.id for p, _ in rows])
    return Page[PolicyOut](items=[PolicyOut.of_policy(p, o, payouts[p.id]) for p, o in rows], total=total,
                           limit=limit, offset=offset)



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
