"""The FastAPI app factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import Engine, select, update

from contracts.asgilimits import BodyLimits
from contracts.runtime import restore_recursion_limit
from service.api import errors
from service.api.deps import hash_key
from service.api.metrics import Metrics
from service.api.routes import (
    accreditations,
    assessments,
    claims,
    cohorts,
    console,
    exclusions,
    figures,
    health,
    in_policy,
    incidents,
    outages,
    policies,
    products,
    quotes,
    services,
    tenants,
    webhooks,
)
from service.chain.gateway import Gateway, gateway_from_settings
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_engine, make_sessionmaker, transaction
from service.domain.figures import FiguresCollector
from service.settings import Settings, get_settings
from service.web import install as install_web

log = logging.getLogger(__name__)
ADMIN_TENANT = "insurer"  # the name of the insurer's tenant (models.Tenant.insurer marks it)
BOOTSTRAP_PREFIX = "bootstrap"  # the listed prefix of the CYBERCOVER_ADMIN_KEY key


def bootstrap_admin(factory: object, settings: Settings) -> None:
    """CYBERCOVER_ADMIN_KEY becomes an admin key of the insurer tenant (idempotent). A new value
    rotates it: the previous bootstrap key is revoked in the same transaction."""
    if settings.admin_key is None:
        return
    digest = hash_key(settings.admin_key.get_secret_value())
    with transaction(factory) as s:  # type: ignore[arg-type]
        existing = s.scalar(select(m.ApiKey).where(m.ApiKey.key_hash == digest))
        if existing is not None:
            if existing.revoked:  # never revived: it may be why it was revoked
                log.warning("CYBERCOVER_ADMIN_KEY names a revoked key; it stays revoked: set a new value")
            return
        tenant = s.scalar(select(m.Tenant).where(m.Tenant.insurer.is_(True)))
        if tenant is None:
            tenant = m.Tenant(name=ADMIN_TENANT, insurer=True)
            s.add(tenant)
            s.flush()
        s.execute(update(m.ApiKey).where(m.ApiKey.tenant_id == tenant.id, m.ApiKey.prefix == BOOTSTRAP_PREFIX,
                                         m.ApiKey.revoked.is_(False)).values(revoked=True))
        s.add(m.ApiKey(tenant_id=tenant.id, role="admin", key_hash=digest, prefix=BOOTSTRAP_PREFIX))


def create_app(settings: Settings | None = None, *, gateway: Gateway | None = None,
               engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    restore_recursion_limit()  # in case anything imported since raised it (see contracts.runtime)
    settings = settings or get_settings()
    engine = engine or make_engine(settings.db_url)
    if migrate:
        upgrade(engine)
    factory = make_sessionmaker(engine)
    bootstrap_admin(factory, settings)
    gateway = gateway or gateway_from_settings(settings)

    app = FastAPI(title="cybercover", version="0.1.0",
                  description="Parametric micro cyber covers on a ledger. Authenticate with X-API-Key.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.factory = factory
    app.state.gateway = gateway
    app.state.indexer = Indexer(gateway, factory)
    app.state.metrics = Metrics()
    app.state.metrics.registry.register(FiguresCollector(factory, gateway, app.state.indexer))
    app.dependency_overrides[get_settings] = lambda: settings
    errors.install(app)
    # Bodies are bounded (and a key required to send one to /v1) before anything reads them.
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth,
                       key_header="X-API-Key", key_paths="/v1/")
    app.state.metrics.install(app)
    # in_policy before assessments: `/v1/assessments/due` is not an assessment id.
    errors.declare(app, (m.router for m in (health, tenants, in_policy, assessments, products, services, quotes,
                                            policies, cohorts, outages, claims, webhooks, exclusions, incidents,
                                            accreditations, figures, console)))
    install_web(app)  # the web pages (service/web): /status, /cover, /verify, /static
    return app
