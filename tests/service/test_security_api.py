"""Issue 10 at the API: covered-service text (finding 1), bounded bodies (3, 6), metrics access,
RPC URL redaction and idempotency TTL (9)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from contracts.eip712 import service_id
from contracts.errors import ContractsError
from contracts.sender import Account, Sender
from service.api.idempotency import _fingerprint
from service.chain.gateway import chain_error
from service.db import models as m
from service.stack.nodes import node_config, targets_from_products
from tests.service.helpers import Api, product_body, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

INJECTIONS = [
    'https://victim.example"\n[[targets]]\nname = "evil"\nservice = "https://other.example"\nurl = "http://x',
    'https://a.example/"',  # a single quote used to make every node exit on invalid TOML
    "https://a.example/ x", "https://a.example/\tx", "https://a.example/\x00", "https://a.example/\\",
    "ftp://a.example/", "javascript:alert(1)", "https://user:pass@a.example/", "https://", "tcp://a.example",
    "https://a.example:99999/", "https://a.example/" + "x" * 600, "name with space", "",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_finding1_product_service_text_cannot_inject_node_config(api: Api, text: str) -> None:
    r = api.c.post("/v1/products", json=product_body(text), headers=api.admin)
    assert r.status_code == 422
    assert r.json()["type"] == "validation_error"
    assert "service" in r.json()["detail"]


def test_finding1_api_hands_nodes_only_url_threshold_and_derived_service_id(api: Api, tmp_path: Path) -> None:
    url = unique_service()
    named = f"plain-name.{url.split('//')[1].split('.')[0]}"  # a plain name: covered, not probed locally
    api.product(url, threshold_seconds=120)
    api.product(named)
    products = api.ok(api.c.get("/v1/products", headers=api.admin))
    targets = [t for t in targets_from_products(products, print) if t.url == url]
    assert [(t.url, t.threshold_seconds, t.service_id) for t in targets] == [(url, 120, "0x" + service_id(url).hex())]
    cfg = node_config(1, tmp_path, [1, 2], "http://127.0.0.1:8000", 31337, "0x" + "11" * 20, [], targets, print)
    [target] = cfg.targets
    assert target.model_dump(exclude_unset=True) == {
        "name": targets[0].name, "kind": "http", "url": url, "service_id": targets[0].service_id,
        "threshold_seconds": 120, "interval": 5, "timeout": 3, "min_samples": 3, "open_after": 1, "close_after": 2}
    assert not any(t.url == named for t in targets_from_products(products, print))


DEEP = b"[" * 200_000


def test_finding3_deep_json_and_oversized_bodies_get_4xx_and_healthz_stays_up(api: Api) -> None:
    json_headers = {**api.admin, "Content-Type": "application/json"}
    for path in ("/v1/products", "/v1/policies", "/v1/oracle/reports", "/v1/tenants"):
        r = api.c.post(path, content=DEEP, headers=json_headers)
        assert r.status_code == 400, path
        assert (r.json() == {"type": "bad_request",
                                                                 "detail": "JSON nests deeper than 64 levels"}), path
    r = api.c.post("/v1/products", content=b" " * (20 << 20), headers=json_headers)
    assert r.status_code == 413
    assert r.json()["type"] == "body_too_large"
    assert api.ok(api.c.get("/healthz"))["status"] == "ok"
    # Nesting within the limit is still an ordinary validation error.
    r = api.c.post("/v1/products", content=b"[" * 10 + b"]" * 10, headers=json_headers)
    assert r.status_code == 422


class _Body:
    """An ASGI receive() that streams `chunks` one message at a time and counts what was read."""

    def __init__(self, chunks: int, size: int = 1 << 20) -> None:
        self.left, self.size, self.reads = chunks, size, 0

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        self.left -= 1
        return {"type": "http.request", "body": b" " * self.size, "more_body": self.left > 0}


def _call(app: FastAPI, headers: list[tuple[bytes, bytes]], body: _Body) -> int:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/products", "raw_path": b"/v1/products", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 1),
             "server": ("testserver", 80)}
    asyncio.run(app(scope, body, send))  # type: ignore[arg-type]
    return int(sent[0]["status"])


def test_finding6_body_is_bounded_and_not_read_before_authentication(app: FastAPI) -> None:
    body = _Body(200)  # 200 MiB on offer
    assert _call(app, [(b"content-length", str(200 << 20).encode())], body) == 401
    assert body.reads == 0  # no key: refused before a byte was read
    body = _Body(200)
    assert _call(app, [(b"x-api-key", b"whatever"), (b"content-length", str(200 << 20).encode())], body) == 413
    assert body.reads == 0  # declared too large: refused from the headers
    body = _Body(20)
    assert _call(app, [(b"x-api-key", b"whatever"), (b"transfer-encoding", b"chunked")], body) == 413
    assert body.reads == 2  # streamed: refused as soon as the count passes 1 MiB


def test_finding9_service_metrics_need_an_api_key_or_the_metrics_token(api: Api, app: FastAPI) -> None:
    r = api.c.get("/metrics")
    assert r.status_code == 401
    assert r.json()["type"] == "unauthorized"
    assert api.c.get("/metrics", headers={"X-API-Key": "cc_not_a_key"}).status_code == 401
    auditor = api.key(api.tenant(), "auditor")
    r = api.c.get("/metrics", headers=auditor)  # any valid key, whatever its role
    assert r.status_code == 200
    assert "cybercover_http_requests_total" in r.text
    app.state.settings.metrics_token = SecretStr("scrape-me")
    try:
        assert api.c.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
        assert api.c.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    finally:
        app.state.settings.metrics_token = None
    assert api.c.get("/healthz").status_code == 200  # stays public


class _Fn:
    """A contract call whose simulation passes and whose gas estimate fails the way requests does."""

    def call(self, *_: Any, **__: Any) -> None:
        return None

    def estimate_gas(self, *_: Any) -> int:
        raise ConnectionError("HTTPSConnectionPool(host='eth.example', port=443): Max retries exceeded with "
                              "url: /v3/PROVIDER-KEY (Caused by NewConnectionError('https://u:PASS@eth.example/"
                              "v3/PROVIDER-KEY'))")


def test_finding9_chain_errors_never_echo_the_rpc_url(api: Api) -> None:
    sender = Sender(api.chain.w3)
    with pytest.raises(ContractsError) as info:
        sender.send(_Fn(), Account(api.chain.operator))
    err = chain_error(info.value)
    assert err.detail.startswith("could not send the transaction: ConnectionError")
    assert "PROVIDER-KEY" not in err.detail
    assert "PASS" not in err.detail


def test_finding9_idempotency_reservation_of_a_dead_process_expires(api: Api, app: FastAPI, distributor) -> None:
    from service.api.routes.policies import PolicyIn

    tenant, headers = distributor
    body = {"quote_id": "d" * 32, "beneficiary": "0x" + "44" * 20, "holder_ref": "r"}
    ttl = app.state.settings.idempotency_ttl_seconds
    for key, age in (("fresh", 0), ("stale", ttl + 5)):
        with app.state.factory.begin() as s:
            s.add(m.IdempotencyRecord(tenant_id=tenant, key=key, created_at=m.now() - timedelta(seconds=age),
                                      request_hash=_fingerprint("POST", "/v1/policies", PolicyIn(**body))))
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "fresh"})
    assert r.status_code == 409
    assert r.json()["type"] == "idempotency_in_progress"
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "stale"})
    assert r.status_code == 404  # taken over and run: the quote does not exist
    r = api.c.post("/v1/policies", json=body, headers={**headers, "Idempotency-Key": "stale"})
    assert r.status_code == 404
    assert r.headers.get("Idempotent-Replayed") == "true"
