"""The small read routes the web console (/console) needs beyond the rest of the API: who the key
is (`GET /v1/me`, with the payout token's units), the pool's capital over time
(`GET /v1/pool/history`), a webhook's recent deliveries (`GET /v1/webhooks/{id}/deliveries`) and
a dry run of a CSV bulk issuance (`POST /v1/policies/batch/preview`: per-row errors, nothing
sent). None of them writes anything."""

from __future__ import annotations

import bisect
import csv
import io
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.deps import STAFF, Anyone, GatewayDep, IndexerDep, SessionDep
from service.api.errors import responses
from service.api.routes.policies import Issuer
from service.api.routes.webhooks import Subscriber
from service.api.schemas import Strict
from service.chain.gateway import Gateway
from service.db import models as m
from service.errors import BadRequest, ChainError, Forbidden, NotFound
from service.webhooks import registry

router = APIRouter(prefix="/v1", tags=["console"])

_ERC20 = [{"name": n, "type": "function", "stateMutability": "view", "inputs": [],
           "outputs": [{"name": "", "type": t}]} for n, t in (("decimals", "uint8"), ("symbol", "string"))]
_TOKENS: dict[tuple[int, str], tuple[str, int]] = {}


class TokenOut(BaseModel):
    address: str | None
    symbol: str | None
    decimals: int | None = Field(description="What one token unit is in minor units: 10^decimals; null: not read")


class MeOut(BaseModel):
    key_id: str
    prefix: str
    role: str
    tenant_id: str
    tenant_name: str
    insurer: bool = Field(description="The key belongs to the insurer's (platform) tenant")
    scoped: bool = Field(description="true: the key sees only its own tenant's records")
    token: TokenOut = Field(description="CoverPool's payout asset: amounts are in its minor units")


def token_info(gw: Gateway) -> TokenOut:
    try:
        address = gw.pool.functions.asset().call()
        key = (id(gw), address)
        if key not in _TOKENS:
            c = gw.w3.eth.contract(address=address, abi=_ERC20)
            _TOKENS[key] = (str(c.functions.symbol().call()), int(c.functions.decimals().call()))
        symbol, decimals = _TOKENS[key]
        return TokenOut(address=address, symbol=symbol, decimals=decimals)
    except Exception:  # noqa: BLE001 - an unreadable chain leaves the units unknown, not the caller
        return TokenOut(address=None, symbol=None, decimals=None)


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, gw: GatewayDep, principal: Anyone) -> MeOut:
    """The calling key: its role and tenant (what the console shows it), and the token's units."""
    key = session.get(m.ApiKey, principal.key_id)
    tenant = session.get(m.Tenant, principal.tenant_id)
    assert key is not None and tenant is not None
    return MeOut(key_id=key.id, prefix=key.prefix, role=key.role, tenant_id=tenant.id, tenant_name=tenant.name,
                 insurer=principal.insurer, scoped=principal.scoped, token=token_info(gw))


# --- the pool's capital over time ---------------------------------------------------------------

class CapitalPoint(BaseModel):
    block: int
    time: int = Field(description="Block time, unix seconds")
    free: int = Field(description="CoverPool freeCapital at the block")
    locked: int = Field(description="CoverPool lockedCapital at the block")
    assets: int = Field(description="CoverPool totalAssets at the block")
    owed: int = Field(description="CoverPool owedCapital (credited, not yet claimed) at the block")
    premiums: int = Field(description="Σ premium of the policies issued up to the block (projection)")
    payouts: int = Field(description="Σ payouts (sent or credited) up to the block (projection)")


class HistoryOut(BaseModel):
    as_of_block: int = Field(description="The projection's block: the last point")
    points: list[CapitalPoint] = Field(description="Oldest first, at evenly spaced blocks from the deployment")


def sample_blocks(first: int, last: int, points: int) -> list[int]:
    """At most `points` distinct blocks from `first` to `last`, both included, evenly spaced."""
    if last < first:
        return []
    span = last - first
    if span + 1 <= points:
        return list(range(first, last + 1))
    return sorted({first + (span * i) // (points - 1) for i in range(points)})


def _cumulative(rows: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    rows.sort()
    blocks, sums, total = [], [], 0
    for block, amount in rows:
        total += amount
        if blocks and blocks[-1] == block:
            sums[-1] = total
        else:
            blocks.append(block)
            sums.append(total)
    return blocks, sums


def _upto(blocks: list[int], sums: list[int], block: int) -> int:
    i = bisect.bisect_right(blocks, block)
    return sums[i - 1] if i else 0


@router.get("/pool/history", response_model=HistoryOut, responses=responses(503))
def pool_history(session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Anyone,
                 points: Annotated[int, Query(ge=2, le=200)] = 48) -> HistoryOut:
    """CoverPool's free, locked, total and owed capital read on-chain at evenly spaced blocks from
    CoverPool's deployment to the projection's block, with the premiums written and payouts made up to each
    (from the projection). Insurer staff only: the pool is the insurer's."""
    if not (principal.insurer and principal.role in STAFF):
        raise Forbidden("the pool's history is the insurer's: insurer staff keys only")
    head = indexer.block()
    premiums = _cumulative([(b, int(p)) for b, p in session.execute(select(m.Policy.block, m.Policy.premium))])
    payouts = _cumulative([(b, int(a)) for b, a in session.execute(select(m.Payout.block, m.Payout.amount))])
    fns = gw.pool.functions
    out = []
    start = gw.deployment.contracts["CoverPool"].block
    for block in sample_blocks(start, head, points):
        try:
            assets, free, locked, owed = (int(f().call(block_identifier=block)) for f in
                                          (fns.totalAssets, fns.freeCapital, fns.lockedCapital, fns.owedCapital))
            time = gw.block_time(block)
        except Exception as exc:  # noqa: BLE001 - any node failure (a pruned state included) is unreadable
            raise ChainError(f"CoverPool could not be read at block {block}: {type(exc).__name__}",
                             type="chain_unavailable", status=503) from None
        out.append(CapitalPoint(block=block, time=time, free=free, locked=locked, assets=assets, owed=owed,
                                premiums=_upto(*premiums, block), payouts=_upto(*payouts, block)))
    return HistoryOut(as_of_block=head, points=out)


# --- webhook deliveries -------------------------------------------------------------------------

class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: Literal["delivered", "pending", "retrying", "failed"] = Field(
        description="delivered; pending (not tried yet); retrying (failed attempts, another is scheduled); "
                    "failed (given up)")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="When it is tried next; null: delivered or given up")
    delivered_at: datetime | None
    last_error: str | None


def _delivery(d: m.WebhookDelivery) -> DeliveryOut:
    if d.delivered_at is not None:
        status = "delivered"
    elif d.failed:
        status = "failed"
    else:
        status = "retrying" if d.attempts else "pending"
    waiting = status in ("pending", "retrying")
    return DeliveryOut(id=d.id, event_id=d.event_id, event_type=d.event_type, status=status, attempts=d.attempts,
                       created_at=d.created_at, next_attempt_at=d.next_attempt_at if waiting else None,
                       delivered_at=d.delivered_at, last_error=d.last_error)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(webhook_id: str, session: SessionDep, principal: Subscriber,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[DeliveryOut]:
    """The webhook's most recent deliveries, newest first (another tenant's webhook is a 404)."""
    hook = registry.get(session, principal.tenant_id, webhook_id)
    rows = session.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook.id)
                           .order_by(m.WebhookDelivery.id.desc()).limit(limit))
    return [_delivery(d) for d in rows]


# --- a dry run of a CSV bulk issuance ---------------------------------------------------------

MAX_ROWS = 1000  # POST /v1/policies/batch's bound
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HOLDER_MAX = 200  # the issuance body's holder_ref bound (policies.HolderRef)


class PreviewIn(Strict):
    quote_id: Annotated[str, Field(min_length=1, max_length=32)]
    csv: Annotated[str, Field(min_length=1, max_length=400_000, description=(
        "CSV text with a header row naming `holder_ref` and `beneficiary` (any order; other columns are ignored)"))]


class RowError(BaseModel):
    type: str
    detail: str


class RowOut(BaseModel):
    line: int = Field(description="Line number in the file (the header is line 1)")
    holder_ref: str
    beneficiary: str
    ok: bool
    error: RowError | None


class QuoteCheck(BaseModel):
    id: str
    product_id: int
    limit: int | None
    premium: int | None
    cover_seconds: int | None
    expires_at: int | None
    issuable: bool
    problem: RowError | None = Field(description="Why no row of the file can be issued on this quote; null: none")


class PreviewOut(BaseModel):
    quote: QuoteCheck
    rows: list[RowOut]
    valid: int
    invalid: int
    premium_total: int = Field(description="What issuing the valid rows costs: valid × the quote's premium")
    limit_total: int = Field(description="The collateral the valid rows lock: valid × the quote's limit")
    covers: list[dict[str, str]] = Field(description="The valid rows as POST /v1/policies/batch's `covers`")


def _quote_check(session: Session, gw: Gateway, quote_id: str, may_see: Any) -> QuoteCheck:
    q = session.get(m.Quote, quote_id)
    if q is None or not may_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    problem = None
    if q.decision != "offer":
        problem = RowError(type="quote_declined", detail=f"quote {q.id} was declined: {q.reason}")
    else:
        now = gw.now()
        if q.expires_at is None or q.cover_seconds is None or now >= q.expires_at:
            problem = RowError(type="quote_expired", detail=f"quote {q.id} expired at {q.expires_at} "
                               f"(chain time now {now}): quote again")
    return QuoteCheck(id=q.id, product_id=q.product_id, limit=q.limit, premium=q.premium,
                      cover_seconds=q.cover_seconds, expires_at=q.expires_at, issuable=problem is None,
                      problem=problem)


def check_rows(text: str) -> list[RowOut]:
    """Each data row of the CSV with its first problem (what POST /v1/policies/batch would refuse)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BadRequest("the CSV is empty: a header row naming holder_ref and beneficiary comes first",
                         type="csv_empty") from None
    except csv.Error as exc:
        raise BadRequest(f"line 1: {exc}", type="csv_unreadable") from None
    missing = [c for c in ("holder_ref", "beneficiary") if c not in header]
    if missing:
        raise BadRequest(f"the header row lacks {', '.join(missing)} (it has: {', '.join(header) or 'nothing'})",
                         type="csv_missing_column")
    ref_at, ben_at = header.index("holder_ref"), header.index("beneficiary")
    rows: list[RowOut] = []
    seen: dict[str, int] = {}
    try:
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if len(rows) >= MAX_ROWS:
                raise BadRequest(f"more than {MAX_ROWS} rows (line {line}): split the file",
                                 type="csv_too_many_rows")
            ref = fields[ref_at].strip() if ref_at < len(fields) else ""
            ben = fields[ben_at].strip() if ben_at < len(fields) else ""
            error = None
            if not ref:
                error = RowError(type="holder_ref_missing", detail="holder_ref is empty")
            elif len(ref) > _HOLDER_MAX:
                error = RowError(type="holder_ref_too_long", detail=f"holder_ref has {len(ref)} characters "
                                 f"(at most {_HOLDER_MAX})")
            elif ref in seen:
                error = RowError(type="holder_ref_duplicate", detail=f"holder_ref {ref!r} is also on line {seen[ref]}")
            elif not _ADDRESS.match(ben):
                error = RowError(type="invalid_beneficiary", detail=f"beneficiary {ben[:60]!r} is not an address "
                                 "(0x and 40 hex digits)")
            elif int(ben, 16) == 0:
                error = RowError(type="zero_beneficiary", detail="the beneficiary is the zero address")
            if ref and ref not in seen:
                seen[ref] = line
            rows.append(RowOut(line=line, holder_ref=ref[:_HOLDER_MAX + 20], beneficiary=ben[:80],
                               ok=error is None, error=error))
    except csv.Error as exc:
        raise BadRequest(f"line {reader.line_num}: {exc}", type="csv_unreadable") from None
    if not rows:
        raise BadRequest("the CSV has a header but no rows", type="csv_empty")
    return rows


@router.post("/policies/batch/preview", response_model=PreviewOut, responses=responses(400, 404))
def preview_batch(body: PreviewIn, session: SessionDep, gw: GatewayDep, principal: Issuer) -> PreviewOut:
    """Checks a CSV of covers (`holder_ref`, `beneficiary`) against the quote they would be issued on,
    row by row, and sends nothing: the valid rows (`covers`) are what to send to POST
    /v1/policies/batch once confirmed. The chain may still refuse at issuance (e.g. a cap reached)."""
    quote = _quote_check(session, gw, body.quote_id, principal.can_see)
    rows = check_rows(body.csv)
    if quote.problem is not None:
        rows = [r.model_copy(update={"ok": False, "error": r.error or quote.problem}) for r in rows]
    good = [r for r in rows if r.ok]
    return PreviewOut(quote=quote, rows=rows, valid=len(good), invalid=len(rows) - len(good),
                      premium_total=len(good) * (quote.premium or 0), limit_total=len(good) * (quote.limit or 0),
                      covers=[{"holder_ref": r.holder_ref, "beneficiary": r.beneficiary} for r in good])
