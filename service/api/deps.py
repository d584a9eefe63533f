"""Request dependencies: settings, database session, chain gateway and indexer, the caller."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Select, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.errors import Forbidden, Unauthorized
from service.settings import Settings, get_settings

log = logging.getLogger(__name__)

STAFF = ("admin", "underwriter", "claims", "assessor", "accreditor", "auditor")  # insurer staff
CLIENT_ROLES = ("admin", "distributor", "auditor")  # the only roles a client tenant may hold
MACHINE = ("relay", "monitor")  # oracle transmitter (relay only), node target list (read only)
ROLES = ("admin", "underwriter", "claims", "distributor", "assessor", "accreditor", "auditor", *MACHINE)
PEOPLE = tuple(r for r in ROLES if r not in MACHINE)
LAST_USED_RESOLUTION = timedelta(minutes=1)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (shown once at creation)")


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens: a plain sha256 is enough (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller, and the tenancy rule, in one place:

    - staff keys (admin, underwriter, claims, assessor, accreditor, auditor) of the insurer's tenant act
      across tenants;
    - every other key (any key of a client tenant, and the insurer's own distributor and machine
      keys) sees and changes only its own tenant's rows;
    - a client tenant holds only admin, distributor and auditor keys; its admin may do what those
      roles may do, in its own tenant, and manage its own tenant's keys — nothing insurer-wide.
    """

    tenant_id: str
    role: str
    key_id: str
    insurer: bool = False  # the key belongs to the insurer's (platform) tenant

    @property
    def scoped(self) -> bool:
        """True when the caller sees only its own tenant's records."""
        return not (self.insurer and self.role in STAFF)

    def can_see(self, tenant_id: str | None) -> bool:
        return not self.scoped or tenant_id == self.tenant_id

    def scope(self, query: Select[Any], tenant_column: Any) -> Select[Any]:
        """Restricts a query over tenant-owned rows to what the caller may see."""
        return query.where(tenant_column == self.tenant_id) if self.scoped else query

    def may(self, roles: Iterable[str]) -> bool:
        """Whether the caller may act in one of `roles`. An admin may do what any role of its own
        tenant may do: the insurer's admin everything, a client's admin what a client role may.
        No roles at all means the insurer's admin only."""
        roles = set(roles)
        if self.role in roles:
            return True
        return self.role == "admin" and (self.insurer or bool(roles & set(CLIENT_ROLES)))


def role_allowed(role: str, *, insurer: bool) -> bool:
    """Which keys a tenant may hold: insurer staff and machine keys live only in the insurer's tenant."""
    return role in ROLES and (insurer or role in CLIENT_ROLES)


def factory(request: Request) -> sessionmaker[Session]:
    return request.app.state.factory  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    with factory(request)() as session:
        yield session


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


def get_indexer(request: Request) -> Indexer:
    return request.app.state.indexer  # type: ignore[no-any-return]


SessionDep = Annotated[Session, Depends(get_session)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
IndexerDep = Annotated[Indexer, Depends(get_indexer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
FactoryDep = Annotated[sessionmaker[Session], Depends(factory)]


def _touch(session: Session, key: m.ApiKey, at: datetime) -> None:
    """Records the key's last use, at most once per LAST_USED_RESOLUTION: one small write a
    minute per key, never a failed request because the database was busy."""
    if key.last_used_at is not None and at - key.last_used_at < LAST_USED_RESOLUTION:
        return
    try:
        session.execute(update(m.ApiKey).where(m.ApiKey.id == key.id).values(last_used_at=at))
        session.commit()
    except OperationalError:
        session.rollback()
        log.debug("last_used_at of key %s not recorded (database busy)", key.id)


def get_principal(session: SessionDep, key: Annotated[str | None, Security(_api_key)] = None) -> Principal:
    if not key:
        raise Unauthorized("missing X-API-Key header")
    found = session.execute(select(m.ApiKey, m.Tenant.insurer).join(m.Tenant, m.Tenant.id == m.ApiKey.tenant_id)
                            .where(m.ApiKey.key_hash == hash_key(key), m.ApiKey.revoked.is_(False))).first()
    if found is None:
        raise Unauthorized("unknown or revoked API key")
    row, insurer = found
    at = datetime.now(UTC)
    if row.expires_at is not None and row.expires_at <= at:
        raise Unauthorized("expired API key")
    if not role_allowed(row.role, insurer=insurer):  # a key minted before the tenancy rule
        raise Forbidden(f"role {row.role!r} exists only in the insurer's tenant; this key is void")
    _touch(session, row, at)
    return Principal(row.tenant_id, row.role, row.id, insurer=bool(insurer))


def require(*roles: str) -> Callable[[Principal], Principal]:
    """The caller must act in one of `roles` (see Principal.may; no roles: the insurer's admin)."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.may(roles):
            who = "the insurer's admin" if not roles else ", ".join(sorted({*roles, "admin"}))
            where = "" if principal.insurer else " (a client tenant's admin acts only as a client role)"
            raise Forbidden(f"role {principal.role!r} may not do this (allowed: {who}){where}")
        return principal

    return check


Anyone = Annotated[Principal, Depends(require(*PEOPLE))]
"""Every person's key; not the machine keys (relay, monitor), which may only do their one thing."""
