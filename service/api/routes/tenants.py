"""Tenants and API keys (admin only). A key is shown once; only its sha256 is stored."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.api.deps import Principal, SessionDep, hash_key, require
from service.api.schemas import Strict, Text
from service.db import models as m
from service.errors import Conflict, NotFound

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])
Admin = Annotated[Principal, Depends(require())]
Role = Literal["admin", "underwriter", "claims", "distributor", "assessor", "auditor"]


class TenantIn(Strict):
    name: Text


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime


class KeyIn(Strict):
    role: Role


class KeyOut(BaseModel):
    id: str
    tenant_id: str
    role: str
    key: str  # shown once


def new_key(session: SessionDep, tenant_id: str, role: str) -> KeyOut:
    key = "cc_" + secrets.token_urlsafe(32)
    row = m.ApiKey(tenant_id=tenant_id, role=role, key_hash=hash_key(key), prefix=key[:10])
    session.add(row)
    session.flush()
    return KeyOut(id=row.id, tenant_id=tenant_id, role=role, key=key)


@router.post("", status_code=201, response_model=TenantOut)
def create_tenant(body: TenantIn, session: SessionDep, _: Admin) -> m.Tenant:
    if session.scalar(select(m.Tenant).where(m.Tenant.name == body.name)) is not None:
        raise Conflict(f"tenant {body.name!r} exists")
    tenant = m.Tenant(name=body.name)
    session.add(tenant)
    try:
        session.commit()
    except IntegrityError:
        raise Conflict(f"tenant {body.name!r} exists") from None
    return tenant


@router.get("", response_model=list[TenantOut])
def list_tenants(session: SessionDep, _: Admin) -> list[m.Tenant]:
    return list(session.scalars(select(m.Tenant).order_by(m.Tenant.created_at)))


@router.post("/{tenant_id}/keys", status_code=201, response_model=KeyOut)
def create_key(tenant_id: str, body: KeyIn, session: SessionDep, _: Admin) -> KeyOut:
    if session.get(m.Tenant, tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id}")
    out = new_key(session, tenant_id, body.role)
    session.commit()
    return out


@router.delete("/{tenant_id}/keys/{key_id}", status_code=204)
def revoke_key(tenant_id: str, key_id: str, session: SessionDep, principal: Admin) -> None:
    row = session.get(m.ApiKey, key_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound(f"no key {key_id} in tenant {tenant_id}")
    if row.id == principal.key_id:
        raise Conflict("a key cannot revoke itself", type="self_revocation")
    row.revoked = True
    session.commit()
