"""Property-based API fuzzing from the OpenAPI spec (in-process ASGI, no network): whatever
the input, valid or not, the answer is never a 5xx.

Driven through schemathesis' strategies rather than its pytest plugin (the plugin's lazy
fixture loader does not work with this pytest version)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.service.conftest import build_app, fresh_engine
from tests.service.helpers import ADMIN_KEY, HOUR, Api, issue, make_chain, outage, unique_service, worker


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app on a chain of its own, holding one of each kind of record: a tenant and its keys, an
    anchored assessment, a product, a quote, an active policy, a verified outage paid out, and
    a webhook. (On the session chain the records were whatever earlier tests had left, which
    depended on the order and grew with the session: listing hundreds of products, each read
    from the chain, made one call of this test take over a minute, and the replay in its setup
    half a minute more.)"""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    chain = make_chain()
    app = build_app(chain, fresh_engine("sqlite", tmp, schema="fuzz"), tmp)
    api = Api(TestClient(app, raise_server_exceptions=False), chain)
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    outage(api, service, 2 * HOUR + 1, headers)
    worker(app).run_once()
    app.state.settings.webhook_allow_loopback_http = True  # the hook below is never served
    api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["payout.sent"]},
                      headers=headers), 201)
    app.state.settings.webhook_allow_loopback_http = False
    assert api.ok(api.c.get(f"/v1/policies/{policy['id']}", headers=headers))["paid"] > 0
    app.state.indexer.sync()
    return app


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(fuzz_app: FastAPI, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error])

        try:
            check()
        except Unsatisfiable:  # no input at all (GET /healthz): nothing negative to generate
            assert mode is GenerationMode.NEGATIVE
        except Exception as exc:  # collect all operations' failures, report them together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_every_error_is_declared_with_the_error_schema(fuzz_app: FastAPI) -> None:
    doc = fuzz_app.openapi()
    error = {"$ref": "#/components/schemas/Error"}
    assert set(doc["components"]["schemas"]["Error"]["required"]) == {"type", "detail"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = {int(c) for c in op["responses"]}
            errors = {c for c in codes if c >= 400 and (path, c) != ("/healthz", 503)}
            for code in errors:
                assert op["responses"][str(code)]["content"]["application/json"]["schema"] == error, (method, path)
            if path.startswith("/v1/"):
                assert {401, 403} <= codes, (method, path)
            if "{" in path:
                assert 404 in codes, (method, path)
    policies = doc["paths"]["/v1/policies"]["post"]["responses"]
    assert {"400", "404", "409", "413", "422", "502", "503"} <= set(policies)


def test_405_names_every_method_of_the_path(fuzz_app: FastAPI) -> None:
    client = TestClient(fuzz_app)
    headers = {"X-API-Key": ADMIN_KEY}
    for path, allow in (("/v1/webhooks/x", "DELETE, GET, HEAD"), ("/v1/policies/batch", "POST"),
                        ("/v1/products", "GET, HEAD, POST"), ("/healthz", "GET, HEAD")):
        r = client.request("TRACE", path, headers=headers)
        assert r.status_code == 405, path
        assert r.json()["type"] == "method_not_allowed", path
        assert r.headers["allow"] == allow, path
