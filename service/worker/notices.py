"""The worker's notice passes that no chain event triggers: `policy.expiring`, once per policy,
when its cover ends within `CYBERCOVER_NOTICE_EXPIRING_DAYS` days of chain time.

Run every worker interval by `cybercover worker`, in a thread beside the payout loop. Idempotent:
the occurrence key names the policy and its cover end, so a policy is announced once whatever the
number of cycles, replicas or restarts (a webhook created while the policy is inside the horizon gets it on the next
cycle). A renewed policy (its follow-on continues the cover) is not announced."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import PolicyStatus
from service import notices
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m

log = logging.getLogger(__name__)
DAY = 86_400
CHUNK = 100  # policies per query and per transaction (a short write: the API shares an SQLite file)


@dataclass
class NoticeResult:
    expiring: list[int] = field(default_factory=list)  # policies announced this pass (queued ≥ 1 delivery)
    queued: int = 0


class ExpiringNotices:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], indexer: Indexer, *, days: int) -> None:
        self.gw = gateway
        self.factory = factory
        self.indexer = indexer
        self.days = days
        # Occurrences known to be published (notices are never deleted): a later pass skips them
        # without a query each, so a pass costs one query when nothing entered the horizon.
        self._done: set[str] = set()

    def _now(self) -> int:
        """Chain time at the block the projection reflects (as the payout worker reads it)."""
        return self.gw.block_time("latest" if self.indexer.confirmations == 0 else self.indexer.block())

    def run_once(self) -> NoticeResult:
        result = NoticeResult()
        if self.days <= 0:
            return result
        now = self._now()
        with self.factory() as s:
            inside = s.execute(select(m.Policy.id, m.Policy.cover_end).where(
                m.Policy.status == PolicyStatus.ACTIVE, m.Policy.renewed_by == 0,
                m.Policy.cover_end > now, m.Policy.cover_end <= now + self.days * DAY)).all()
            todo = sorted(pid for pid, end in inside if _key(pid, end) not in self._done)
            rows = [row for i in range(0, len(todo), CHUNK) for row in s.execute(
                select(m.Policy, m.Product.service_id, m.PolicyOwner.tenant_id)
                .join(m.Product, m.Product.id == m.Policy.product_id)
                .outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                .where(m.Policy.id.in_(todo[i:i + CHUNK])).order_by(m.Policy.id)).all()]
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i:i + CHUNK]
            try:  # a chunk per transaction: one commit per policy cost ~10 s a pass at 10,000 covers
                with self.factory.begin() as s:
                    queued = [self._publish(s, now, *row) for row in chunk]
            except IntegrityError:  # another replica queued one of them first: one at a time
                queued = []
                for row in chunk:
                    try:
                        with self.factory.begin() as s:
                            queued.append(self._publish(s, now, *row))
                    except IntegrityError:
                        queued.append(0)
            for (policy, _, _), n in zip(chunk, queued, strict=True):
                self._done.add(_key(policy.id, policy.cover_end))  # published now, or before
                if n:
                    result.expiring.append(policy.id)
                    result.queued += n
        return result

    def _publish(self, s: Session, now: int, policy: m.Policy, service_id: str, tenant_id: str | None) -> int:
        data = {"policy_id": policy.id, "product_id": policy.product_id, "service_id": service_id,
                "cover_start": policy.cover_start, "cover_end": policy.cover_end,
                "seconds_left": policy.cover_end - now, "notice_days": self.days,
                "limit": str(policy.limit), "paid": str(policy.paid)}
        return notices.publish(s, "policy.expiring", data, key=_key(policy.id, policy.cover_end),
                               tenant_ids=[tenant_id] if tenant_id else [])


def _key(policy_id: int, cover_end: int) -> str:
    return f"policy.expiring:{policy_id}:{cover_end}"
