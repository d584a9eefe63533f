"""The batch issuance API answered once its transactions are sent (202 and a status to poll),
or once mined with `?wait=true` (201); each cover's `policy.issued` webhook. SQLite and PG."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from sqlalchemy import select

from service.db import models as m
from tests.service.helpers import Api, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


def _quote(api: Api, tenant: str, headers: dict[str, str]) -> dict[str, Any]:
    assessment = api.anchored_assessment(tenant)
    return api.quote(api.product(unique_service())["id"], assessment["id"], headers)


def _covers(tag: str, n: int) -> list[dict[str, str]]:
    return [{"beneficiary": "0x" + keccak(text=f"{tag}/{i}")[:20].hex(), "holder_ref": f"{tag}-{i}"} for i in range(n)]


def _poll(api: Api, url: str, headers: dict[str, str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.ok(api.c.get(url, headers=headers))
        if status["status"] not in ("sending", "pending"):
            return dict(status)
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _issued_notices(app: FastAPI, ids: list[int]) -> dict[int, dict[str, Any]]:
    with app.state.factory() as s:
        rows = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.event_type == "policy.issued")).all()
    out = {r.payload["data"]["policy_id"]: r.payload for r in rows if r.payload["data"]["policy_id"] in ids}
    assert len(out) == len([r for r in rows if r.payload["data"]["policy_id"] in ids])  # one per cover
    return out


def test_batch_answers_once_sent_then_status_and_webhooks_report_each_cover(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "webhook_allow_loopback_http", True)
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)  # 3 issue transactions for 5 covers
    api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["policy.issued"]},
                      headers=headers), 201)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"], 5)

    # Receipts are held back until released: the request must answer without them.
    sender = app.state.gateway.sender
    release = threading.Event()
    wait = sender.wait

    def held(pending: Any, alongside: Any = ()) -> Any:
        assert release.wait(30)
        return wait(pending, alongside)

    monkeypatch.setattr(sender, "wait", held)
    sent_before = sender.sent
    reply = api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers}, headers=headers)
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["status"] == "pending" and body["total"] == 5 and body["policy_ids"] == []
    assert sender.sent - sent_before == 3  # all three broadcast before the answer
    assert api.ok(api.c.get(body["status_url"], headers=headers))["status"] == "pending"
    release.set()
    done = _poll(api, body["status_url"], headers)
    assert done["status"] == "issued" and done["error"] is None and len(done["policy_ids"]) == 5

    refs = {}
    for pid in done["policy_ids"]:
        policy = api.ok(api.c.get(f"/v1/policies/{pid}", headers=headers))
        refs[pid] = policy["holder_ref"]
    assert sorted(refs.values()) == sorted(c["holder_ref"] for c in covers)
    notes = _issued_notices(app, done["policy_ids"])
    assert set(notes) == set(done["policy_ids"])
    for pid, note in notes.items():
        assert note["data"]["batch_id"] == body["id"] and note["data"]["holder_ref"] == refs[pid]
        assert note["tx"] and note["block"]

    # Another tenant's distributor does not see the batch.
    other = api.key(api.tenant(), "distributor")
    assert api.c.get(body["status_url"], headers=other).status_code == 404
    assert api.c.get("/v1/policies/batches/nope", headers=headers).status_code == 404


def test_batch_refused_before_sending_is_the_requests_own_error(
        api: Api, distributor: tuple[str, dict[str, str]]) -> None:
    tenant, headers = distributor
    reply = api.c.post("/v1/policies/batch", json={"quote_id": "missing", "covers": _covers("x", 1)}, headers=headers)
    assert reply.status_code == 404 and "missing" in reply.json()["detail"]
    other = api.key(api.tenant(), "distributor")  # a quote of another tenant: not seen
    quote = _quote(api, tenant, headers)
    reply = api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": _covers("y", 1)}, headers=other)
    assert reply.status_code == 404


def test_batch_wait_true_answers_with_the_policies(api: Api, app: FastAPI,
                                                   distributor: tuple[str, dict[str, str]]) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    out = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": _covers("w", 3)},
                            headers=headers), 201)
    assert len(out["policies"]) == 3 and out["error"] is None
