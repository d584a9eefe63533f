"""Policies to try again later: one row per (policy, action) in `payout_retries`.

A policy bisected out of a failing batch is retried after a backoff that doubles with each
failed attempt (capped), not every cycle. A policy refused only because our projection was
behind (`policy_mismatch`) is deferred: retried next cycle without counting as a failure.
The rows live in the database, so replicas and restarts share them and operators can read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from contracts.enums import PolicyStatus
from service.db import models as m
from service.db.session import transaction

SETTLE, EXPIRE, LAPSE = "settle", "expire", "lapse"


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the given number of failed attempts (1, 2, ...)."""
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


class Retries:
    def __init__(self, factory: sessionmaker[Session], clock: Callable[[], datetime], *,
                 base: float = 30.0, cap: float = 3600.0) -> None:
        self.factory = factory
        self.clock = clock
        self.base = base
        self.cap = cap

    def waiting(self, action: str) -> set[int]:
        """Policies in backoff: not to be sent this cycle."""
        with self.factory() as s:
            return set(s.scalars(select(m.PayoutRetry.policy_id).where(
                m.PayoutRetry.action == action, m.PayoutRetry.next_attempt_at > self.clock())))

    def due(self, action: str) -> dict[str, list[int]]:
        """Policies whose retry time has come, by service."""
        out: dict[str, list[int]] = {}
        with self.factory() as s:
            for row in s.scalars(select(m.PayoutRetry).where(
                    m.PayoutRetry.action == action, m.PayoutRetry.next_attempt_at <= self.clock())
                    .order_by(m.PayoutRetry.policy_id)):
                out.setdefault(row.service_id, []).append(row.policy_id)
        return out

    def failed(self, action: str, policy_id: int, service_id: str, error: str) -> m.PayoutRetry:
        return self._record(action, policy_id, service_id, error, failed=True)

    def deferred(self, action: str, policy_id: int, service_id: str, error: str) -> m.PayoutRetry:
        return self._record(action, policy_id, service_id, error, failed=False)

    def clear(self, action: str, policy_ids: Iterable[int]) -> None:
        """Forgets the policies' retries. Read first: the delete is a write, which on SQLite
        waits behind another process's write (the API indexing thousands of payouts) once per
        settled batch, and there is almost never anything to delete (a row added meanwhile by
        another replica stays: its retry finds nothing owed and clears it)."""
        ids = list(policy_ids)
        if not ids:
            return
        with self.factory() as s:
            if s.scalar(select(m.PayoutRetry.policy_id).where(m.PayoutRetry.action == action,
                                                              m.PayoutRetry.policy_id.in_(ids)).limit(1)) is None:
                return
        with transaction(self.factory) as s:
            s.execute(delete(m.PayoutRetry).where(m.PayoutRetry.action == action,
                                                  m.PayoutRetry.policy_id.in_(ids)))

    def prune(self) -> None:
        """Forgets policies that are no longer active (expired by anyone): nothing to retry."""
        with transaction(self.factory) as s:
            s.execute(delete(m.PayoutRetry).where(m.PayoutRetry.policy_id.in_(
                select(m.Policy.id).where(m.Policy.status != PolicyStatus.ACTIVE))))

    def _record(self, action: str, policy_id: int, service_id: str, error: str, *, failed: bool) -> m.PayoutRetry:
        now = self.clock()
        with transaction(self.factory) as s:
            row = s.get(m.PayoutRetry, (policy_id, action))
            if row is None:
                row = m.PayoutRetry(policy_id=policy_id, action=action, service_id=service_id, attempts=0)
                s.add(row)
            if failed:
                row.attempts += 1
            wait = backoff(row.attempts, self.base, self.cap) if failed else 0.0
            row.next_attempt_at = now + timedelta(seconds=wait)
            row.last_error = error[:2000]
            row.updated_at = now
        return row
