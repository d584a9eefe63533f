"""Cover products: payout terms on-chain (PolicyBook.createProduct), pricing off-chain."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from web3.logs import DISCARD

from contracts.eip712 import service_id
from service.api.deps import PEOPLE, Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.schemas import Strict, Text, Uint96, hx
from service.covered import CoveredService
from service.db import models as m
from service.errors import BadRequest, ChainError, NotFound

router = APIRouter(prefix="/v1/products", tags=["products"])
Underwriter = Annotated[Principal, Depends(require("underwriter"))]  # the insurer's: products are insurer-wide
# Products are offered to every tenant: anyone may read them, and the nodes' target-list key lists them.
Reader = Annotated[Principal, Depends(require(*PEOPLE, "monitor"))]
PositiveSeconds = Annotated[int, Field(ge=1, le=2**32 - 1)]
Seconds = Annotated[int, Field(ge=0, le=2**32 - 1)]
KINDS = {"fixed": 0, "per_unit": 1}


class Rates(Strict):
    """Premium per policy (token minor units) by risk level; a missing level is declined."""

    low: Uint96 | None = None
    lower: Uint96 | None = None
    medium: Uint96 | None = None


class ProductIn(Strict):
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
    grace_seconds: Seconds = 7 * 86400
    rates: Rates
    medium_sub_limit_bps: Annotated[int, Field(ge=1, le=10_000)] = 5_000

    @model_validator(mode="after")
    def _limits(self) -> ProductIn:
        if self.auto_pay_limit > self.policy_limit:
            raise ValueError("auto_pay_limit must not exceed policy_limit")
        if self.amount > self.policy_limit:
            raise ValueError("amount must not exceed policy_limit")
        return self


class ProductOut(BaseModel):
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
    rates: dict[str, int] | None
    medium_sub_limit_bps: int | None


def out(p: m.Product, t: m.ProductTerms | None) -> dict[str, Any]:
    return {"id": p.id, "name": t.name if t else None, "service": t.service_name if t else None,
            "service_id": p.service_id, "threshold_seconds": p.trigger_seconds,
            "payout_kind": "fixed" if p.payout_kind == 0 else "per_unit", "amount": p.payout_amount,
            "unit_seconds": p.unit_seconds, "policy_limit": p.policy_limit, "auto_pay_limit": p.auto_pay_limit,
            "waiting_seconds": p.waiting_seconds, "grace_seconds": p.grace_seconds, "active": p.active,
            "rates": t.rates if t else None, "medium_sub_limit_bps": t.medium_sub_limit_bps if t else None}


@router.post("", status_code=201, response_model=ProductOut)
def create_product(body: ProductIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                   _: Underwriter) -> dict[str, Any]:
    rates = {k: v for k, v in body.rates.model_dump().items() if v is not None}
    if not rates:
        raise BadRequest("rates: at least one risk level needs a premium")
    sid = service_id(body.service)
    terms = (sid, body.threshold_seconds, KINDS[body.payout_kind], body.unit_seconds, body.waiting_seconds,
             body.grace_seconds, True, body.auto_pay_limit, body.amount, body.policy_limit)
    receipt = gw.send(gw.book.functions.createProduct(terms))
    events = gw.book.events.ProductCreated().process_receipt(receipt, errors=DISCARD)
    if not events:
        raise ChainError("createProduct mined without a ProductCreated event")
    product_id = int(events[0]["args"]["productId"])
    session.add(m.ProductTerms(product_id=product_id, name=body.name, service_name=body.service, rates=rates,
                               medium_sub_limit_bps=body.medium_sub_limit_bps))
    session.commit()
    indexer.sync()
    session.expire_all()
    product = session.get(m.Product, product_id)
    assert product is not None and product.service_id == hx(sid)
    return out(product, session.get(m.ProductTerms, product_id))


class ActivationIn(Strict):
    active: bool


@router.patch("/{product_id}", response_model=ProductOut)
def set_active(product_id: int, body: ActivationIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
               _: Underwriter) -> dict[str, Any]:
    """Stops (or resumes) new issuance; live policies keep their cover."""
    product = session.get(m.Product, product_id) if 0 <= product_id < 2**32 else None
    if product is None:
        raise NotFound(f"no product {product_id}")
    gw.send(gw.book.functions.setProductActive(product_id, body.active))
    indexer.sync()
    session.expire_all()
    return get_product(product_id, session, _)


@router.get("", response_model=list[ProductOut])
def list_products(session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    products = session.scalars(select(m.Product).order_by(m.Product.id))
    return [out(p, session.get(m.ProductTerms, p.id)) for p in products]


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: int, session: SessionDep, _: Anyone) -> dict[str, Any]:
    p = session.get(m.Product, product_id) if 0 <= product_id < 2**32 else None
    if p is None:
        raise NotFound(f"no product {product_id}")
    return out(p, session.get(m.ProductTerms, product_id))
