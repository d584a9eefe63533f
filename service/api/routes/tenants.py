"""Tenants (the insurer's admin) and API keys (a tenant's admin, for its own tenant; the
insurer's admin, for any). A key is shown once; only its sha256 and first characters are stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from service import tenancy
from service.api.deps import Principal, SessionDep, require
from service.api.errors import responses
from service.api.schemas import Out, Strict, Text
from service.db import models as m

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
InsurerAdmin = Annotated[Principal, Depends(require())]
TenantAdmin = Annotated[Principal, Depends(require("admin"))]  # its own tenant's keys (Principal.can_see)
Role = Literal["admin", "underwriter", "claims", "distributor", "assessor", "accreditor", "auditor", "relay",
               "monitor"]


class TenantIn(Strict):
    name: Text


class TenantOut(BaseModel):
    id: str
    name: str
    insurer: bool
    created_at: datetime


class KeyIn(Strict):
    role: Role = Field(description="A client tenant holds admin, distributor and auditor keys only")
    expires_at: AwareDatetime | None = Field(None, description="After this instant the key answers 401")


class KeyInfo(BaseModel):
    id: str
    tenant_id: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute")
    expires_at: datetime | None
    revoked: bool


class KeyOut(Out):
    id: str
    tenant_id: str
    role: str
    prefix: str
    expires_at: datetime | None
    key: str = Field(description="The secret. Shown once.")


@router.post("", status_code=201, response_model=TenantOut, responses=responses(409))
def create_tenant(body: TenantIn, session: SessionDep, _: InsurerAdmin) -> m.Tenant:
    return tenancy.create_tenant(session, body.name)


@router.get("", response_model=list[TenantOut])
def list_tenants(session: SessionDep, _: InsurerAdmin) -> list[m.Tenant]:
    return list(session.scalars(select(m.Tenant).order_by(m.Tenant.created_at)))


@router.post("/{tenant_id}/keys", status_code=201, response_model=KeyOut, responses=responses(400))
def create_key(tenant_id: str, body: KeyIn, session: SessionDep, principal: TenantAdmin) -> KeyOut:
    minted = tenancy.mint_key(session, principal, tenant_id, body.role, body.expires_at)
    return KeyOut.of(minted.row, key=minted.key)


@router.get("/{tenant_id}/keys", response_model=list[KeyInfo])
def list_keys(tenant_id: str, session: SessionDep, principal: TenantAdmin) -> list[m.ApiKey]:
    return tenancy.list_keys(session, principal, tenant_id)


@router.delete("/{tenant_id}/keys/{key_id}", status_code=204, responses=responses(409))
def revoke_key(tenant_id: str, key_id: str, session: SessionDep, principal: TenantAdmin) -> None:
    tenancy.revoke_key(session, principal, tenant_id, key_id)
