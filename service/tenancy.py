"""Tenants and their API keys. Who may see which tenant is Principal's rule (service.api.deps);
this module applies it to the key-management operations: a client tenant's admin manages its own
tenant's keys only, and mints only the roles a client tenant may hold."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.api.deps import CLIENT_ROLES, Principal, hash_key, role_allowed
from service.db import models as m
from service.errors import BadRequest, Conflict, NotFound

KEY_PREFIX = "cc_"
PREFIX_CHARS = 10  # stored and listed, enough to tell keys apart; the rest is never stored


@dataclass(frozen=True)
class MintedKey:
    row: m.ApiKey
    key: str  # the secret, shown once


def create_tenant(session: Session, name: str) -> m.Tenant:
    if session.scalar(select(m.Tenant).where(m.Tenant.name == name)) is not None:
        raise Conflict(f"tenant {name!r} exists")
    tenant = m.Tenant(name=name, insurer=False)
    session.add(tenant)
    try:
        session.commit()
    except IntegrityError:
        raise Conflict(f"tenant {name!r} exists") from None
    return tenant


def visible_tenant(session: Session, principal: Principal, tenant_id: str) -> m.Tenant:
    """The tenant, if the caller may manage it (another tenant is answered as unknown)."""
    tenant = session.get(m.Tenant, tenant_id)
    if tenant is None or not principal.can_see(tenant.id):
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


def mint_key(session: Session, principal: Principal, tenant_id: str, role: str,
             expires_at: datetime | None = None) -> MintedKey:
    tenant = visible_tenant(session, principal, tenant_id)
    if not role_allowed(role, insurer=tenant.insurer):
        raise BadRequest(f"role {role!r} exists only in the insurer's tenant; a client tenant holds "
                         f"{', '.join(CLIENT_ROLES)} keys", type="role_not_for_tenant")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise BadRequest("expires_at is in the past", type="bad_expiry")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = m.ApiKey(tenant_id=tenant.id, role=role, key_hash=hash_key(key), prefix=key[:PREFIX_CHARS],
                   expires_at=expires_at)
    session.add(row)
    session.commit()
    return MintedKey(row, key)


def list_keys(session: Session, principal: Principal, tenant_id: str) -> list[m.ApiKey]:
    tenant = visible_tenant(session, principal, tenant_id)
    q = select(m.ApiKey).where(m.ApiKey.tenant_id == tenant.id).order_by(m.ApiKey.created_at, m.ApiKey.id)
    return list(session.scalars(q))


def revoke_key(session: Session, principal: Principal, tenant_id: str, key_id: str) -> None:
    tenant = visible_tenant(session, principal, tenant_id)
    row = session.get(m.ApiKey, key_id)
    if row is None or row.tenant_id != tenant.id:
        raise NotFound(f"no key {key_id} in tenant {tenant_id}")
    if row.id == principal.key_id:
        raise Conflict("a key cannot revoke itself", type="self_revocation")
    row.revoked = True
    session.commit()
