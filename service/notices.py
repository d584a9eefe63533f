"""Notices: the event types the service sends as signed webhooks, and `publish`, the one way
any part of the service queues them (the indexer's handlers, worker passes, routes).

A notice goes to the active webhooks subscribed to its type that are either

- tenant webhooks of the tenants concerned (the tenants owning the policies; for an outage,
  the tenants with live policies on the service), or
- insurer-wide webhooks (`scope == "insurer"`: created by a key of the insurer's staff), which
  receive every tenant's notices.

Each (occurrence, webhook) has one event id, derived from the occurrence's stable `key` and the
webhook id: publishing the same occurrence again (a retried worker pass, a replay after a reorg,
a reindex) queues nothing new, and the receiver deduplicates retried deliveries by that id
(`X-Cybercover-Event-Id`). Delivery, signing and retries are service.webhooks.delivery's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_utils import keccak
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.db import models as m

# Every notice type (the webhook `events` enum). Payloads: README "Notices (webhook events)".
EVENTS: tuple[str, ...] = (
    "outage.started", "outage.verified", "outage.closed",
    "payout.sent", "payout.failed", "payout.credited",
    "claim.opened", "claim.decided", "claim.approved", "claim.rejected", "claim.lapsed",
    "assessment.due", "assessment.overdue", "risk.changed",
    "policy.expiring", "policy.cancelled", "policy.renewed",
)

TENANT = "tenant"  # a client's (or the insurer's distributor's) webhook: its own tenant's notices
INSURER = "insurer"  # created by insurer staff: every tenant's notices
SCOPES = (TENANT, INSURER)


def event_id(key: str, webhook_id: str) -> str:
    """The delivery's event id: stable per (occurrence, webhook). The indexer's keys are
    `<tx>:<position of the log in it>`, so its ids are the ones it has always used."""
    return keccak(text=f"{key}:{webhook_id}").hex()[:32]


def recipients(session: Session, event: str, tenant_ids: Iterable[str] = ()) -> list[m.Webhook]:
    """The active webhooks subscribed to `event`: those of `tenant_ids`, and the insurer-wide ones."""
    tenants = sorted(set(tenant_ids))
    scope = m.Webhook.scope == INSURER
    if tenants:
        scope = or_(scope, m.Webhook.tenant_id.in_(tenants))
    hooks = session.scalars(select(m.Webhook).where(m.Webhook.active, scope).order_by(m.Webhook.id))
    return [h for h in hooks if event in h.events]


def publish(session: Session, event: str, data: dict[str, Any], *, key: str,
            tenant_ids: Iterable[str] = (), block: int | None = None, tx: str | None = None) -> int:
    """Queues one webhook delivery per active webhook subscribed to `event`: webhooks of
    `tenant_ids`, plus insurer-wide webhooks (those created by insurer staff keys). `key` is a stable
    string naming the occurrence (e.g. f"assessment.due:{policy_id}:{due_at}"); the event id is
    derived from (key, webhook id), and publishing the same key again queues nothing new.
    Returns the number queued. The caller commits.

    Two processes publishing one key at the same moment: the loser's commit fails on the
    unique event id (IntegrityError); it rolls back, and publishing again queues nothing."""
    if event not in EVENTS:
        raise ValueError(f"unknown notice type {event!r}")
    tenants = sorted(set(tenant_ids))
    hooks = recipients(session, event, tenants)
    if not hooks:
        return 0
    ids = {h.id: event_id(key, h.id) for h in hooks}
    seen = set(session.scalars(select(m.WebhookDelivery.event_id)
                               .where(m.WebhookDelivery.event_id.in_(list(ids.values())))))
    queued = 0
    for hook in hooks:
        eid = ids[hook.id]
        if eid in seen:
            continue
        payload: dict[str, Any] = {"id": eid, "type": event, "block": block, "tx": tx, "data": data}
        if hook.scope == INSURER:
            payload["tenant_ids"] = tenants  # the insurer sees whose notice it is; a client never does
        session.add(m.WebhookDelivery(event_id=eid, webhook_id=hook.id, event_type=event, payload=payload))
        queued += 1
    if queued:
        session.flush()
    return queued
