"""Cover products: payout terms on-chain (PolicyBook.createProduct), pricing off-chain (annual
rates per risk level, score adjustment, quote validity, maximum report age)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from eth_utils import encode_hex
from fastapi import APIRouter, Depends
from pydantic import ConfigDict, Field, StrictBool, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from contracts.eip712 import service_id
from contracts.enums import PayoutKind
from contracts.httperrors import rule
from contracts.records import Product
from service.api.deps import PEOPLE, Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.schemas import Out, Strict, Text, Uint96
from service.chain.gateway import Gateway
from service.covered import CoveredService
from service.db import models as m
from service.domain import caps, exclusions
from service.domain.pricing import MAX_SCORE_ADJUSTMENT_BPS
from service.errors import BadRequest, ChainError, NotFound

router = APIRouter(prefix="/v1/products", tags=["products"])
Underwriter = Annotated[Principal, Depends(require("underwriter"))]  # the insurer's: products are insurer-wide
# Products are offered to every tenant: anyone may read them, and the nodes' target-list key lists them.
Reader = Annotated[Principal, Depends(require(*PEOPLE, "monitor"))]
PositiveSeconds = Annotated[int, Field(ge=1, le=2**32 - 1)]
Seconds = Annotated[int, Field(ge=0, le=2**32 - 1)]


RatePpm = Annotated[int, Field(ge=0, le=2**32 - 1)]


class Rates(Strict):
    """Annual rate by risk level, in parts per million of the limit a year ({"low": 20000}: 2 %
    of the limit for a 365-day cover); a missing level is declined. At least one level needs a
    rate. Pricing: service.domain.pricing."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": [level], "properties": {level: {
        "type": "integer"}}} for level in ("low", "lower", "medium")]})

    low: RatePpm | None = None
    lower: RatePpm | None = None
    medium: RatePpm | None = None


DAY = 86400
DEFAULT_GRACE = 7 * DAY
DEFAULT_MAX_COVER = 400 * DAY
DEFAULT_MAX_START_DELAY = 30 * DAY
DEFAULT_CLAIM_SECONDS = 14 * DAY
DEFAULT_QUOTE_VALIDITY = 7 * DAY
DEFAULT_MAX_REPORT_AGE = 365 * DAY  # T/SNISA 04002—2025: a pre-underwriting report is valid for a year


class ProductIn(Strict):
    """auto_pay_limit, amount and medium_limit are at most policy_limit, and every rate, after the
    score adjustment at its best, at least min_rate_ppm: bounds between fields, which a schema
    cannot state, answered 400."""

    name: Text
    service: CoveredService = Field(description="Covered service: an http(s)/tcp/tls URL the oracles probe, or a "
                                    "plain name ([A-Za-z0-9._-], ≤ 64); the on-chain id is keccak256 of it")
    threshold_seconds: PositiveSeconds
    payout_kind: Literal["fixed", "per_unit"] = "fixed"
    amount: Annotated[int, Field(ge=1, le=2**96 - 1)]
    unit_seconds: PositiveSeconds = 3600
    policy_limit: Annotated[int, Field(ge=1, le=2**96 - 1)]
    auto_pay_limit: Uint96
    waiting_seconds: Seconds = 0
    grace_seconds: Seconds | None = Field(None, description="After cover end, late reports still settle; at least "
                                          "the oracle's finality delay (default: 7 days, or that delay if longer)")
    rates: Rates
    score_adjustment_bps: Annotated[int, Field(ge=0, le=MAX_SCORE_ADJUSTMENT_BPS)] = Field(
        0, description="Within a risk level the rate moves linearly with the anchored score, from +x bps of the "
        "level's rate at the level's lowest score to −x bps at its highest (rounded up); 0: no adjustment")
    quote_validity_seconds: Annotated[int, Field(ge=60, le=365 * DAY)] = Field(
        DEFAULT_QUOTE_VALIDITY, description="How long a quote may be issued on, chain time (7 days)")
    max_report_age_seconds: Annotated[int, Field(ge=DAY, le=10 * 365 * DAY)] = Field(
        DEFAULT_MAX_REPORT_AGE, description="The oldest report (since its on-chain anchoring) a quote takes (365 d)")
    medium_sub_limit_bps: Annotated[int, Field(ge=0, le=10_000)] = 5_000
    medium_limit: Uint96 | None = Field(None, description="Limit cap for a Medium-risk report, enforced on-chain; "
                                        "0 declines Medium (default: policy_limit × medium_sub_limit_bps / 10,000)")
    max_cover_seconds: PositiveSeconds = Field(DEFAULT_MAX_COVER, description="Longest cover period (400 days)")
    max_start_delay: Seconds = Field(DEFAULT_MAX_START_DELAY, description="Latest cover start after issuance (30 d)")
    min_premium: Uint96 = Field(0, description="Minimum premium per policy (token units), on-chain too")
    min_rate_ppm: Annotated[int, Field(ge=0, le=2**32 - 1)] = Field(
        0, description="Premium floor per year of cover, in parts per million of the limit")
    claim_seconds: PositiveSeconds = Field(DEFAULT_CLAIM_SECONDS, description="A claim not decided within this "
                                           "is deemed approved and paid (14 days)")
    exposure_cap: Uint96 = Field(0, description="Total limit of the product's active policies; 0: no cap")
    event_cap: Uint96 = Field(0, description="Most one outage episode may pay across the product's active "
                              "policies (each counts min(amount, limit) for fixed, its limit for per-unit); "
                              "enforced at issuance; 0: no cap")
    cancellation_fee: Uint96 = Field(0, description="Kept from a cancellation's refund (token units)")

    @model_validator(mode="after")
    def _limits(self) -> ProductIn:
        if self.auto_pay_limit > self.policy_limit:
            raise rule("auto_pay_limit must not exceed policy_limit")
        if self.amount > self.policy_limit:
            raise rule("amount must not exceed policy_limit")
        if self.medium_limit is not None and self.medium_limit > self.policy_limit:
            raise rule("medium_limit must not exceed policy_limit")
        for level, rate in self.rates.model_dump().items():
            best = -(-rate * (10_000 - self.score_adjustment_bps) // 10_000) if rate is not None else None
            if best is not None and best < self.min_rate_ppm:
                raise rule(f"rates.{level} is {best} ppm at the level's best score, below min_rate_ppm "
                           f"{self.min_rate_ppm}: the on-chain floor would price it, not the rate")
        return self

    @property
    def medium(self) -> int:
        if self.medium_limit is not None:
            return self.medium_limit
        return self.policy_limit * self.medium_sub_limit_bps // 10_000


class ProductOut(Out):
    id: int
    name: str | None
    service: str | None
    service_id: str
    threshold_seconds: int
    payout_kind: str
    amount: int
    unit_seconds: int
    policy_limit: int
    auto_pay_limit: int
    waiting_seconds: int
    grace_seconds: int
    active: bool
    rates: dict[str, int] | None = Field(description="Annual rate by risk level, ppm of the limit")
    score_adjustment_bps: int | None
    quote_validity_seconds: int | None
    max_report_age_seconds: int | None
    medium_sub_limit_bps: int | None
    medium_limit: int
    max_cover_seconds: int
    max_start_delay: int
    min_premium: int
    min_rate_ppm: int
    claim_seconds: int
    exposure_cap: int
    exposure: int | None = Field(description="Total limit of the product's active policies, on-chain "
                                 "(productExposure); null when the chain could not be read")
    event_cap: int = Field(description="Most one outage episode may pay across the product's active policies; "
                           "0: no cap")
    event_exposure: int | None = Field(description="What one episode could pay across the product's active "
                                       "policies now, on-chain (eventExposure); null: not read")
    cancellation_fee: int
    service_cap: int | None = Field(description="Cap on the total limit of active policies on the covered "
                                    "service across all its products (0: no cap); null: not read")
    service_exposure: int | None = Field(description="Total limit of active policies on the covered service, "
                                         "on-chain (serviceExposure); null: not read")

    exclusions: list[dict[str, Any]] = Field(description="What the cover excludes: `code` (known_loss, "
                                             "waiting_period, scheduled_maintenance, excluded_events), `en`, `zh` "
                                             "and the numbers (seconds, declared windows and events)")

    @classmethod
    def of_product(cls, session: Session, p: m.Product, gw: Gateway | None = None,
                   reads: caps.ListingReads | None = None) -> ProductOut:
        """`reads`: the chain figures shared by a listing's products (one per request)."""
        t = session.get(m.ProductTerms, p.id)
        if reads is None and gw is not None:
            reads = caps.ListingReads(gw)
        delay = reads.delay if reads is not None else None
        service = reads.service(p.service_id) if reads is not None else None
        return cls.of(p, name=t.name if t else None, service=t.service_name if t else None,
                      threshold_seconds=p.trigger_seconds, payout_kind=PayoutKind(p.payout_kind).label,
                      amount=p.payout_amount, rates=t.rates if t else None,
                      medium_sub_limit_bps=t.medium_sub_limit_bps if t else None,
                      score_adjustment_bps=t.score_adjustment_bps if t else None,
                      quote_validity_seconds=t.quote_validity_seconds if t else None,
                      max_report_age_seconds=t.max_report_age_seconds if t else None,
                      exposure=reads.read("productExposure", p.id) if reads is not None else None,
                      event_exposure=reads.read("eventExposure", p.id) if reads is not None else None,
                      service_cap=service.cap if service else None,
                      service_exposure=service.exposure if service else None,
                      exclusions=exclusions.product_exclusions(session, p, governance_delay=delay))


@router.post("", status_code=201, response_model=ProductOut, responses=responses(400, 409, 502))
def create_product(body: ProductIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                   _: Underwriter) -> ProductOut:
    rates = {k: v for k, v in body.rates.model_dump().items() if v is not None}
    if not rates:
        raise BadRequest("rates: at least one risk level needs a rate")
    sid = service_id(body.service)
    _, finality = gw.episode_params()
    grace = max(DEFAULT_GRACE, finality) if body.grace_seconds is None else body.grace_seconds
    if grace < finality:
        raise BadRequest(f"grace_seconds {grace} is below the oracle's finality delay ({finality} s): an outage at "
                         "the end of the cover could not become payable before expiry", type="grace_below_finality")
    terms = Product(sid, body.threshold_seconds, PayoutKind.of(body.payout_kind), body.unit_seconds,
                    body.waiting_seconds, grace, True, body.auto_pay_limit, body.amount, body.policy_limit,
                    body.max_cover_seconds, body.max_start_delay, body.min_premium, body.medium, body.min_rate_ppm,
                    body.claim_seconds, body.exposure_cap, body.event_cap, body.cancellation_fee)
    receipt = gw.send(gw.book.functions.createProduct(terms.as_tuple()))
    events = gw.book.events.ProductCreated().process_receipt(receipt, errors=DISCARD)
    if not events:
        raise ChainError("createProduct mined without a ProductCreated event")
    product_id = int(events[0]["args"]["productId"])
    session.add(m.ProductTerms(product_id=product_id, name=body.name, service_name=body.service, rates=rates,
                               medium_sub_limit_bps=body.medium_sub_limit_bps,
                               score_adjustment_bps=body.score_adjustment_bps,
                               quote_validity_seconds=body.quote_validity_seconds,
                               max_report_age_seconds=body.max_report_age_seconds))
    session.commit()
    indexer.sync()
    session.expire_all()
    product = session.get(m.Product, product_id)
    assert product is not None and product.service_id == encode_hex(sid)
    return ProductOut.of_product(session, product, gw)


class ActivationIn(Strict):
    active: StrictBool  # 0 is not false: its schema says boolean


@router.patch("/{product_id}", response_model=ProductOut, responses=responses(400, 409, 502))
def set_active(product_id: int, body: ActivationIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
               _: Underwriter) -> ProductOut:
    """Stops (or resumes) new issuance; live policies keep their cover."""
    product = session.get(m.Product, product_id) if 0 <= product_id < 2**32 else None
    if product is None:
        raise NotFound(f"no product {product_id}")
    gw.send(gw.book.functions.setProductActive(product_id, body.active))
    indexer.sync()
    session.expire_all()
    return get_product(product_id, session, gw, _)


@router.get("", response_model=list[ProductOut])
def list_products(session: SessionDep, gw: GatewayDep, _: Reader) -> list[ProductOut]:
    products = session.scalars(select(m.Product).order_by(m.Product.id))
    reads = caps.ListingReads(gw)
    return [ProductOut.of_product(session, p, gw, reads) for p in products]


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: int, session: SessionDep, gw: GatewayDep, _: Anyone) -> ProductOut:
    p = session.get(m.Product, product_id) if 0 <= product_id < 2**32 else None
    if p is None:
        raise NotFound(f"no product {product_id}")
    return ProductOut.of_product(session, p, gw)
