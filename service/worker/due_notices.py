"""A worker pass over the due list (service.domain.due): publishes `assessment.due` and
`assessment.overdue` (service.notices.publish) once per (policy, activity, due_at) — the notice
key names that occurrence, so running the pass again, on any replica, queues nothing new."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.domain import due

log = logging.getLogger(__name__)
Publish = Callable[..., int]


def _publish() -> Publish:
    from service import notices  # the `notices` package's module (merged at the lead's merge)

    return notices.publish  # type: ignore[no-any-return]


class DueNotifier:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], *, publish: Publish | None = None,
                 min_interval: float = 0.0) -> None:
        self.gw = gateway
        self.factory = factory
        self.publish = publish
        self.min_interval = min_interval  # the worker calls it every cycle; the due list changes slowly
        self._last = -float("inf")

    def run_once(self) -> int:
        """One pass (skipped within `min_interval` of the last): how many deliveries were queued."""
        if time.monotonic() - self._last < self.min_interval:
            return 0
        self._last = time.monotonic()
        publish = self.publish or _publish()
        now = self.gw.now()
        queued = 0
        with self.factory() as session:
            for p in due.due_list(session, now, self.gw.block_time):
                for item in p.items:
                    if item.status == "ok":
                        continue
                    event, key, data = due.notice(p, item)
                    queued += publish(session, event, data, key=key, tenant_ids=[p.tenant_id])
            session.commit()
        if queued:
            log.info("assessment notices queued", extra={"deliveries": queued})
        return queued
