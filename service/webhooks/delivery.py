"""Delivers the webhook outbox: at least once, signed, retried with exponential backoff.

A delivery is claimed by pushing its `next_attempt_at` forward with a compare-and-set, so
two dispatchers do not post the same row at the same moment (a crash after posting still
re-sends it later: receivers deduplicate by the event id)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import models as m
from service.db.session import transaction
from service.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
CLAIM_FOR = timedelta(seconds=60)


@dataclass
class DeliveryResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


class WebhookDispatcher:
    def __init__(self, factory: sessionmaker[Session], client: httpx.Client | None = None, *,
                 max_attempts: int = 8, backoff: float = 2.0) -> None:
        self.factory = factory
        self.client = client or httpx.Client(timeout=10)
        self.max_attempts = max_attempts
        self.backoff = backoff

    def _claim(self, now: datetime) -> list[tuple[int, str, str, str, dict[str, object]]]:
        claimed = []
        with transaction(self.factory) as s:
            rows = s.execute(
                select(m.WebhookDelivery, m.Webhook).join(m.Webhook, m.Webhook.id == m.WebhookDelivery.webhook_id)
                .where(m.WebhookDelivery.delivered_at.is_(None), m.WebhookDelivery.failed.is_(False),
                       m.WebhookDelivery.next_attempt_at <= now)
                .order_by(m.WebhookDelivery.id).limit(100)).all()
            for d, hook in rows:
                moved = s.execute(update(m.WebhookDelivery).where(
                    m.WebhookDelivery.id == d.id, m.WebhookDelivery.next_attempt_at == d.next_attempt_at)
                    .values(next_attempt_at=now + CLAIM_FOR))
                if moved.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((d.id, d.event_id, hook.url, hook.secret, d.payload))
        return claimed

    def run_once(self) -> DeliveryResult:
        result = DeliveryResult()
        for delivery_id, event_id, url, secret, payload in self._claim(datetime.now(UTC)):
            body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json", EVENT_HEADER: event_id,
                       SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
            error: str | None = None
            try:
                response = self.client.post(url, content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record(delivery_id, error, result)
        return result

    def _record(self, delivery_id: int, error: str | None, result: DeliveryResult) -> None:
        with transaction(self.factory) as s:
            d = s.get(m.WebhookDelivery, delivery_id)
            if d is None:
                return
            d.attempts += 1
            if error is None:
                d.delivered_at = datetime.now(UTC)
                d.last_error = None
                result.delivered += 1
                return
            d.last_error = error
            if d.attempts >= self.max_attempts:
                d.failed = True
                result.failed += 1
            else:
                d.next_attempt_at = datetime.now(UTC) + timedelta(seconds=self.backoff * 2 ** (d.attempts - 1))
                result.retrying += 1
            log.info("webhook delivery %s failed (%s), attempt %d", delivery_id, error, d.attempts)
