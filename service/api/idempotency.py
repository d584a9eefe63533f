"""Idempotency-Key for money-moving POSTs: a route takes the `Idempotent` dependency and wraps
its work in `run(body, work)`.

The key is reserved (row with no response) before any work, so a concurrent repeat gets 409
instead of moving money twice; the first response, success or refusal (4xx), is stored and
replayed for repeats; the same key with a different body is refused (422). Only an unknown
outcome (5xx) releases the key. A reservation still without an outcome after the TTL
(`idempotency_ttl_seconds`, well beyond the sender's receipt timeout) belongs to a process that
died: like a 5xx its outcome is unknown, and the next request with the key takes it over.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.api.deps import FactoryDep, Principal, get_principal
from service.db import models as m
from service.db.models import now
from service.db.session import transaction
from service.errors import Conflict, ServiceError, Unprocessable


def _fingerprint(method: str, path: str, body: Any) -> str:
    data = json.dumps([method, path, jsonable_encoder(body)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class Idempotency:
    """The request's Idempotency-Key (if any), for `run`."""

    factory: sessionmaker[Session]
    principal: Principal
    key: str | None
    request: Request

    @property
    def scope_key(self) -> str | None:
        """The key with its tenant ("<tenant>/<key>"): what names this request elsewhere (issuance)."""
        return None if self.key is None else f"{self.principal.tenant_id or '-'}/{self.key}"

    def run(self, body: Any, work: Callable[[], Any], status: int = 200) -> JSONResponse:
        """`work()`'s answer (with `status`), or the recorded answer of an earlier request with
        this key; `body` is what makes two requests the same one."""
        if self.key is None:
            return JSONResponse(jsonable_encoder(work()), status_code=status)
        fingerprint = _fingerprint(self.request.method, self.request.url.path, body)
        ttl = timedelta(seconds=self.request.app.state.settings.idempotency_ttl_seconds)
        with transaction(self.factory) as s:
            existing = s.scalar(select(m.IdempotencyRecord).where(*self._record()))
            if existing is not None:
                if existing.request_hash != fingerprint:
                    raise Unprocessable("this Idempotency-Key was used with a different request",
                                        type="idempotency_key_reused")
                if existing.status_code is not None:
                    return JSONResponse(existing.response, status_code=existing.status_code,
                                        headers={"Idempotent-Replayed": "true"})
                if not _take_over(s, existing, ttl):
                    raise Conflict("a request with this Idempotency-Key is still in progress",
                                   type="idempotency_in_progress")
        if existing is None:
            try:
                with transaction(self.factory) as s:
                    s.add(m.IdempotencyRecord(tenant_id=self.principal.tenant_id, key=self.key,
                                              request_hash=fingerprint))
            except IntegrityError:
                raise Conflict("a request with this Idempotency-Key is in progress",
                               type="idempotency_in_progress") from None
        # The reservation is ours: run the work and record its outcome.
        try:
            payload = work()
        except ServiceError as exc:
            if exc.status >= 500:
                self._release()
                raise
            # A refusal is the outcome (the sender simulates before sending, so nothing moved): replay it.
            status, payload = exc.status, {"type": exc.type, "detail": exc.detail}
        except BaseException:
            self._release()
            raise
        encoded = jsonable_encoder(payload)
        with transaction(self.factory) as s:
            s.execute(update(m.IdempotencyRecord).where(*self._record()).values(status_code=status, response=encoded))
        return JSONResponse(encoded, status_code=status)

    def _record(self) -> tuple[Any, ...]:
        return m.IdempotencyRecord.tenant_id == self.principal.tenant_id, m.IdempotencyRecord.key == self.key

    def _release(self) -> None:
        """The outcome is unknown (chain unreachable, crash): let the client retry with the key."""
        with transaction(self.factory) as s:
            s.execute(delete(m.IdempotencyRecord).where(*self._record()))


def idempotency(request: Request, factory: FactoryDep, principal: Annotated[Principal, Depends(get_principal)],
                idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Idempotency:
    return Idempotency(factory, principal, idempotency_key, request)


Idempotent = Annotated[Idempotency, Depends(idempotency)]


def _take_over(s: Session, row: m.IdempotencyRecord, ttl: timedelta) -> bool:
    """Claims a reservation older than the TTL; of concurrent claimants exactly one wins."""
    if now() - row.created_at < ttl:
        return False
    claimed = s.execute(update(m.IdempotencyRecord).where(
        m.IdempotencyRecord.id == row.id, m.IdempotencyRecord.status_code.is_(None),
        m.IdempotencyRecord.created_at == row.created_at).values(created_at=now()))
    return bool(claimed.rowcount)  # type: ignore[attr-defined]
