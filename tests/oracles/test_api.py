"""The node's HTTP API: reports, evidence, episodes, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from oracles.api import create_app
from oracles.cli import app as cli
from oracles.clock import ManualClock
from oracles.node import OracleNode
from tests.oracles.helpers import (
    T0,
    FakeService,
    advance,
    config_dict,
    http_canary,
    http_target,
    make_node,
    node_key,
    serve_app,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def node(tmp_path: Path, clock: ManualClock, service: FakeService,
               canary: FakeService) -> AsyncIterator[OracleNode]:
    n = make_node(config_dict(tmp_path, targets=[http_target(service.url)],
                              canaries=[http_canary(canary.url)]), node_key("api"), clock)

    def world(t: float) -> None:
        service.status = 503 if T0 + 60 <= t < T0 + 360 else 200

    await advance(clock, [n], T0 + 330, world=world)  # episode open, reported, ongoing
    yield n
    await n.aclose()


@pytest.fixture
async def client(node: OracleNode) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as c:
        yield c


async def test_reports_endpoint(client: httpx.AsyncClient, node: OracleNode) -> None:
    resp = await client.get("/v1/reports")
    assert resp.status_code == 200
    body = resp.json()
    assert body["node"] == node.address
    [report] = body["reports"]
    assert report["ongoing"] is True
    assert report["start"] == T0 + 60
    assert report["seq"] == 2  # threshold at T0+240, grew at T0+300
    assert {"r", "vs", "signer", "evidence_root", "config_version", "service_id",
            "chain_id", "verifying_contract"} <= set(report)
    sid = report["service_id"]
    assert len((await client.get("/v1/reports", params={"service_id": sid})).json()["reports"]) \
        == 1
    other = "0x" + "00" * 32
    assert (await client.get("/v1/reports", params={"service_id": other})).json()["reports"] \
        == []
    assert (await client.get("/v1/reports", params={"since": T0 + 10_000})).json()["reports"] \
        == []
    for params, field in (({"service_id": "0x12"}, "service_id"), ({"since": "yesterday"}, "since")):
        bad = await client.get("/v1/reports", params=params)  # 422, like the service's validation errors
        assert bad.status_code == 422, params
        assert bad.json()["type"] == "validation_error", params
        assert f"query.{field}" in bad.json()["detail"], params


async def test_episodes_and_evidence(client: httpx.AsyncClient, tmp_path: Path) -> None:
    [episode] = (await client.get("/v1/episodes", params={"ongoing": True})).json()["episodes"]
    assert episode["ongoing"]
    assert episode["down_seconds"] == 240
    eid = episode["episode_id"]
    bundle = (await client.get(f"/v1/evidence/{eid}")).json()
    assert bundle["report"]["seq"] == 2
    first = (await client.get(f"/v1/evidence/{eid}", params={"seq": 1})).json()
    assert first["window"]["end"] == T0 + 240 < bundle["window"]["end"]
    assert len(first["observations"]) < len(bundle["observations"])
    missing = await client.get("/v1/evidence/shop@1")
    assert missing.status_code == 404
    assert missing.json()["type"] == "not_found"
    assert (await client.get(f"/v1/evidence/{eid}", params={"seq": 9})).status_code == 404
    # The verifier CLI reads the served bundle as a file as well.
    path = tmp_path / "bundle.json"
    path.write_text((await client.get(f"/v1/evidence/{eid}")).text)
    result = CliRunner().invoke(cli, ["evidence", "verify", str(path)])
    assert result.exit_code == 0, result.output


async def test_verify_cli_reads_a_node_url(node: OracleNode) -> None:
    import asyncio

    eid = node.state.episodes()[0].episode_id
    async with serve_app(create_app(node)) as url:
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["evidence", "verify", f"{url}/v1/evidence/{eid}"])
        assert result.exit_code == 0, result.output
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["evidence", "verify", f"{url}/v1/evidence/nope@1"])
        assert result.exit_code == 2


async def test_health_and_metrics(client: httpx.AsyncClient, node: OracleNode,
                                  clock: ManualClock) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["open_episodes"] == 1
    text = (await client.get("/metrics")).text
    for name in ("oracle_probes_total", "oracle_probe_duration_seconds_bucket",
                 "oracle_verdicts_total", "oracle_open_episodes 1.0",
                 "oracle_reports_signed_total", "oracle_schedule_drift_seconds_bucket",
                 "oracle_evidence_observations_total"):
        assert name in text, name
    assert 'outcome="target_failure"' in text
    assert 'verdict="down"' in text
    clock.advance(60)  # no cycle for a minute: the node reports itself stalled
    assert (await client.get("/healthz")).status_code == 503


async def test_finding7_refused_relay_key_makes_the_node_unhealthy(client: httpx.AsyncClient, node: OracleNode,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    monkeypatch.setattr(node, "transmitter", SimpleNamespace(unauthorized="relay answered 401: unknown or revoked"))
    health = await client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["status"] == "relay_key_refused" and "401" in health.json()["error"]


async def test_errors_share_the_service_shape_and_are_declared(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["type"] == "not_found"
    wrong = await client.post("/v1/reports")
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET, HEAD"
    doc = (await client.get("/openapi.json")).json()  # the test client is on loopback
    error = {"$ref": "#/components/schemas/Error"}
    reports = doc["paths"]["/v1/reports"]["get"]["responses"]
    assert reports["422"]["content"]["application/json"]["schema"] == error
    assert doc["paths"]["/v1/evidence/{episode_id}"]["get"]["responses"]["404"]["content"]["application/json"][
        "schema"] == error
    assert set(doc["paths"]["/metrics"]["get"]["responses"]) == {"200", "401", "403"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


async def test_targets_publish_cert_days_left_publicly_and_survive_a_restart(
        tmp_path: Path, service: FakeService, canary: FakeService, certs: dict[str, Any]) -> None:
    import time

    from contracts.eip712 import service_id
    from tests.oracles.helpers import server_context

    tls = await FakeService(ssl_context=server_context(certs["valid"])).start()
    tls_target = {"name": "login", "kind": "tls", "address": f"localhost:{tls.port}",
                  "ca_file": str(certs["valid"].cert), "min_days_left": 7,
                  "service": "https://login.example", "interval": 10, "timeout": 2,
                  "threshold_fraction": 0.5, "min_samples": 3, "open_after": 2, "close_after": 2,
                  "threshold_seconds": 180}
    raw = config_dict(tmp_path / "node", targets=[http_target(service.url), tls_target],
                      canaries=[http_canary(canary.url)])
    start = (int(time.time()) // 60 + 1) * 60  # the cert's validity is real time: so is the clock
    clock = ManualClock(start)
    node = make_node(raw, node_key("targets"), clock)
    remote = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(node), client=("203.0.113.7", 40000)),
                               base_url="http://node")
    try:
        before = (await remote.get("/v1/targets")).json()  # public: a non-loopback client reads it
        assert before["node"] == node.address
        assert [(t["name"], t["cert_days_left"], t["last_probe_at"]) for t in before["targets"]] == [
            ("shop", None, None), ("login", None, None)]  # canaries are not published
        await advance(clock, [node], start + 30)
        body = (await remote.get("/v1/targets")).json()
        shop, login = body["targets"]
        assert shop["kind"] == "http" and shop["cert_days_left"] is None and shop["min_days_left"] is None
        assert shop["last_outcome"] == "ok" and start < shop["last_probe_at"] <= start + 30
        assert login["service_id"] == "0x" + service_id("https://login.example").hex()
        assert login["kind"] == "tls" and login["last_outcome"] == "ok" and login["min_days_left"] == 7
        assert login["cert_days_left"] in (88, 89, 90)
        assert start < login["cert_checked_at"] <= start + 30
        checked = login["cert_checked_at"]
        # The service goes away: the probe fails, the last certificate reading stays published.
        await tls.stop()
        await advance(clock, [node], start + 60)
        login = (await remote.get("/v1/targets")).json()["targets"][1]
        assert login["last_outcome"] == "target_failure" and login["last_probe_at"] > checked
        assert login["cert_days_left"] in (88, 89, 90) and login["cert_checked_at"] == checked
        await node.aclose()
        # A restarted node publishes what its evidence log holds.
        node = make_node(raw, node_key("targets"), ManualClock(start + 61))
        again = node.targets()
        assert again[1]["cert_days_left"] == login["cert_days_left"]
        assert again[1]["cert_checked_at"] == checked
        assert again[1]["last_outcome"] == "target_failure"
        assert again[0]["last_outcome"] == "ok"
    finally:
        await remote.aclose()
        await node.aclose()
