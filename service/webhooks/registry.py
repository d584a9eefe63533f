"""A tenant's webhook subscriptions: create (checked destination, cap, no duplicates), pause,
resume, rotate the secret, delete. Every function takes the caller's tenant and touches only
that tenant's rows: another tenant's webhook is "not found", whatever its id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.db import models as m
from service.errors import Conflict, NotFound
from service.webhooks import destinations
from service.webhooks.destinations import Resolver
from service.webhooks.sealing import Sealer


@dataclass(frozen=True)
class Rules:
    """What registration enforces (from the settings), and the resolver it checks with."""

    max_per_tenant: int
    allow_loopback_http: bool
    resolver: Resolver


def new_secret() -> str:
    return secrets.token_hex(32)


def _lock_tenant(session: Session, tenant_id: str) -> None:
    """Serialises a tenant's webhook changes: a no-op UPDATE takes the tenant's row lock on
    PostgreSQL and the write lock on SQLite, so two concurrent creates cannot both pass the
    cap and duplicate checks."""
    session.execute(update(m.Tenant).where(m.Tenant.id == tenant_id).values(name=m.Tenant.name))


def get(session: Session, tenant_id: str, webhook_id: str) -> m.Webhook:
    hook = session.get(m.Webhook, webhook_id)
    if hook is None or hook.tenant_id != tenant_id:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def list_for(session: Session, tenant_id: str) -> list[m.Webhook]:
    return list(session.scalars(select(m.Webhook).where(m.Webhook.tenant_id == tenant_id)
                                .order_by(m.Webhook.created_at, m.Webhook.id)))


def create(session: Session, tenant_id: str, url: str, events: list[str], sealer: Sealer,
           rules: Rules, *, scope: str = "tenant") -> tuple[m.Webhook, str]:
    """Registers a webhook; returns it and its secret (the only time the secret is shown).
    `scope` "insurer" (a webhook created by an insurer staff key) receives every tenant's
    notices; "tenant" only its own tenant's (service.notices)."""
    url = destinations.normalize(url)
    destinations.check(url, rules.resolver, allow_loopback_http=rules.allow_loopback_http)
    _lock_tenant(session, tenant_id)
    count = session.scalar(select(func.count()).select_from(m.Webhook).where(m.Webhook.tenant_id == tenant_id)) or 0
    if count >= rules.max_per_tenant:
        raise Conflict(f"this tenant already has {count} webhooks (the limit is {rules.max_per_tenant}); "
                       "delete one first", type="webhook_limit_reached")
    if session.scalar(select(m.Webhook.id).where(m.Webhook.tenant_id == tenant_id, m.Webhook.url == url)):
        raise Conflict("a webhook with this URL already exists; pause, rotate or delete it instead",
                       type="webhook_duplicate")
    secret = new_secret()
    hook = m.Webhook(id=m.new_id(), tenant_id=tenant_id, url=url, events=sorted(set(events)), active=True,
                     scope=scope)
    hook.secret_sealed = sealer.seal(secret, context=hook.id)
    session.add(hook)
    session.commit()
    return hook, secret


def set_active(session: Session, tenant_id: str, webhook_id: str, active: bool, rules: Rules) -> m.Webhook:
    """Pause or resume. A paused webhook gets no new deliveries queued (the indexer fans out to
    active webhooks only) and its queued ones are held, not dropped: they go out after `resume`,
    which checks the destination again."""
    hook = get(session, tenant_id, webhook_id)
    if active and not hook.active:
        destinations.check(hook.url, rules.resolver, allow_loopback_http=rules.allow_loopback_http)
    hook.active = active
    session.commit()
    return hook


def rotate(session: Session, tenant_id: str, webhook_id: str, sealer: Sealer) -> tuple[m.Webhook, str]:
    """A new signing secret, effective for every delivery attempted from now on (queued ones
    included); the old one stops verifying at once."""
    hook = get(session, tenant_id, webhook_id)
    secret = new_secret()
    hook.secret_sealed = sealer.seal(secret, context=hook.id)
    session.commit()
    return hook, secret


def remove(session: Session, tenant_id: str, webhook_id: str) -> None:
    """Deletes the webhook and its outbox rows (delivered or not)."""
    hook = get(session, tenant_id, webhook_id)
    session.execute(delete(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook.id))
    session.delete(hook)
    session.commit()
