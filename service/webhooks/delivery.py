"""Delivers the webhook outbox: at least once, signed, retried with exponential backoff, in its
own thread and asyncio loop — never inside the payout worker's loop (finding 4 of issue 10).

- Every attempt has one *total* deadline (DNS, connect, TLS, request, response headers): a
  receiver that trickles a byte every few seconds is cut off when it expires.
- At most `concurrency` attempts are in flight, and at most `tenant_concurrency` per tenant, so
  one tenant's slow receivers cannot take the slots of the others.
- A circuit breaker per (tenant, destination origin) holds deliveries to a destination that
  failed `breaker_failures` times in a row; after `breaker_cooldown` one trial goes through.
  Held deliveries are not claimed, so a dead receiver does not burn their attempts.
- The destination is checked before every attempt (service.webhooks.destinations) and the
  connection goes to the address that was checked, with the URL's host in the Host header and
  as TLS server name. No proxies from the environment, no redirects followed.

A delivery is claimed by pushing its `next_attempt_at` forward with a compare-and-set, so two
dispatchers do not post the same row at the same moment (a crash after posting still re-sends
it later: receivers deduplicate by the event id)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import certifi
import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import models as m
from service.db.session import transaction
from service.settings import Settings
from service.webhooks import destinations
from service.webhooks.breaker import Breakers
from service.webhooks.destinations import DestinationRefused, Resolver, Target
from service.webhooks.sealing import Sealer, SealingError, sealer_for
from service.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
USER_AGENT = "cybercover-webhooks/1"
_MAX_ERROR = 300


@dataclass
class DeliveryResult:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Limits:
    attempt_deadline: float = 10.0
    concurrency: int = 16
    tenant_concurrency: int = 2
    breaker_failures: int = 5
    breaker_cooldown: float = 60.0
    poll_interval: float = 1.0
    stop_grace: float = 5.0  # on stop, seconds for attempts in flight; the rest are released

    @classmethod
    def from_settings(cls, s: Settings) -> Limits:
        return cls(attempt_deadline=s.webhook_attempt_deadline, concurrency=s.webhook_concurrency,
                   tenant_concurrency=s.webhook_tenant_concurrency, breaker_failures=s.webhook_breaker_failures,
                   breaker_cooldown=s.webhook_breaker_cooldown, poll_interval=s.webhook_poll_interval)


@dataclass(frozen=True)
class Job:
    delivery_id: int
    claimed_until: datetime
    event_id: str
    tenant_id: str
    webhook_id: str
    url: str = field(repr=False)  # paths and queries may carry a receiver's token
    secret: str | None = field(repr=False)  # None: the sealed secret did not open
    payload: dict[str, Any] = field(repr=False)

    @property
    def breaker_key(self) -> tuple[str, str]:
        return self.tenant_id, destinations.origin(self.url)


def _due(now: datetime) -> tuple[Any, ...]:
    d = m.WebhookDelivery
    return d.delivered_at.is_(None), d.failed.is_(False), d.next_attempt_at <= now, m.Webhook.active.is_(True)


class WebhookDispatcher:
    def __init__(self, factory: sessionmaker[Session], sealer: Sealer, *, max_attempts: int = 8,
                 backoff: float = 2.0, limits: Limits | None = None,
                 resolver: Resolver = destinations.system_resolver, allow_loopback_http: bool = False,
                 verify: ssl.SSLContext | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.factory = factory
        self.sealer = sealer
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.limits = limits or Limits()
        self.resolver = resolver
        self.allow_loopback_http = allow_loopback_http
        self.ssl = verify or ssl.create_default_context(cafile=certifi.where())
        self.clock = clock
        self.breakers: Breakers[tuple[str, str]] = Breakers(self.limits.breaker_failures,
                                                            self.limits.breaker_cooldown)
        self.claim_for = timedelta(seconds=self.limits.attempt_deadline + 60)
        self.stopping = threading.Event()
        self.totals = DeliveryResult()
        self._in_flight: dict[str, int] = {}  # tenant → attempts in flight
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, factory: sessionmaker[Session], settings: Settings, **overrides: Any) -> WebhookDispatcher:
        kwargs: dict[str, Any] = {"max_attempts": settings.webhook_max_attempts, "backoff": settings.webhook_backoff,
                                  "limits": Limits.from_settings(settings),
                                  "allow_loopback_http": settings.webhook_allow_loopback_http}
        kwargs.update(overrides)
        return cls(factory, sealer_for(settings), **kwargs)

    # --- claiming -------------------------------------------------------------------------
    def _claim(self, free: int, in_flight: dict[str, int], blocked: set[tuple[str, str]],
               trial: set[tuple[str, str]]) -> list[Job]:
        """Claims up to `free` due deliveries: tenants taken in turn (oldest due first), each up
        to its free per-tenant slots, skipping destinations whose circuit is open and letting one
        trial through to a half-open one. Runs in a worker thread on snapshots of the loop's
        state (`in_flight`, the breakers'), so it shares nothing mutable with the loop."""
        if free <= 0:
            return []
        now = datetime.now(UTC)
        d, w = m.WebhookDelivery, m.Webhook
        with transaction(self.factory) as s:
            hooks = s.execute(
                select(w.id, w.tenant_id, w.url, w.secret_sealed, func.min(d.id).label("first"))
                .join(d, d.webhook_id == w.id).where(*_due(now))
                .group_by(w.id, w.tenant_id, w.url, w.secret_sealed).order_by("first")).all()
            allowed: dict[str, list[str]] = {}  # tenant → hook ids, oldest due first
            info: dict[str, tuple[str, str, str]] = {}
            for hook_id, tenant_id, url, sealed, _ in hooks:
                if (tenant_id, destinations.origin(url)) not in blocked:
                    allowed.setdefault(tenant_id, []).append(hook_id)
                    info[hook_id] = (tenant_id, url, sealed)
            queues: list[list[Any]] = []
            for tenant_id, hook_ids in allowed.items():
                quota = self.limits.tenant_concurrency - in_flight.get(tenant_id, 0)
                if quota > 0:
                    queues.append(list(s.execute(
                        select(d.id, d.next_attempt_at, d.event_id, d.webhook_id, d.payload)
                        .join(w, w.id == d.webhook_id)
                        .where(d.webhook_id.in_(hook_ids), *_due(now)).order_by(d.id).limit(quota)).all()))
            picked: list[Job] = []
            tried: set[tuple[str, str]] = set()
            while len(picked) < free and any(queues):
                for q in queues:  # one from each tenant in turn
                    if not q or len(picked) >= free:
                        continue
                    delivery_id, due_at, event_id, hook_id, payload = q.pop(0)
                    tenant_id, url, sealed = info[hook_id]
                    key = (tenant_id, destinations.origin(url))
                    if key in trial and key in tried:
                        continue  # half-open: a single trial
                    moved = s.execute(update(d).where(d.id == delivery_id, d.next_attempt_at == due_at)
                                      .values(next_attempt_at=now + self.claim_for))
                    if moved.rowcount != 1:  # type: ignore[attr-defined]
                        continue  # another dispatcher took it
                    tried.add(key)
                    picked.append(Job(delivery_id, now + self.claim_for, event_id, tenant_id, hook_id, url,
                                      self._open(sealed, hook_id), payload))
        return picked

    async def _claim_jobs(self, free: int) -> list[Job]:
        """Claims in a worker thread, then books the claimed attempts in the loop's state."""
        blocked, trial = self.breakers.closed_off(self.clock())
        jobs = await asyncio.to_thread(self._claim, free, dict(self._in_flight), blocked, trial)
        for job in jobs:
            self.breakers.started(job.breaker_key, self.clock())
            self._in_flight[job.tenant_id] = self._in_flight.get(job.tenant_id, 0) + 1
        return jobs

    def _open(self, sealed: str, hook_id: str) -> str | None:
        try:
            return self.sealer.open(sealed, context=hook_id)
        except SealingError:
            return None

    # --- one attempt ----------------------------------------------------------------------
    async def _attempt(self, job: Job) -> str | None:
        """Posts one delivery; None on a 2xx answer, else why not."""
        if job.secret is None:
            return "the webhook secret does not open with the configured key; rotate it"
        deadline = self.limits.attempt_deadline
        try:
            async with asyncio.timeout(deadline):
                target = await asyncio.to_thread(destinations.check, job.url, self.resolver,
                                                 allow_loopback_http=self.allow_loopback_http)
                status = await self._post(target, job.secret, job.event_id, job.payload, deadline)
        except TimeoutError:
            return f"no complete answer within the {deadline:g} s deadline"
        except DestinationRefused as exc:
            return f"destination refused: {exc.detail}"
        except (httpx.HTTPError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]
        return None if 200 <= status < 300 else f"HTTP {status}"

    async def _post(self, target: Target, secret: str, event_id: str, payload: dict[str, Any],
                    deadline: float) -> int:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        headers = {"Host": target.host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT,
                   EVENT_HEADER: event_id, SIGNATURE_HEADER: sign(secret, int(time.time()), body)}
        url = httpx.URL(scheme=target.scheme, host=str(target.address), port=target.port,
                        raw_path=target.path.encode("ascii"))
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        # A fresh client per attempt: no pooled connection is ever reused for another host name
        # that happens to share the address; no proxy from the environment; no redirects.
        async with httpx.AsyncClient(verify=self.ssl, trust_env=False, follow_redirects=False,
                                     timeout=deadline, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            request = client.build_request("POST", url, content=body, headers=headers, extensions=extensions)
            response = await client.send(request, stream=True)
            await response.aclose()  # the status is the answer; the body is never read
            return response.status_code

    async def _deliver(self, job: Job, result: DeliveryResult) -> None:
        try:
            error = await self._attempt(job)
        finally:
            self._in_flight[job.tenant_id] -= 1
        key = job.breaker_key
        if error is None:
            self.breakers.succeeded(key)
        else:
            self.breakers.failed(key, self.clock())
        outcome = await asyncio.to_thread(self._record, job, error)
        if outcome is not None:  # counted here, in the loop's thread
            setattr(result, outcome, getattr(result, outcome) + 1)

    def _record(self, job: Job, error: str | None) -> str | None:
        """Writes the attempt's outcome; returns which DeliveryResult counter it adds to."""
        with transaction(self.factory) as s:
            d = s.get(m.WebhookDelivery, job.delivery_id)
            if d is None:
                return None  # the webhook was deleted meanwhile
            d.attempts += 1
            if error is None:
                d.delivered_at = datetime.now(UTC)
                d.last_error = None
                return "delivered"
            d.last_error = error
            if d.attempts >= self.max_attempts:
                d.failed = True
                outcome = "failed"
            else:
                d.next_attempt_at = datetime.now(UTC) + timedelta(seconds=self.backoff * 2 ** (d.attempts - 1))
                outcome = "retrying"
            # Names the hook and the origin only: a URL's path or query may carry a token.
            log.info("webhook %s delivery %s to %s failed (%s), attempt %d", job.webhook_id, job.delivery_id,
                     destinations.origin(job.url), error, d.attempts)
            return outcome

    def _release(self, jobs: list[Job]) -> None:
        """Shutdown interrupted these attempts: make them due again at once (no attempt counted)."""
        d = m.WebhookDelivery
        with transaction(self.factory) as s:
            for job in jobs:
                s.execute(update(d).where(d.id == job.delivery_id, d.next_attempt_at == job.claimed_until,
                                          d.delivered_at.is_(None)).values(next_attempt_at=datetime.now(UTC)))

    # --- running --------------------------------------------------------------------------
    def run_once(self) -> DeliveryResult:
        """One pass: claim what is due (within the caps), deliver it concurrently, wait."""
        return asyncio.run(self._pass())

    async def _pass(self) -> DeliveryResult:
        result = DeliveryResult()
        jobs = await self._claim_jobs(self.limits.concurrency)
        await asyncio.gather(*(self._deliver(job, result) for job in jobs))
        return result

    def run_forever(self) -> str:
        """Delivers until `stop()`; attempts in flight then get `stop_grace` seconds to finish,
        and those still unfinished are released (due again, no attempt counted)."""
        asyncio.run(self._serve(self.limits.stop_grace))
        return self.run_summary()

    def run_summary(self) -> str:
        t = self.totals
        return f"webhooks: {t.delivered} delivered, {t.retrying} retries scheduled, {t.failed} given up"

    async def _serve(self, grace: float) -> None:
        tasks: dict[asyncio.Task[None], Job] = {}
        while not self.stopping.is_set():
            try:
                free = self.limits.concurrency - len(tasks)
                for job in await self._claim_jobs(free):
                    tasks[asyncio.create_task(self._deliver(job, self.totals))] = job
            except Exception:
                log.exception("webhook claim failed; retrying after the interval")
            if tasks:
                done, _ = await asyncio.wait(tasks, timeout=self.limits.poll_interval,
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    tasks.pop(task)
                    if not task.cancelled() and task.exception() is not None:
                        log.error("webhook delivery crashed", exc_info=task.exception())
            else:
                await asyncio.sleep(self.limits.poll_interval)
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                await asyncio.to_thread(self._release, [tasks[t] for t in pending])

    def start(self) -> threading.Thread:
        """Runs `run_forever` in a thread of its own (what `cybercover worker` does)."""
        self.stopping.clear()
        self._thread = threading.Thread(target=self.run_forever, name="webhooks", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
