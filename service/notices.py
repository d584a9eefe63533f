"""Notices: the event types the service sends as signed webhooks, and `publish`, the one way
any part of the service queues them (the indexer's handlers, worker passes, routes).

A notice goes to the active webhooks subscribed to its type that are either

- tenant webhooks of the tenants concerned (the tenants owning the policies; for an outage,
  the tenants with live policies on the service), or
- insurer-wide webhooks (`scope == "insurer"`: created by a key of the insurer's staff), which
  receive every tenant's notices.

An occurrence is published once: its stable `key` is recorded (table `notices`) whether or not a
webhook was subscribed, so publishing it again — a retried worker pass, the indexer replaying
the chain after a reorg — queues nothing, not even for a webhook created since. Each
(occurrence, webhook) has one event id, derived from the key and the webhook id; the receiver
deduplicates retried deliveries by it (`X-Cybercover-Event-Id`). `cybercover reindex` replays
without notifying at all. Delivery, signing and retries are service.webhooks.delivery's.
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
    "policy.issued", "policy.expiring", "policy.cancelled", "policy.renewed",
    "incident.reported", "incident.report_anchored",
)

_OWNER = "the policy's tenant, insurer-wide"
_SERVICE = "tenants with live policies on the service, insurer-wide"
_OUTAGE = ("`service_id`, `index` (window), `start`, `end`, `ongoing`, `downtime_seconds`, `config_version`, "
           "`replaced` (windows merged into it), `verified_at`")
# type → (when, recipients, data fields): the README's table and POST /v1/webhooks' description.
PAYLOADS: dict[str, tuple[str, str, str]] = {
    "outage.started": ("a covered service's outage window is verified for the first time (OutageVerified)",
                       _SERVICE, _OUTAGE),
    "outage.verified": ("every verified report of a window: new, extended, merged or ended", _SERVICE, _OUTAGE),
    "outage.closed": ("a window is verified as ended (first seen ended, or ongoing before)", _SERVICE, _OUTAGE),
    "payout.sent": ("a payout is made (PayoutSent)", _OWNER, "`policy_id`, `amount`, `entitlement`"),
    "payout.failed": ("the token refused the transfer; CoverPool credited the amount to the payee, who pulls it "
                      "with `claim(to)` (PayoutCredited)", _OWNER, "`policy_id`, `amount`, `payee`, `credited` (true)"),
    "payout.credited": ("the same as `payout.failed` (its earlier name)", _OWNER, "`policy_id`, `amount`, `payee`"),
    "claim.opened": ("entitlement above the auto-pay limit goes to review (ClaimOpened)", _OWNER,
                     "`claim_id`, `policy_id`, `amount`, `deadline` (unix), `reason`"),
    "claim.decided": ("a claim is approved (in full or part), rejected, or lapses past its deadline", _OWNER,
                      "`claim_id`, `policy_id`, `decision` (`approved`, `rejected`, `lapsed`), `claimed`, "
                      "`approved_amount` (0 when rejected), `reason_hash` (rejected), `incident_report` (approved)"),
    "claim.approved": ("ClaimApproved (see `claim.decided`)", _OWNER, "`claim_id`, `policy_id`, `amount` (approved)"),
    "claim.rejected": ("ClaimRejected (see `claim.decided`)", _OWNER,
                       "`claim_id`, `policy_id`, `amount` (claimed), `reason_hash`"),
    "claim.lapsed": ("ClaimLapsed: deemed approved in full and paid", _OWNER,
                     "`claim_id`, `policy_id`, `amount`"),
    "assessment.due": ("an activity of a live policy's §7.2.1 plan falls due (the due-list pass; once per "
                       "policy, activity and due date)", _OWNER, "`policy_id`, `activity`, `due_at` and the due "
                       "list's fields (In-policy assessments and the due list)"),
    "assessment.overdue": ("the same activity is past its due date", _OWNER, "as `assessment.due`"),
    "risk.changed": ("an anchored in-policy report supersedes the subject's report and changes its level "
                     "(once per superseding anchor)", "the tenants of the subject's policies, insurer-wide",
                     "old and new level and score, subject, the policies concerned, effect on renewals (Re-rating)"),
    "policy.issued": ("a cover's issue transaction is mined (`POST /v1/policies`, `/batch`; once per cover)", _OWNER,
                      "`policy_id`, `batch_id` (null: not a batch), `holder_ref`, `beneficiary`, `product_id`, "
                      "`limit`, `premium`"),
    "policy.expiring": ("a live, unrenewed cover ends within `CYBERCOVER_NOTICE_EXPIRING_DAYS` (14) days of chain "
                        "time (worker pass; once per policy)", _OWNER,
                        "`policy_id`, `product_id`, `service_id`, `cover_start`, `cover_end`, `seconds_left`, "
                        "`notice_days`, `limit`, `paid`"),
    "policy.cancelled": ("a cover is cancelled (PolicyCancelled)", _OWNER,
                         "`policy_id`, `refund`, `released` (collateral)"),
    "policy.renewed": ("a cover is renewed (PolicyRenewed)", _OWNER, "`policy_id`, `renewed_by`"),
    "incident.reported": ("an incident is recorded (`POST /v1/incidents`): the §8 clock starts (once per incident)",
                          "the incident's tenant, insurer-wide",
                          "`incident_id`, `policy_id` (null: reported against the service), `service_id`, "
                          "`tenant_id`, `description`, `reported_at` and `response_deadline` (unix, the service's "
                          "wall clock: reported_at + 1 h, §8.2.1 a), `outage` (`start`, `end`; null: not named), "
                          "`log_retention_days`"),
    "incident.report_anchored": ("an incident's §8 report is anchored on-chain (ReportAnchored of kind Incident, for "
                                 "a report built through the incident routes)", "the incident's tenant, insurer-wide",
                                 "`incident_id`, `policy_id`, `service_id`, `tenant_id`, `assessment_id`, "
                                 "`anchor_id` (what a claim approval takes), `report_hash`, `subject`, `outage` "
                                 "(`service_id`, `start`, `end`), `losses_total_minor` (minor units of `currency`), "
                                 "`currency`, `anchor_block`, `anchor_tx`"),
}
ENVELOPE = ("Every delivery is `{\"id\", \"type\", \"block\", \"tx\", \"data\"}` (`block`/`tx`: the log that caused "
            "it; null for worker passes), plus `tenant_ids` (whose notice it is) for insurer-wide webhooks. "
            "Amounts are decimal strings in the payout token's units. Signed `X-Cybercover-Signature: "
            "t=<unix>,v1=<HMAC-SHA256(secret, \"<t>.<body>\")>`; deduplicate on `X-Cybercover-Event-Id` (= `id`).")


def table() -> str:
    """The notice types as a Markdown table (type, when, recipients, data fields)."""
    rows = [f"| `{t}` | {when} | {who} | {fields} |" for t, (when, who, fields) in PAYLOADS.items()]
    return "\n".join(["| type | when | recipients | data fields |", "|---|---|---|---|", *rows])


TENANT = "tenant"  # a client's (or the insurer's distributor's) webhook: its own tenant's notices
INSURER = "insurer"  # created by insurer staff: every tenant's notices
SCOPES = (TENANT, INSURER)


def event_id(key: str, webhook_id: str) -> str:
    """The delivery's event id: stable per (occurrence, webhook). The indexer's keys are
    `<tx>:<position of the log in it>`, so its ids are the ones it has always used."""
    return keccak(text=f"{key}:{webhook_id}").hex()[:32]


def key_hash(key: str) -> str:
    return keccak(text=key).hex()


def published(session: Session, key: str) -> bool:
    """Whether the occurrence `key` was published already."""
    return session.get(m.Notice, key_hash(key)) is not None


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
    key's primary key (IntegrityError); it rolls back, and publishing again queues nothing."""
    if event not in EVENTS:
        raise ValueError(f"unknown notice type {event!r}")
    if published(session, key):
        return 0
    tenants = sorted(set(tenant_ids))
    hooks = recipients(session, event, tenants)
    ids = {h.id: event_id(key, h.id) for h in hooks}
    seen = set(session.scalars(select(m.WebhookDelivery.event_id)
                               .where(m.WebhookDelivery.event_id.in_(list(ids.values()))))) if ids else set()
    queued = 0
    for hook in hooks:
        eid = ids[hook.id]
        if eid in seen:  # queued before this table existed (the indexer's ids are unchanged)
            continue
        payload: dict[str, Any] = {"id": eid, "type": event, "block": block, "tx": tx, "data": data}
        if hook.scope == INSURER:
            payload["tenant_ids"] = tenants  # the insurer sees whose notice it is; a client never does
        session.add(m.WebhookDelivery(event_id=eid, webhook_id=hook.id, event_type=event, payload=payload))
        queued += 1
    session.add(m.Notice(key_hash=key_hash(key), key=key, event=event, queued=queued))
    session.flush()
    return queued


def publish_many(session: Session, event: str, items: list[tuple[str, dict[str, Any]]], *,
                 tenant_ids: Iterable[str] = (), block: int | None = None, tx: str | None = None) -> int:
    """`publish` for many occurrences of one event to the same recipients (a batch's covers):
    the recipients are looked up once. Keys never published before only (each cover is issued
    once): with no subscriber nothing is stored, so a 10,000-cover batch costs one query."""
    if event not in EVENTS:
        raise ValueError(f"unknown notice type {event!r}")
    tenants = sorted(set(tenant_ids))
    hooks = recipients(session, event, tenants)
    if not hooks:
        return 0
    queued = 0
    for key, data in items:
        for hook in hooks:
            eid = event_id(key, hook.id)
            payload: dict[str, Any] = {"id": eid, "type": event, "block": block, "tx": tx, "data": data}
            if hook.scope == INSURER:
                payload["tenant_ids"] = tenants
            session.add(m.WebhookDelivery(event_id=eid, webhook_id=hook.id, event_type=event, payload=payload))
            queued += 1
        session.add(m.Notice(key_hash=key_hash(key), key=key, event=event, queued=len(hooks)))
    session.flush()
    return queued
