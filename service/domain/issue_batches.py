"""Batch issuance answered as soon as its transactions are sent: a background thread runs
`issuance.issue` on a session of its own and keeps the batch's status (`m.IssueBatch`) to poll,
while each cover's `policy.issued` notice reports its issuance. The request waits only for the
broadcasts, so a refusal before anything is sent (an expired quote, a revert in simulation) is
still the request's own 4xx.

Statuses: `sending` (broadcasts under way), `pending` (all sent, receipts awaited), then
`issued` (every cover), `partial` (a chunk was refused after others landed: `error` names the
first cover not issued), `failed` (nothing issued: `error`). A process that dies mid-batch, or a
thread that ends with transactions it has no receipt for, leaves the batch to the reconciler
(service.domain.issue_intents): each cover written ahead is matched to the chain, and the batch
finished from what is on-chain. A repeat of the request with its Idempotency-Key answers the
same batch, never a second issuance of its covers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.session import transaction
from service.domain import issuance, issue_intents
from service.errors import NotFound, ServiceError

log = logging.getLogger(__name__)
SEND_TIMEOUT = 600.0  # the request waits at most this long for the broadcasts


def _error(type_: str, detail: str, not_issued_from: int) -> dict[str, Any]:
    return {"type": type_, "detail": detail, "not_issued_from": not_issued_from}


def _set(factory: sessionmaker[Session], batch_id: str, **values: Any) -> None:
    with transaction(factory) as s:
        row = s.get(m.IssueBatch, batch_id)
        assert row is not None
        if row.status not in issue_intents.OPEN:
            return  # the reconciler finished it (this thread was taken for dead): its answer stands
        for k, v in values.items():
            setattr(row, k, v)
        if row.status not in issue_intents.OPEN:  # final: its write-ahead log has served
            issue_intents.forget_batch(s, batch_id)


def start(factory: sessionmaker[Session], gw: Gateway, indexer: Indexer, quote_id: str, covers: Sequence[Any],
          cover_seconds: int | None, chunk: int, *, tenant_id: str | None, may_see: Callable[[str | None], bool],
          insurer: str, assessor: str, in_flight: int, idempotency_key: str | None = None) -> m.IssueBatch:
    """Starts the batch and returns it once its transactions are broadcast; raises the
    `ServiceError` that refused it when nothing could be sent. A batch with the same
    `idempotency_key` ("<caller's tenant>/<key>": an earlier request whose process died before
    answering) is answered instead: its covers may be on-chain, and the reconciler finishes it."""
    with transaction(factory) as s:
        if idempotency_key is not None:
            earlier = s.scalar(select(m.IssueBatch).where(m.IssueBatch.idempotency_key == idempotency_key))
            if earlier is not None:
                s.expunge(earlier)
                return earlier
        row = m.IssueBatch(tenant_id=tenant_id, quote_id=quote_id, status="sending", total=len(covers), policy_ids=[],
                           idempotency_key=idempotency_key)
        s.add(row)
        s.flush()
        batch_id = row.id
    sent = threading.Event()
    refused: list[ServiceError] = []

    def on_sent() -> None:
        _set(factory, batch_id, status="pending")
        sent.set()

    def run() -> None:
        try:
            with factory() as session:
                issued = issuance.issue(session, gw, indexer, quote_id, covers, cover_seconds, chunk,
                                        may_see=may_see, insurer=insurer, assessor=assessor, in_flight=in_flight,
                                        on_sent=on_sent, batch_id=batch_id)
                ids = [p.id for p, _ in issued.policies]
            e = issued.error
            error = _error(e.type, e.detail, e.not_issued_from) if e else None
            if issued.unknown:  # some transactions may still land: decided from the chain
                _set(factory, batch_id, policy_ids=ids, status="pending", error=error, handed_over=True)
            else:
                _set(factory, batch_id, policy_ids=ids, status="partial" if e else "issued", error=error)
        except ServiceError as exc:
            if not sent.is_set():
                refused.append(exc)  # nothing was sent: the request answers with it
            _end(factory, batch_id, _error(exc.type, exc.detail, 0))
        except Exception as exc:  # noqa: BLE001 - recorded on the batch; the thread must not die silently
            log.exception("batch %s failed", batch_id)
            _end(factory, batch_id, _error("internal", str(exc), 0))
        finally:
            sent.set()

    threading.Thread(target=run, name=f"issue-batch-{batch_id}", daemon=True).start()
    sent.wait(SEND_TIMEOUT)
    if refused:
        raise refused[0]
    return get(factory, batch_id, lambda _: True)


def _end(factory: sessionmaker[Session], batch_id: str, error: dict[str, Any]) -> None:
    """The thread stopped on an error: `failed` if nothing was written ahead (nothing sent), else
    the reconciler finishes the batch from what reached the chain."""
    with factory() as s:
        sent = issue_intents.batch_sent(s, batch_id)
    if not sent:
        _set(factory, batch_id, status="failed", error=error)
    else:
        _set(factory, batch_id, error=error, handed_over=True)


def get(factory: sessionmaker[Session], batch_id: str, may_see: Callable[[str | None], bool]) -> m.IssueBatch:
    with factory() as s:
        row = s.get(m.IssueBatch, batch_id)
        if row is None or not may_see(row.tenant_id):
            raise NotFound(f"no issue batch {batch_id}")
        s.expunge(row)
        return row
