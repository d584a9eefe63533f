"""The worker's notice passes that no chain event triggers: `policy.expiring`, once per policy,
when its cover ends within `CYBERCOVER_NOTICE_EXPIRING_DAYS` days of chain time.

Run after every payout cycle by `cybercover worker`. Idempotent: the occurrence key names the
policy and its cover end, so a policy is announced once whatever the number of cycles, replicas
or restarts (a webhook created while the policy is inside the horizon gets it on the next
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

    def _now(self) -> int:
        """Chain time at the block the projection reflects (as the payout worker reads it)."""
        return self.gw.block_time("latest" if self.indexer.confirmations == 0 else self.indexer.block())

    def run_once(self) -> NoticeResult:
        result = NoticeResult()
        if self.days <= 0:
            return result
        now = self._now()
        with self.factory() as s:
            rows = s.execute(
                select(m.Policy, m.Product.service_id, m.PolicyOwner.tenant_id)
                .join(m.Product, m.Product.id == m.Policy.product_id)
                .outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                .where(m.Policy.status == PolicyStatus.ACTIVE, m.Policy.renewed_by == 0,
                       m.Policy.cover_end > now, m.Policy.cover_end <= now + self.days * DAY)
                .order_by(m.Policy.id)).all()
        for policy, service_id, tenant_id in rows:
            data = {"policy_id": policy.id, "product_id": policy.product_id, "service_id": service_id,
                    "cover_start": policy.cover_start, "cover_end": policy.cover_end,
                    "seconds_left": policy.cover_end - now, "notice_days": self.days,
                    "limit": str(policy.limit), "paid": str(policy.paid)}
            try:
                with self.factory.begin() as s:
                    n = notices.publish(s, "policy.expiring", data,
                                        key=f"policy.expiring:{policy.id}:{policy.cover_end}",
                                        tenant_ids=[tenant_id] if tenant_id else [])
            except IntegrityError:  # another replica queued it first
                continue
            if n:
                result.expiring.append(policy.id)
                result.queued += n
        return result
