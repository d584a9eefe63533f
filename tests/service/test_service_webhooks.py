"""Webhooks: outbox written by the indexer, delivered signed to a real local receiver,
retried with backoff after a failure, each with a stable event id."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from service.db import models as m
from service.webhooks.delivery import WebhookDispatcher
from service.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, verify
from tests.chain import USD
from tests.service.api_env import HOUR, Api, issue, outage, unique_service, worker


class Receiver:
    def __init__(self) -> None:
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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _make_due(app: FastAPI) -> None:
    with app.state.factory.begin() as s:
        s.execute(update(m.WebhookDelivery).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))


def test_payout_webhook_signed_retried_delivered_once(api: Api, app: FastAPI, distributor, receiver) -> None:
    tenant, headers = distributor
    hook = api.ok(api.c.post("/v1/webhooks", json={"url": receiver.url, "events": ["payout.sent", "claim.opened"]},
                             headers=headers), 201)
    assert len(hook["secret"]) == 64
    assert "secret" not in api.ok(api.c.get("/v1/webhooks", headers=headers))[0]
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 5 * HOUR, headers)
    worker(app).run_once()

    dispatcher = WebhookDispatcher(app.state.factory, backoff=0.01)
    receiver.fail_next = 1
    first = dispatcher.run_once()
    assert first.retrying >= 1
    with app.state.factory() as s:
        row = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook["id"],
                                                        m.WebhookDelivery.last_error.is_not(None))).first()
        assert row is not None and row.attempts == 1 and row.last_error == "HTTP 500"
    _make_due(app)
    dispatcher.run_once()
    _make_due(app)
    assert dispatcher.run_once().delivered == 0  # delivered ones are never re-sent

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


def test_webhook_gives_up_after_max_attempts(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    hook = api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/nothing-listens",
                                                   "events": ["payout.sent"]}, headers=headers), 201)
    with app.state.factory.begin() as s:
        s.add(m.WebhookDelivery(webhook_id=hook["id"], event_type="payout.sent", payload={"type": "payout.sent"}))
    dispatcher = WebhookDispatcher(app.state.factory, max_attempts=2, backoff=0)
    dispatcher.run_once()
    _make_due(app)
    dispatcher.run_once()
    with app.state.factory() as s:
        row = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.webhook_id == hook["id"])).one()
        assert row.failed and row.attempts == 2 and row.delivered_at is None and "ConnectError" in row.last_error
