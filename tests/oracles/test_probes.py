"""Probes against real loopback servers: outcome classes, conditions, deadlines, freshness."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from typing import Any

import pytest

from oracles.clock import ManualClock, SystemClock
from oracles.config import ProbeSpec
from oracles.outcome import Outcome
from oracles.probes import classify_exception, run_probe
from tests.oracles.helpers import CertFiles, FakeService, free_port, server_context

pytestmark = pytest.mark.anyio


def http(url: str, **kw: Any) -> ProbeSpec:
    return ProbeSpec(name="t", kind="http", url=url, interval=10, timeout=kw.pop("timeout", 2),
                     **kw)


async def test_http_ok(service: FakeService) -> None:
    result = await run_probe(http(service.url), SystemClock())
    assert result.outcome is Outcome.OK
    assert result.status_code == 200
    assert result.duration_ms >= 0


@pytest.mark.parametrize(("status", "outcome"), [
    (503, Outcome.TARGET_FAILURE), (500, Outcome.TARGET_FAILURE), (404, Outcome.TARGET_FAILURE),
    (401, Outcome.BLOCKED), (403, Outcome.BLOCKED), (429, Outcome.BLOCKED),
    (204, Outcome.OK), (302, Outcome.OK),
])
async def test_http_status_classes(service: FakeService, status: int, outcome: Outcome) -> None:
    service.status = status
    result = await run_probe(http(service.url), SystemClock())
    assert result.outcome is outcome, result.detail
    assert result.status_code == status


async def test_http_accepted_status_list(service: FakeService) -> None:
    spec = http(service.url, accept_status=(200,))
    service.status = 302
    assert (await run_probe(spec, SystemClock())).outcome is Outcome.TARGET_FAILURE
    # Explicitly accepting 401 makes it success (e.g. a login page that is "up" when it asks).
    service.status = 401
    spec = http(service.url, accept_status=(401,))
    assert (await run_probe(spec, SystemClock())).outcome is Outcome.OK


async def test_http_body_keyword(service: FakeService) -> None:
    service.body = b"all systems operational"
    assert (await run_probe(http(service.url, body_contains="operational"),
                            SystemClock())).outcome is Outcome.OK
    result = await run_probe(http(service.url, body_contains="healthy"), SystemClock())
    assert result.outcome is Outcome.TARGET_FAILURE
    assert "healthy" in result.detail


async def test_http_json_path(service: FakeService) -> None:
    service.body = b'{"checks": [{"db": "ok", "up": true, "n": 1}]}'
    ok = http(service.url, json_path="checks.0.db", json_equals="ok")
    assert (await run_probe(ok, SystemClock())).outcome is Outcome.OK
    assert (await run_probe(http(service.url, json_path="checks.0.up", json_equals=True),
                            SystemClock())).outcome is Outcome.OK
    # JSON true is not the number 1, and 1 is not true.
    wrong_type = http(service.url, json_path="checks.0.n", json_equals=True)
    assert (await run_probe(wrong_type, SystemClock())).outcome is Outcome.TARGET_FAILURE
    missing = await run_probe(http(service.url, json_path="checks.1.db", json_equals="ok"),
                              SystemClock())
    assert missing.outcome is Outcome.TARGET_FAILURE
    assert "missing" in missing.detail
    service.body = b"<html>"
    not_json = await run_probe(ok, SystemClock())
    assert not_json.outcome is Outcome.TARGET_FAILURE
    assert "not JSON" in not_json.detail


async def test_http_latency_ceiling(service: FakeService) -> None:
    service.delay = 0.3
    result = await run_probe(http(service.url, max_latency_ms=100), SystemClock())
    assert result.outcome is Outcome.TARGET_FAILURE
    assert result.detail.startswith("slow")
    assert result.duration_ms >= 300
    assert (await run_probe(http(service.url, max_latency_ms=2000),
                            SystemClock())).outcome is Outcome.OK


async def test_hard_deadline_is_enforced(service: FakeService) -> None:
    service.delay = 5.0
    began = time.perf_counter()
    result = await run_probe(http(service.url, timeout=0.4), SystemClock())
    elapsed = time.perf_counter() - began
    assert result.outcome is Outcome.TARGET_FAILURE
    assert "timeout" in result.detail
    assert 0.35 < elapsed < 1.5


async def test_no_retry_and_fresh_connection_per_probe(service: FakeService) -> None:
    spec = http(service.url)
    for _ in range(3):
        await run_probe(spec, SystemClock())
    assert service.connections == 3
    assert service.requests == 3
    service.hang_up = True  # a failure is reported, not retried
    result = await run_probe(spec, SystemClock())
    assert result.outcome is Outcome.TARGET_FAILURE
    assert service.connections == 4


async def test_connection_refused_is_target_failure() -> None:
    result = await run_probe(http(f"http://127.0.0.1:{free_port()}/"), SystemClock())
    assert result.outcome is Outcome.TARGET_FAILURE
    assert "connect" in result.detail


async def test_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resolution is faked so the test stays on loopback.
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kw: Any) -> Any:
        if host == "shop.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    result = await run_probe(http("http://shop.invalid/"), SystemClock())
    assert result.outcome is Outcome.DNS_FAILURE
    tcp = ProbeSpec(name="t", kind="tcp", address="shop.invalid:443", interval=10, timeout=2)
    assert (await run_probe(tcp, SystemClock())).outcome is Outcome.DNS_FAILURE


def test_local_errors_are_the_oracles_fault() -> None:
    assert classify_exception(OSError(errno.EMFILE, "Too many open files"), 1)[0] \
        is Outcome.ORACLE_FAULT
    assert classify_exception(OSError(errno.ENETUNREACH, "Network unreachable"), 1)[0] \
        is Outcome.ORACLE_FAULT
    assert classify_exception(RuntimeError("bug"), 1)[0] is Outcome.ORACLE_FAULT
    assert classify_exception(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), 1)[0] \
        is Outcome.TARGET_FAILURE


async def test_tcp_probe(service: FakeService) -> None:
    spec = ProbeSpec(name="t", kind="tcp", address=service.address, interval=10, timeout=2)
    assert (await run_probe(spec, SystemClock())).outcome is Outcome.OK
    closed = ProbeSpec(name="t", kind="tcp", address=f"127.0.0.1:{free_port()}", interval=10,
                       timeout=2)
    assert (await run_probe(closed, SystemClock())).outcome is Outcome.TARGET_FAILURE


async def test_tls_certificate_checks(certs: dict[str, CertFiles]) -> None:
    valid = await FakeService(ssl_context=server_context(certs["valid"])).start()
    short = await FakeService(ssl_context=server_context(certs["short"])).start()
    try:
        spec = ProbeSpec(name="t", kind="tls", address=f"localhost:{valid.port}", interval=10,
                         timeout=2, ca_file=certs["valid"].cert, min_days_left=7)
        ok = await run_probe(spec, SystemClock())
        assert ok.outcome is Outcome.OK, ok.detail
        assert ok.cert_days_left in (88, 89, 90)
        # Days left are counted on the node's clock: 85 days on, the same cert is near expiry.
        later = ManualClock(time.time() + 85 * 86_400)
        near = await run_probe(spec, later)
        assert near.outcome is Outcome.TARGET_FAILURE
        assert "expires in" in near.detail
        # A certificate expiring tomorrow fails a 7-day minimum.
        short_spec = spec.model_copy(update={"address": f"localhost:{short.port}",
                                             "ca_file": certs["short"].cert})
        result = await run_probe(short_spec, SystemClock())
        assert result.outcome is Outcome.TARGET_FAILURE
        assert result.cert_days_left == 0
        # Not trusted (no CA configured): a verification failure is the target's failure.
        untrusted = spec.model_copy(update={"ca_file": None})
        bad = await run_probe(untrusted, SystemClock())
        assert bad.outcome is Outcome.TARGET_FAILURE
        assert "certificate" in bad.detail
        # Wrong name: the certificate is for localhost, not shop.example.
        wrong = spec.model_copy(update={"server_name": "shop.example"})
        assert (await run_probe(wrong, SystemClock())).outcome is Outcome.TARGET_FAILURE
        # HTTPS through the HTTP probe with the same CA.
        https = http(f"https://localhost:{valid.port}/", ca_file=certs["valid"].cert)
        assert (await run_probe(https, SystemClock())).outcome is Outcome.OK
    finally:
        await valid.stop()
        await short.stop()


async def test_probes_never_raise_on_cancelled_deadline(service: FakeService) -> None:
    service.delay = 1.0
    results = await asyncio.gather(*(run_probe(http(service.url, timeout=0.2), SystemClock())
                                     for _ in range(5)))
    assert {r.outcome for r in results} == {Outcome.TARGET_FAILURE}
