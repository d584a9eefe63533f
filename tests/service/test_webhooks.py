"""Webhooks: outbox written by the indexer, delivered signed to a real local receiver, retried
with backoff after a failure, each with a stable event id; delivered by a dispatcher of their
own (total deadline per attempt, per-tenant and global caps, circuit breaker) so no receiver
holds up payouts; destinations checked; a tenant's webhooks managed by that tenant only.

Receivers are loopback servers, reached in the local-development mode
(`webhook_allow_loopback_http`); every other destination is checked against injected resolver
answers and never connected to."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import func, select, text, update

from service.api.routes.webhooks import get_resolver
from service.commands.serve import run_worker
from service.db import models as m
from service.db.migrate import alembic_config
from service.db.session import make_engine
from service.webhooks.delivery import Limits, WebhookDispatcher
from service.webhooks.sealing import KEY_FILE, Sealer, sealer_for
from service.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, verify
from tests.chain import USD
from tests.service.helpers import HOUR, Api, issue, outage, unique_service, worker

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

PUBLIC = "93.184.216.34"  # what the fake resolver answers for public names; never connected to


class Receiver:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(500)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Trickle:
    """A receiver that reads the request, then answers one byte at a time, for ever."""

    PREFIX = b"HTTP/1.1 200 OK\r\nX-Slow: "

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.lock = threading.Lock()
        self.open = self.accepted = self.max_open = 0
        self.opened = threading.Event()
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with self.lock:
            self.open += 1
            self.accepted += 1
            self.max_open = max(self.max_open, self.open)
        self.opened.set()
        try:
            conn.recv(65536)
            data = iter(self.PREFIX + b"a" * 10**6)
            while not self.stopped.is_set():
                conn.sendall(bytes([next(data)]))
                self.stopped.wait(self.every)
        except OSError:
            pass  # the client gave up
        finally:
            conn.close()
            with self.lock:
                self.open -= 1

    def wait_closed(self, timeout: float = 10) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if self.open == 0:
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


class FakeResolver:
    """Answers from a table (default: one public address); records every lookup."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.table.get(host, [PUBLIC])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def trickle() -> Iterator[Trickle]:
    t = Trickle()
    yield t
    t.close()


@pytest.fixture
def resolver(app: FastAPI) -> Iterator[FakeResolver]:
    fake = FakeResolver()
    previous = app.dependency_overrides[get_resolver]
    app.dependency_overrides[get_resolver] = lambda: fake
    yield fake
    app.dependency_overrides[get_resolver] = previous


@pytest.fixture
def local_dev(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """CYBERCOVER_WEBHOOK_ALLOW_LOOPBACK_HTTP=1 for this test: loopback receivers accepted."""
    monkeypatch.setattr(app.state.settings, "webhook_allow_loopback_http", True)


@pytest.fixture(autouse=True)
def _quiet_outbox(app: FastAPI) -> Iterator[None]:
    """The database is shared by the session: each test starts and ends with no delivery due."""
    def settle() -> None:
        with app.state.factory.begin() as s:
            s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.delivered_at.is_(None))
                      .values(failed=True))
    settle()
    yield
    settle()


def dispatcher(app: FastAPI, **kw: Any) -> WebhookDispatcher:
    kw.setdefault("allow_loopback_http", True)
    kw.setdefault("resolver", FakeResolver())
    return WebhookDispatcher.from_settings(app.state.factory, app.state.settings, **kw)


def _make_due(app: FastAPI) -> None:
    with app.state.factory.begin() as s:
        s.execute(update(m.WebhookDelivery).where(m.WebhookDelivery.delivered_at.is_(None),
                                                  m.WebhookDelivery.failed.is_(False))
                  .values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))


def _register(api: Api, headers: dict[str, str], url: str, events: list[str] | None = None,
              status: int = 201) -> Any:
    body = {"url": url, "events": events or ["payout.sent"]}
    return api.ok(api.c.post("/v1/webhooks", json=body, headers=headers), status)


def _queue(app: FastAPI, hook_id: str, n: int = 1) -> list[int]:
    with app.state.factory.begin() as s:
        rows = [m.WebhookDelivery(webhook_id=hook_id, event_type="payout.sent",
                                  payload={"type": "payout.sent", "n": i}) for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _rows(app: FastAPI, hook_id: str) -> list[m.WebhookDelivery]:
    with app.state.factory() as s:
        return list(s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook_id)
                              .order_by(m.WebhookDelivery.id)))


# --- delivery -------------------------------------------------------------------------------

def test_payout_webhook_signed_retried_delivered_once(api: Api, app: FastAPI, distributor, receiver,
                                                      local_dev) -> None:
    tenant, headers = distributor
    hook = _register(api, headers, receiver.url, ["payout.sent", "claim.opened"])
    assert len(hook["secret"]) == 64
    assert "secret" not in api.ok(api.c.get("/v1/webhooks", headers=headers))[0]
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 5 * HOUR, headers)
    worker(app).run_once()

    hooks = dispatcher(app, backoff=0.01)
    receiver.fail_next = 1
    first = hooks.run_once()
    assert first.retrying >= 1
    with app.state.factory() as s:
        row = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook["id"],
                                                        m.WebhookDelivery.last_error.is_not(None))).first()
        assert row is not None
        assert row.attempts == 1
        assert row.last_error == "HTTP 500"
    _make_due(app)
    hooks.run_once()
    _make_due(app)
    assert hooks.run_once().delivered == 0  # delivered ones are never re-sent

    events = {}
    for hdrs, body in receiver.received:
        assert verify(hook["secret"], hdrs[SIGNATURE_HEADER], body)
        assert not verify("wrong", hdrs[SIGNATURE_HEADER], body)
        assert not verify(hook["secret"], hdrs[SIGNATURE_HEADER], body, now=time.time() + 3600)  # replayed late
        assert not verify(hook["secret"], hdrs[SIGNATURE_HEADER], body + b" ")
        payload = json.loads(body)
        assert payload["id"] == hdrs[EVENT_HEADER]
        events[payload["type"]] = payload
    assert set(events) == {"payout.sent", "claim.opened"}
    assert events["payout.sent"]["data"] == {"policy_id": policy["id"], "amount": str(150 * USD),
                                             "entitlement": str(200 * USD)}
    assert len(receiver.received) == 2


def test_webhook_gives_up_after_max_attempts(api: Api, app: FastAPI, distributor, local_dev) -> None:
    _, headers = distributor
    hook = _register(api, headers, "http://127.0.0.1:9/nothing-listens")
    _queue(app, hook["id"])
    hooks = dispatcher(app, max_attempts=2, backoff=0)
    hooks.run_once()
    _make_due(app)
    hooks.run_once()
    [row] = _rows(app, hook["id"])
    assert row.failed
    assert row.attempts == 2
    assert row.delivered_at is None
    assert "ConnectError" in row.last_error


# --- finding 4: a slow receiver holds nothing but its own delivery ---------------------------

@pytest.mark.timeout(120)
def test_finding4_slow_receiver_does_not_delay_payouts(api: Api, app: FastAPI, trickle: Trickle,
                                                       receiver: Receiver, local_dev) -> None:
    """`cybercover worker`'s wiring (run_worker): tenant A's receiver trickles a byte every
    0.2 s for ever; tenant B's outage is verified only once A's receiver holds a connection,
    and B is paid and notified while that connection is still held."""
    tenant_a, tenant_b = api.tenant(), api.tenant()
    headers_a, headers_b = api.key(tenant_a, "distributor"), api.key(tenant_b, "distributor")
    hook_a = _register(api, headers_a, trickle.url + "/slow")
    _register(api, headers_b, receiver.url)
    _queue(app, hook_a["id"], 3)  # A has three deliveries due; its cap lets one go at a time
    service = unique_service()
    _, policy = issue(api, tenant_b, headers_b, service)

    payouts = worker(app)
    hooks = dispatcher(app, limits=Limits(attempt_deadline=60, tenant_concurrency=1, poll_interval=0.05,
                                          stop_grace=0.2))
    cycle = payouts.run_once
    seen: list[tuple[str, int]] = []
    cycles = 0

    def watched_cycle() -> Any:  # runs in the payout loop, like every chain call here
        nonlocal cycles
        cycles += 1
        if trickle.opened.is_set() and not any(e == "relayed" for e, _ in seen):
            outage(api, service, 2 * HOUR + 1, headers_b)
            seen.append(("relayed", trickle.open))
        result = cycle()
        if policy["id"] in result.settled:
            seen.append(("paid", trickle.open))
        if receiver.received:
            seen.append(("notified", trickle.open))
            payouts.stopping.set()
        if cycles >= 3000:  # a bound, not a timing assertion: about a minute of cycles
            payouts.stopping.set()
        return result

    payouts.run_once = watched_cycle  # type: ignore[method-assign]
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        summary = run_worker(payouts, hooks, 0.02)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    assert [e for e, _ in seen] == ["relayed", "paid", "notified"], seen
    assert all(open_ == 1 for _, open_ in seen), seen  # A's connection held throughout
    assert api.chain.balance(policy["beneficiary"]) == 100 * USD
    [(_, body)] = receiver.received
    assert json.loads(body)["data"]["policy_id"] == policy["id"]
    assert trickle.accepted == 1
    assert trickle.max_open == 1
    assert "policies settled" in summary
    assert "webhooks:" in summary
    # Stopping released A's interrupted attempt: due again, no attempt counted against it.
    assert [r.attempts for r in _rows(app, hook_a["id"])] == [0, 0, 0]
    assert trickle.wait_closed()


@pytest.mark.timeout(60)
def test_finding4_attempt_deadline_is_total_not_per_read(api: Api, app: FastAPI, distributor, trickle: Trickle,
                                                         local_dev) -> None:
    """A byte every 0.2 s never trips a per-read timeout; the 1 s total deadline ends it."""
    _, headers = distributor
    hook = _register(api, headers, trickle.url + "/slow")
    _queue(app, hook["id"])
    result = dispatcher(app, limits=Limits(attempt_deadline=1.0)).run_once()
    assert (result.delivered, result.retrying) == (0, 1)
    [row] = _rows(app, hook["id"])
    assert row.attempts == 1
    assert row.last_error == "no complete answer within the 1 s deadline"
    assert trickle.wait_closed()


@pytest.mark.timeout(60)
def test_finding4_global_and_per_tenant_caps(api: Api, app: FastAPI, trickle: Trickle, local_dev) -> None:
    tenants = [api.tenant() for _ in range(3)]
    hooks = []
    for i, t in enumerate(tenants):
        hook = _register(api, api.key(t, "distributor"), f"{trickle.url}/t{i}")
        _queue(app, hook["id"], 2)
        hooks.append(hook)
    d = dispatcher(app, limits=Limits(attempt_deadline=1.0, concurrency=2, tenant_concurrency=1))
    result = d.run_once()
    assert result.retrying == 2
    assert trickle.max_open == 2
    tried = [[r.attempts for r in _rows(app, h["id"])] for h in hooks]
    assert tried == [[1, 0], [1, 0], [0, 0]]  # one per tenant, oldest tenants first


def test_finding4_circuit_breaker_holds_a_failing_destination(api: Api, app: FastAPI, distributor,
                                                              local_dev) -> None:
    _, headers = distributor
    failing, healthy = Receiver(), Receiver()
    try:
        failing.fail_next = 10**6
        bad = _register(api, headers, failing.url)
        good = _register(api, headers, healthy.url)
        now = [1000.0]
        d = dispatcher(app, backoff=0, clock=lambda: now[0],
                       limits=Limits(breaker_failures=2, breaker_cooldown=30, tenant_concurrency=10))
        _queue(app, bad["id"], 2)
        assert d.run_once().retrying == 2  # two consecutive failures: the circuit opens
        _queue(app, bad["id"], 1)
        _queue(app, good["id"], 1)
        held = d.run_once()
        assert (held.delivered, held.retrying) == (1, 0)  # the other destination is not held
        assert [r.attempts for r in _rows(app, bad["id"])] == [1, 1, 0]  # held rows keep their attempts
        now[0] += 31  # cool-down over: half-open, a single trial
        failing.fail_next = 0
        trial = d.run_once()
        assert trial.delivered == 1
        assert len(failing.received) == 1
        assert d.run_once().delivered == 2  # the trial succeeded: closed again
        assert [r.delivered_at is not None for r in _rows(app, bad["id"])] == [True, True, True]
    finally:
        failing.close()
        healthy.close()


# --- finding 5: destinations ---------------------------------------------------------------

INTERNAL = ["http://127.0.0.1:8545/", "https://127.0.0.1:8545/", "https://[::1]/", "https://0x7f000001/",
            "https://2130706433/", "https://0177.0.0.1/", "https://localhost/", "https://169.254.169.254/latest",
            "https://[fe80::1]/", "https://10.0.0.1/", "https://[::ffff:127.0.0.1]/", "https://100.64.0.1/",
            "https://[fd00::1]/", "https://0.0.0.0/", "https://metadata.google.internal/",
            "https://rebind.example/", "https://mixed.example/", "http://hooks.example/"]


def test_finding5_webhook_to_internal_address_refused(api: Api, distributor, resolver: FakeResolver) -> None:
    _, headers = distributor
    resolver.table.update({"rebind.example": ["10.0.0.7"], "mixed.example": [PUBLIC, "169.254.169.254"]})
    for url in INTERNAL:
        r = api.c.post("/v1/webhooks", json={"url": url, "events": ["payout.sent"]}, headers=headers)
        assert r.status_code == 400, (url, r.text)
        assert r.json()["type"] == "webhook_destination_refused", url
    assert api.ok(api.c.get("/v1/webhooks", headers=headers)) == []
    ok = _register(api, headers, "https://hooks.example/cybercover")  # checked, never connected to
    assert ok["url"] == "https://hooks.example/cybercover"
    assert resolver.calls[-1] == "hooks.example"


def test_finding5_delivery_time_check_refuses_a_rebound_host(api: Api, app: FastAPI, distributor,
                                                            resolver: FakeResolver, caplog) -> None:
    """Public at registration, the metadata address at delivery: refused before connecting."""
    _, headers = distributor
    hook = _register(api, headers, "https://rebinding.example/hook?token=receiver-token")
    _queue(app, hook["id"])
    later = FakeResolver({"rebinding.example": ["169.254.169.254"]})
    with caplog.at_level(logging.INFO, logger="service.webhooks"):
        result = dispatcher(app, resolver=later, allow_loopback_http=False).run_once()
    assert result.retrying == 1
    assert later.calls == ["rebinding.example"]
    [row] = _rows(app, hook["id"])
    assert row.last_error.startswith("destination refused:")
    assert "cloud metadata" in row.last_error
    assert hook["secret"] not in caplog.text
    assert "receiver-token" not in caplog.text
    assert "https://rebinding.example:443" in caplog.text


def test_delivery_connects_to_the_checked_address(api: Api, app: FastAPI, distributor, receiver: Receiver,
                                                  local_dev, resolver: FakeResolver) -> None:
    """`pinned.test` exists only in the injected resolver: delivery works only because the
    connection goes to the address that was checked, with no second lookup."""
    _, headers = distributor
    resolver.table["pinned.test"] = ["127.0.0.1"]
    hook = _register(api, headers, f"http://pinned.test:{receiver.port}/hook?x=1")
    _queue(app, hook["id"])
    at_delivery = FakeResolver({"pinned.test": ["127.0.0.1"]})
    assert dispatcher(app, resolver=at_delivery).run_once().delivered == 1
    assert at_delivery.calls == ["pinned.test"]
    [(hdrs, _)] = receiver.received
    assert hdrs["Host"] == f"pinned.test:{receiver.port}"


def _tls_receiver(tmp: Path, name: str) -> tuple[Receiver, ssl.SSLContext, list[str | None]]:
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
                   check=True, capture_output=True)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, sni, _ctx: names.append(sni)  # type: ignore[assignment]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    return Receiver(server_ctx), client_ctx, names


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_delivery_keeps_the_name_for_sni_and_certificate(api: Api, app: FastAPI, distributor, local_dev,
                                                               resolver: FakeResolver, tmp_path: Path) -> None:
    _, headers = distributor
    tls, trust, sni = _tls_receiver(tmp_path, "hooks.test")
    try:
        resolver.table.update({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        right = _register(api, headers, f"https://hooks.test:{tls.port}/hook")
        wrong = _register(api, headers, f"https://other.test:{tls.port}/hook")
        _queue(app, right["id"])
        _queue(app, wrong["id"])
        result = dispatcher(app, resolver=resolver, verify=trust).run_once()
        assert (result.delivered, result.retrying) == (1, 1)
        assert sorted(n or "" for n in sni) == ["hooks.test", "other.test"]
        [(hdrs, _)] = tls.received
        assert hdrs["Host"] == f"hooks.test:{tls.port}"
        [row] = _rows(app, wrong["id"])
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error  # checked against the name, not the address
    finally:
        tls.close()


# --- finding 5: management, cap, fan-out ---------------------------------------------------

def test_finding5_webhook_cap_duplicates_and_bounded_fan_out(api: Api, app: FastAPI, distributor,
                                                             resolver: FakeResolver) -> None:
    tenant, headers = distributor
    cap = app.state.settings.webhook_max_per_tenant
    assert cap == 10
    hooks = [_register(api, headers, f"https://hooks.example/{i}") for i in range(cap)]
    over = api.c.post("/v1/webhooks", json={"url": "https://hooks.example/one-more", "events": ["payout.sent"]},
                      headers=headers)
    assert over.status_code == 409
    assert over.json()["type"] == "webhook_limit_reached"
    r = api.c.delete(f"/v1/webhooks/{hooks[0]['id']}", headers=headers)
    assert r.status_code == 204
    dup = api.c.post("/v1/webhooks", json={"url": "HTTPS://Hooks.Example:443/1", "events": ["claim.opened"]},
                     headers=headers)
    assert dup.status_code == 409
    assert dup.json()["type"] == "webhook_duplicate"
    other = api.key(api.tenant(), "distributor")
    _register(api, other, "https://hooks.example/1")  # another tenant may use the same receiver
    hooks[0] = _register(api, headers, "https://hooks.example/0")

    service = unique_service()
    issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR, headers)
    worker(app).run_once()
    with app.state.factory() as s:
        queued = s.scalar(select(func.count()).select_from(m.WebhookDelivery).where(
            m.WebhookDelivery.webhook_id.in_([h["id"] for h in hooks])))
    assert queued == cap  # one payout, at most one delivery per webhook, at most `cap` webhooks


def test_webhook_pause_resume_rotate_delete(api: Api, app: FastAPI, distributor, receiver: Receiver,
                                            local_dev) -> None:
    _, headers = distributor
    hook = _register(api, headers, receiver.url)
    hid = hook["id"]
    assert api.ok(api.c.get(f"/v1/webhooks/{hid}", headers=headers))["active"] is True

    # Another tenant, and roles without the subscriber right, see nothing and change nothing.
    tenant_b = api.tenant()
    stranger = api.key(tenant_b, "distributor")
    for method, path in (("get", ""), ("delete", ""), ("post", "/pause"), ("post", "/resume"),
                         ("post", "/rotate-secret")):
        r = getattr(api.c, method)(f"/v1/webhooks/{hid}{path}", headers=stranger)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["type"] == "not_found", (method, path, r.text)
        assert api.c.request(method.upper(), f"/v1/webhooks/{hid}{path}").status_code == 401
        r = api.c.request(method.upper(), f"/v1/webhooks/{hid}{path}", headers=api.key(tenant_b, "auditor"))
        assert r.status_code == 403
    assert api.ok(api.c.get("/v1/webhooks", headers=stranger)) == []

    assert api.ok(api.c.post(f"/v1/webhooks/{hid}/pause", headers=headers))["active"] is False
    _queue(app, hid)
    d = dispatcher(app)
    assert d.run_once().delivered == 0  # held while paused, not dropped
    assert api.ok(api.c.post(f"/v1/webhooks/{hid}/resume", headers=headers))["active"] is True

    rotated = api.ok(api.c.post(f"/v1/webhooks/{hid}/rotate-secret", headers=headers))
    assert rotated["id"] == hid
    assert rotated["secret"] != hook["secret"]
    assert len(rotated["secret"]) == 64
    assert "secret" not in api.ok(api.c.get(f"/v1/webhooks/{hid}", headers=headers))
    assert d.run_once().delivered == 1
    [(hdrs, body)] = receiver.received
    assert verify(rotated["secret"], hdrs[SIGNATURE_HEADER], body)
    assert not verify(hook["secret"], hdrs[SIGNATURE_HEADER], body)

    _queue(app, hid)
    assert api.c.delete(f"/v1/webhooks/{hid}", headers=headers).status_code == 204
    assert _rows(app, hid) == []
    assert api.c.get(f"/v1/webhooks/{hid}", headers=headers).status_code == 404
    assert api.ok(api.c.get("/v1/webhooks", headers=headers)) == []


# --- secrets at rest ---------------------------------------------------------------------

def test_webhook_secrets_encrypted_at_rest(api: Api, app: FastAPI, distributor, resolver: FakeResolver) -> None:
    _, headers = distributor
    hook = _register(api, headers, "https://hooks.example/sealed")
    settings = app.state.settings
    with app.state.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM webhooks WHERE id = :id"), {"id": hook["id"]}).mappings().one()
    assert hook["secret"] not in json.dumps({k: str(v) for k, v in row.items()})
    assert sealer_for(settings).open(row["secret_sealed"], context=hook["id"]) == hook["secret"]
    assert (settings.data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600
    _queue(app, hook["id"])
    [job] = dispatcher(app)._claim(1, {}, set(), set())
    assert job.secret == hook["secret"]
    assert hook["secret"] not in repr(job)
    assert "sealed" not in repr(job)


def test_migration_0003_seals_existing_plaintext_secrets(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    sealer = Sealer(bytes(range(32)))

    def migrate(step: Callable[..., None], revision: str) -> None:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            cfg.attributes["webhook_sealer"] = sealer
            step(cfg, revision)

    try:
        migrate(command.upgrade, "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'old', '2025-01-01')"))
            conn.execute(text("INSERT INTO webhooks (id, tenant_id, url, events, secret, active, created_at) "
                              "VALUES ('w1', 't1', 'https://hooks.example/', '[]', :s, 1, '2025-01-01')"),
                         {"s": "ab" * 32})
        migrate(command.upgrade, "head")
        with engine.connect() as conn:
            cols = {c[1] for c in conn.execute(text("PRAGMA table_info(webhooks)"))}
            sealed = conn.execute(text("SELECT secret_sealed FROM webhooks WHERE id = 'w1'")).scalar_one()
        assert "secret" not in cols
        assert "ab" * 32 not in sealed
        assert sealer.open(sealed, context="w1") == "ab" * 32
        migrate(command.downgrade, "0001")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT secret FROM webhooks WHERE id = 'w1'")).scalar_one() == "ab" * 32
    finally:
        engine.dispose()
