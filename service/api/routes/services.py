"""Covered services: the exposure cap across all products of one service (concentration risk:
many covers on one SaaS platform), set by the underwriter and enforced on-chain at issuance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import select

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.schemas import Hex32, Out, Strict
from service.db import models as m
from service.domain import caps

router = APIRouter(prefix="/v1/services", tags=["products"])
Underwriter = Annotated[Principal, Depends(require("underwriter"))]
Uint128 = Annotated[int, Field(ge=0, le=2**128 - 1)]


class ServiceCapIn(Strict):
    cap: Uint128 = Field(description="Total limit of the service's active policies, across all its products "
                         "(token units); 0: no cap. Below the current exposure it only stops new issuance")


class ServiceCapOut(Out):
    service_id: str
    cap: int = Field(description="0: no cap")
    exposure: int | None = Field(description="Total limit of the service's active policies, on-chain "
                                 "(serviceExposure); null when the chain could not be read")
    products: list[int] = Field(description="The products covering this service")


def _answer(session: SessionDep, gw: GatewayDep, service_id: str) -> ServiceCapOut:
    read = caps.service_exposure(gw, service_id)
    row = session.get(m.ServiceCap, service_id)
    cap = read.cap if read is not None else row.cap if row is not None else 0
    products = list(session.scalars(select(m.Product.id).where(m.Product.service_id == service_id)
                                    .order_by(m.Product.id)))
    return ServiceCapOut(service_id=service_id, cap=cap, exposure=read.exposure if read else None, products=products)


@router.put("/{service_id}/cap", response_model=ServiceCapOut, responses=responses(400, 409, 502))
def set_service_cap(service_id: Hex32, body: ServiceCapIn, session: SessionDep, gw: GatewayDep,
                    indexer: IndexerDep, _: Underwriter) -> ServiceCapOut:
    """`service_id` is the on-chain id of the covered service (keccak256 of its name, as a
    product's `service_id` shows it). Setting the same cap again changes nothing (PUT)."""
    caps.set_service_cap(gw, indexer, service_id, body.cap)
    session.expire_all()
    return _answer(session, gw, service_id)


@router.get("/{service_id}/cap", response_model=ServiceCapOut)
def get_service_cap(service_id: Hex32, session: SessionDep, gw: GatewayDep, _: Anyone) -> ServiceCapOut:
    return _answer(session, gw, service_id)
