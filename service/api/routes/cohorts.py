"""Group covers (cohorts): one cover for many customers, issued on-chain as a Merkle root
(CohortBook), with the cohort file (leaves and tree) kept here and each customer's leaf, proof
and payouts served by `GET /v1/cohorts/{id}/members/{ref}`. Tenancy as policies: a distributor
sees and changes its own tenant's cohorts; insurer staff read all."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Address, Out, Strict
from service.chain.cohort_events import owed
from service.db import models as m
from service.domain import cohort_files, underwriting
from service.domain import cohorts as domain
from service.domain.cohort_files import Customer
from service.errors import BadRequest

router = APIRouter(prefix="/v1/cohorts", tags=["cohorts"])
Issuer = Annotated[Principal, Depends(require("distributor"))]
# uint64 on-chain; the projection's BIGINT (signed 64-bit) bounds what a cohort id can be here.
CohortId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Ref = Annotated[str, Path(min_length=1, max_length=200)]
MAX_JSON = cohort_files.MAX_MEMBERS


class CustomerIn(Strict):
    ref: Annotated[str, Field(min_length=1, max_length=200, description="The distributor's customer reference; "
                              "only a salted hash of it goes on-chain (the leaf's holder)")]
    beneficiary: Address
    limit: Annotated[int, Field(ge=1, le=2**96 - 1, description="This customer's limit (token minor units)")]


class CohortIn(Strict):
    assessment_id: Annotated[str, Field(min_length=1, max_length=32)]
    product_id: Annotated[int, Field(ge=1, le=2**32 - 1)]
    cover_seconds: Annotated[int, Field(ge=60, le=2**32 - 1)] | None = Field(
        None, description="Cover length; default 30 days (at most the product's max_cover_seconds)")
    customers: list[CustomerIn] = Field(min_length=1, max_length=MAX_JSON)


class MembersIn(Strict):
    customers: list[CustomerIn] = Field(min_length=1, max_length=MAX_JSON)


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic schema with its $defs inlined (an OpenAPI request body cannot point into them)."""
    defs = schema.pop("$defs", {})

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            if "$ref" in x and x["$ref"].startswith("#/$defs/"):
                return walk(dict(defs[x["$ref"].split("/")[-1]]))
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(schema)  # type: ignore[no-any-return]


_CSV = {"type": "string", "description": "CSV with the header `ref,beneficiary,limit`, one customer a row; "
        "the terms (assessment_id, product_id, cover_seconds) in the query"}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": _inline(model.model_json_schema())},
        "text/csv": {"schema": _CSV}}}}


def _customers(raw: bytes) -> list[Customer]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the CSV is not UTF-8", type="bad_cohort_row") from None
    return cohort_files.parse_csv(text)


async def _read(request: Request, model: type[BaseModel]) -> tuple[str, Any]:
    """('json', the validated model) or ('csv', the raw bytes); else 422."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if kind == "text/csv":
        return "csv", raw
    if kind not in ("application/json", ""):
        raise RequestValidationError([{"type": "unsupported_media_type", "loc": ("header", "content-type"),
                                       "msg": f"send application/json or text/csv, not {kind!r}"}])
    try:
        return "json", model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors()]) from None


def _from_json(customers: list[CustomerIn]) -> list[Customer]:
    return cohort_files.from_rows((f"customers[{i}]", c.ref, c.beneficiary, c.limit) for i, c in enumerate(customers))


class Upload(BaseModel):
    """A new cohort's request, from JSON or CSV (then its terms come from the query)."""

    assessment_id: str
    product_id: int
    cover_seconds: int | None
    customers: list[tuple[str, str, int]]  # (ref, beneficiary, limit): what makes a retry the same request

    def parsed(self) -> list[Customer]:
        return [Customer(*c) for c in self.customers]


async def cohort_upload(
    request: Request,
    assessment_id: Annotated[str | None, Query(min_length=1, max_length=32, description="text/csv only")] = None,
    product_id: Annotated[int | None, Query(ge=1, le=2**32 - 1, description="text/csv only")] = None,
    cover_seconds: Annotated[int | None, Query(ge=60, le=2**32 - 1, description="text/csv only")] = None,
) -> Upload:
    kind, got = await _read(request, CohortIn)
    if kind == "json":
        customers = _from_json(got.customers)
        assessment_id, product_id, cover_seconds = got.assessment_id, got.product_id, got.cover_seconds
    else:
        if assessment_id is None or product_id is None:
            raise BadRequest("a CSV upload takes assessment_id and product_id (and cover_seconds) in the query",
                             type="bad_request")
        customers = _customers(got)
    return Upload(assessment_id=assessment_id, product_id=product_id, cover_seconds=cover_seconds,
                  customers=[(c.ref, c.beneficiary, c.limit) for c in customers])


async def members_upload(request: Request) -> list[Customer]:
    kind, got = await _read(request, MembersIn)
    return _from_json(got.customers) if kind == "json" else _customers(got)


class SegmentOut(Out):
    segment: int
    root: str
    count: int
    total_limit: int
    premium: int
    start: int | None = Field(description="When its cover began (chain time); null: not projected yet")
    rounds: int = Field(description="Settlement rounds opened")
    levels: list[int] = Field(description="Each member's level per round, E_1 … E_r (min(limit, E_r) in all)")
    status: Literal["pending", "issued", "failed"] = Field(description="The cohort file's state")
    tx: str | None


class CohortOut(Out):
    id: int
    tenant_id: str
    product_id: int
    distributor: str | None
    cover_start: int | None
    cover_end: int
    premium: int
    total_limit: int
    locked: int | None = Field(description="Collateral still locked; null: not projected yet")
    paid: int
    released: int
    refunded: int
    closed: bool
    members: int
    removed: int
    pricing: dict[str, Any] = Field(description="The per-customer rate, as priced (service.domain.pricing)")
    segments: list[SegmentOut]


class MemberPayout(Out):
    round: int
    amount: int
    status: Literal["sent", "credited"] = Field(description="credited: the pool could not transfer it; the "
                                                "beneficiary claims it from CoverPool (claim(to))")
    block: int
    tx: str


class MemberOut(Out):
    cohort_id: int
    ref: str
    segment: int
    index: int = Field(description="The member's position in its segment (its bit in the bitmaps)")
    beneficiary: str
    limit: int
    holder: str = Field(description="keccak256(salt ‖ ref): the commitment in the leaf")
    salt: str = Field(description="Reveals the holder commitment's preimage to whoever may see the member")
    premium: int
    leaf: str = Field(description="keccak256(keccak256(abi.encode(index, beneficiary, limit, holder)))")
    root: str
    proof: list[str] = Field(description="For MerkleProof.verify(proof, root, leaf), and CohortBook.claim")
    removed: bool
    paid: int
    owed: int = Field(description="Opened rounds not paid yet (claimable with CohortBook.claim, or paid by "
                      "the worker)")
    payouts: list[MemberPayout]


def _cohort_out(session: Any, files: list[m.CohortFile]) -> CohortOut:
    first = files[0]
    cid = int(first.cohort_id)  # type: ignore[arg-type]
    c = session.get(m.Cohort, cid)
    segs = {s.segment: s for s in session.scalars(select(m.CohortSegment).where(m.CohortSegment.cohort_id == cid))}
    levels: dict[int, list[int]] = {}
    for r in session.scalars(select(m.CohortRound).where(m.CohortRound.cohort_id == cid).order_by(m.CohortRound.round)):
        levels.setdefault(r.segment, []).append(r.level)
    members, removed = domain.member_count(session, cid)
    out_segs = [SegmentOut(segment=f.segment, root=f.root, count=f.count, total_limit=f.total_limit,
                           premium=f.premium, start=segs[f.segment].start if f.segment in segs else None,
                           rounds=segs[f.segment].rounds if f.segment in segs else 0,
                           levels=levels.get(f.segment, []), status=f.status, tx=f.tx) for f in files]
    return CohortOut(id=cid, tenant_id=first.tenant_id, product_id=first.product_id,
                     distributor=c.distributor if c else None, cover_start=c.cover_start if c else None,
                     cover_end=c.cover_end if c else first.cover_end,
                     premium=c.premium if c else sum(f.premium for f in files),
                     total_limit=c.total_limit if c else sum(f.total_limit for f in files),
                     locked=c.locked if c else None, paid=c.paid if c else 0, released=c.released if c else 0,
                     refunded=c.refunded if c else 0, closed=c.closed if c else False,
                     members=members or sum(f.count for f in files), removed=removed, pricing=first.pricing,
                     segments=out_segs)


def _member_out(session: Any, found: domain.Found) -> MemberOut:
    f, x = found.file, found.member
    cid, seg = int(f.cohort_id), int(f.segment)  # type: ignore[arg-type]
    payouts = domain.payouts_of(session, cid, seg, x.index)
    removed = session.get(m.CohortRemoval, (cid, seg, x.index)) is not None
    paid_rounds = {p.round for p in payouts}
    levels = {0: 0, **{r.round: r.level for r in session.scalars(select(m.CohortRound).where(
        m.CohortRound.cohort_id == cid, m.CohortRound.segment == seg))}}
    due = 0 if removed else sum(owed(x.limit, levels[r], levels.get(r - 1, 0)) for r in levels
                                if r > 0 and r not in paid_rounds)
    return MemberOut(cohort_id=cid, ref=x.ref, segment=seg, index=x.index, beneficiary=x.beneficiary, limit=x.limit,
                     holder=x.holder, salt=x.salt, premium=x.premium, leaf=x.leaf, root=f.root,
                     proof=["0x" + p.hex() for p in domain.proof(f, x)], removed=removed,
                     paid=sum(p.amount for p in payouts), owed=due, payouts=[MemberPayout.of(p) for p in payouts])


@router.post("", status_code=201, response_model=CohortOut, openapi_extra=_body(CohortIn),
             responses=responses(400, 404, 409, 413, 422, 502))
def create_cohort(upload: Annotated[Upload, Depends(cohort_upload)], session: SessionDep, gw: GatewayDep,
                  indexer: IndexerDep, principal: Issuer, idem: Idempotent) -> JSONResponse:
    """Issues one cover for all `customers` (JSON, or CSV `ref,beneficiary,limit` with the terms in
    the query): each priced as a quote would price its limit on the assessment's anchored report,
    the premium their sum, the collateral their total limit, locked at once. A bad row refuses the
    whole file (400 `bad_cohort_row` naming the row); nothing is issued."""
    def work() -> CohortOut:
        cover = (upload.cover_seconds if upload.cover_seconds is not None
                 else min(underwriting.DEFAULT_COVER, _max_cover(session, upload.product_id)))
        f = domain.issue(session, gw, indexer, upload.assessment_id, upload.product_id,
                         upload.parsed(), cover, may_see=principal.can_see)
        return _cohort_out(session, domain.files(session, int(f.cohort_id), principal.can_see))  # type: ignore[arg-type]

    return idem.run(upload, work, 201)


def _max_cover(session: Any, product_id: int) -> int:
    product = session.get(m.Product, product_id)
    return product.max_cover_seconds if product is not None else underwriting.DEFAULT_COVER


@router.get("/{cohort_id}", response_model=CohortOut)
def get_cohort(cohort_id: CohortId, session: SessionDep, principal: Anyone) -> CohortOut:
    return _cohort_out(session, domain.files(session, cohort_id, principal.can_see))


@router.get("/{cohort_id}/members/{ref}", response_model=MemberOut)
def get_member(cohort_id: CohortId, ref: Ref, session: SessionDep, principal: Anyone) -> MemberOut:
    """A customer's leaf, its proof against its segment's root (CohortBook.claim takes it) and payouts."""
    return _member_out(session, domain.member(session, cohort_id, ref, principal.can_see))


@router.post("/{cohort_id}/members", status_code=201, response_model=CohortOut, openapi_extra=_body(MembersIn),
             responses=responses(400, 409, 413, 422, 502))
def add_members(cohort_id: CohortId, customers: Annotated[list[Customer], Depends(members_upload)],
                session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Issuer,
                idem: Idempotent) -> JSONResponse:
    """Adds customers as a new segment (a new root; the earlier roots and leaves never change),
    priced for the rest of the cover, its total limit locked at once. 409 `member_exists` when a
    ref is in the cohort already, `cover_ended` after its cover end."""
    key = [(c.ref, c.beneficiary, c.limit) for c in customers]
    return idem.run(key, lambda: (domain.add(session, gw, indexer, cohort_id, customers, may_see=principal.can_see),
                                  _cohort_out(session, domain.files(session, cohort_id, principal.can_see)))[1], 201)


@router.delete("/{cohort_id}/members/{ref}", response_model=MemberOut, responses=responses(409, 502))
def remove_member(cohort_id: CohortId, ref: Ref, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                  principal: Issuer, idem: Idempotent) -> JSONResponse:
    """Removes the customer before cover end: it is paid what opened rounds still owe it, then
    its limit less what it was paid is released and the unexpired premium of its share refunded
    to the distributor; it is paid in no later round. 409 `member_removed` the second time."""
    def work() -> MemberOut:
        found = domain.remove(session, gw, indexer, cohort_id, ref, may_see=principal.can_see)
        return _member_out(session, found)

    return idem.run({"remove": ref}, work)

