"""Request dependencies: settings, database session, chain gateway and indexer, the caller."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.errors import Forbidden, Unauthorized
from service.settings import Settings, get_settings

ROLES = ("admin", "underwriter", "claims", "distributor", "assessor", "auditor")
STAFF = ("admin", "underwriter", "claims", "assessor", "auditor")  # the insurer side: all tenants
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (shown once at creation)")


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens: a plain sha256 is enough (no dictionary to attack).
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: str
    key_id: str

    @property
    def scoped(self) -> bool:
        """A distributor sees only its own tenant's records."""
        return self.role == "distributor"

    def can_see(self, tenant_id: str | None) -> bool:
        return not self.scoped or tenant_id == self.tenant_id


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


def get_principal(session: SessionDep, key: Annotated[str | None, Security(_api_key)] = None) -> Principal:
    if not key:
        raise Unauthorized("missing X-API-Key header")
    row = session.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == hash_key(key), m.ApiKey.revoked.is_(False)))
    if row is None:
        raise Unauthorized("unknown or revoked API key")
    return Principal(row.tenant_id, row.role, row.id)


def require(*roles: str) -> Callable[[Principal], Principal]:
    """Admin may do everything; otherwise the caller's role must be listed."""
    allowed = set(roles) | {"admin"}

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role!r} may not do this (allowed: {', '.join(sorted(allowed))})")
        return principal

    return check


Anyone = Annotated[Principal, Depends(require(*ROLES))]
