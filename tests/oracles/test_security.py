"""Issue 10 on the node: bounded parsing (finding 3), private files (8), ranges and operator-only
endpoints (9), and the TOML writer the node configs are written with (1). Loopback only."""

from __future__ import annotations

import asyncio
import math
import os
import stat
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from oracles import tomlw
from oracles.api import create_app
from oracles.clock import ManualClock
from oracles.config import dump_config, load_config, parse_config
from oracles.errors import PeerError
from oracles.node import OracleNode
from oracles.outcome import Outcome
from oracles.probes.conditions import evaluate_http
from oracles.transmit.submitters import RelaySubmitter, Submission
from tests.oracles.helpers import (
    SHOP,
    T0,
    FakeRelay,
    config_dict,
    http_canary,
    http_target,
    make_node,
    node_key,
    peer_app,
    report,
    serve_app,
    transmitter,
)

pytestmark = pytest.mark.anyio
EXAMPLE = Path(__file__).resolve().parents[2] / "oracles" / "node.example.toml"
DEEP = b"[" * 200_000


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[OracleNode]:
    n = make_node(config_dict(tmp_path / "node", targets=[http_target("http://127.0.0.1:1/")],
                              canaries=[http_canary("http://127.0.0.1:2/")]), node_key("sec"),
                  ManualClock(T0))
    yield n
    await n.aclose()


def client(app: FastAPI, host: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(host, 40000)),
                             base_url="http://node")


async def _raw_request(url: str, head: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


async def test_finding3_node_api_answers_deep_and_oversized_bodies_with_4xx_and_stays_up(
        node: OracleNode) -> None:
    async with serve_app(create_app(node)) as url, httpx.AsyncClient(base_url=url) as c:
        deep = await c.post("/v1/reports", content=DEEP, headers={"Content-Type": "application/json"})
        assert deep.status_code == 400
        assert set(deep.json()) == {"type", "detail"}
        # 20 MiB declared: refused from the headers alone, before a byte of body is read.
        answer = await _raw_request(url, b"POST /v1/reports HTTP/1.1\r\nHost: node\r\n"
                                         b"Content-Type: application/json\r\nContent-Length: 20971520\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413")
        assert b'"type"' in answer
        assert (await c.get("/healthz")).status_code in (200, 503)  # still answering
        assert (await c.get("/v1/reports")).status_code == 200


async def test_finding3_transmitter_rejects_deep_or_oversized_peer_answers_without_crashing() -> None:
    hostile = FastAPI()

    @hostile.get("/v1/reports")
    async def deep() -> Response:
        return Response(b'{"reports": ' + DEEP, media_type="application/json")

    huge = FastAPI()

    @huge.get("/v1/reports")
    async def oversized() -> Response:
        return Response(b'{"reports": [' + b" " * (9 << 20) + b"]}", media_type="application/json")

    honest = [report(1, T0, T0 + 600)]
    async with serve_app(FakeRelay().app()) as relay, serve_app(hostile) as p1, serve_app(huge) as p2, \
            serve_app(peer_app(honest)) as p3:
        tx = transmitter(relay, (p1, p2, p3), [report(0, T0, T0 + 600)], quorum=2)
        for peer, why in ((p1, "nests deeper"), (p2, "larger than")):
            with pytest.raises(PeerError, match=why):
                await tx.fetch_peer(peer, 0)
        gathered = await tx.gather()  # the hostile peers cost only their own reports
        assert {r.signer for r in gathered} == {honest[0].signer, report(0, T0, T0 + 600).signer}
        await tx.aclose()


async def test_finding3_relay_answer_is_bounded_too() -> None:
    relay = FastAPI()

    @relay.post("/v1/oracle/reports")
    async def deep() -> Response:
        return Response(DEEP, status_code=502, media_type="application/json")

    sub = Submission(SHOP, 1, tuple(report(i, T0, T0 + 600) for i in range(2)))
    async with serve_app(relay) as url:
        submitter = RelaySubmitter(url)
        with pytest.raises(Exception, match="relay answered 502") as exc:
            await submitter.submit(sub)
        assert "[[[[" in str(exc.value)  # shown as text, never parsed
        await submitter.aclose()


def test_finding3_probe_body_is_depth_checked_before_parsing() -> None:
    spec = parse_config(config_dict(Path("/tmp/unused"), targets=[http_target(
        "http://127.0.0.1:1/", json_path="status", json_equals="up")])).targets[0]
    outcome, detail = evaluate_http(spec, 200, DEEP[:500_000], False, 5)
    assert outcome is Outcome.TARGET_FAILURE
    assert "nests deeper" in detail


async def test_finding9_out_of_range_queries_are_4xx_not_500(node: OracleNode) -> None:
    async with client(create_app(node)) as c:
        for path in ("/v1/reports?since=1e23", "/v1/episodes?since=1e23", "/v1/reports?since=-1",
                     "/v1/evidence/shop@1?seq=1e23", f"/v1/reports?since={2**63}"):
            r = await c.get(path)
            assert r.status_code == 422, path
            assert r.json()["type"] == "validation_error", path
        assert (await c.get(f"/v1/reports?since={2**63 - 1}")).status_code == 200


async def test_finding9_node_metrics_and_openapi_are_for_operators_only(node: OracleNode) -> None:
    async with client(create_app(node), host="203.0.113.7") as remote:
        for path in ("/metrics", "/openapi.json"):
            r = await remote.get(path)
            assert r.status_code == 403, path
            assert r.json()["type"] == "forbidden", path
        assert (await remote.get("/healthz")).status_code in (200, 503)  # public
        assert (await remote.get("/v1/reports")).status_code == 200  # peers and auditors read it
    async with client(create_app(node)) as local:
        assert (await local.get("/metrics")).status_code == 200
        assert "/v1/reports" in (await local.get("/openapi.json")).json()["paths"]
    tokened = create_app(node, metrics_token=SecretStr("scrape-token"))
    async with client(tokened, host="203.0.113.7") as remote, client(tokened) as local:
        assert (await remote.get("/metrics")).status_code == 401
        assert (await local.get("/metrics")).status_code == 401  # with a token, loopback needs it too
        bad = await remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        ok = await remote.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
        assert ok.status_code == 200
        assert "oracle_probes_total" in ok.text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_finding8_node_data_dir_and_stores_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a permissive umask: the node must not depend on the caller's
    try:
        data = tmp_path / "node"
        data.mkdir(mode=0o755)
        (data / "left-over.log").write_text("x")  # from before the rule
        n = make_node(config_dict(data, targets=[http_target("http://127.0.0.1:1/")]), node_key("f8"),
                      ManualClock(T0))
        await n.aclose()
    finally:
        os.umask(old)
    assert _mode(data) == 0o700
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"evidence.sqlite3", "node.sqlite3", "left-over.log"}
    assert all(_mode(p) & 0o077 == 0 for p in files), {p.name: oct(_mode(p)) for p in files}


# --- the TOML writer node configs are written with (finding 1) ----------------------------------

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)  # lone surrogates: refused
_scalar = st.one_of(_text, st.booleans(), st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=False), st.lists(_text, max_size=3))
_tables = st.recursive(
    st.dictionaries(_text, _scalar, max_size=4),
    lambda inner: st.dictionaries(_text, st.one_of(_scalar, inner, st.lists(inner, min_size=1, max_size=3)),
                                  max_size=4),
    max_leaves=12)


@given(_tables)
@example({"0\n": "", "a": {"b\n[x]": [{'"': "\u0000"}]}})  # a key ending in a newline once slipped through
@settings(max_examples=300, deadline=None)
def test_finding1_toml_writer_round_trips_any_text(data: dict[str, Any]) -> None:
    """Keys and strings full of quotes, newlines, brackets and control characters stay data."""
    assert tomllib.loads(tomlw.dumps(data)) == data


def test_finding1_toml_writer_refuses_what_toml_cannot_hold() -> None:
    for bad in ({"a": None}, {"a": b"x"}, {"a": "\ud800"}, {1: "x"}):
        with pytest.raises((TypeError, ValueError)):
            tomlw.dumps(bad)  # type: ignore[arg-type]
    assert tomllib.loads(tomlw.dumps({"x": math.inf, "y": -math.inf})) == {"x": math.inf, "y": -math.inf}


def test_finding1_dump_config_reads_back_as_the_same_config(tmp_path: Path) -> None:
    example = load_config(EXAMPLE)
    assert parse_config(tomllib.loads(dump_config(example))) == example
    raw = config_dict(tmp_path, targets=[http_target(
        "http://127.0.0.1:1/a?b=\"c\"\n[[targets]]", headers={"X-\"k\"\n": "v\"\n[x]"},
        json_path="a.b", json_equals=False, accept_status=[200, 204])],
        transmit={"enabled": True, "quorum": 2, "relay_url": "http://127.0.0.1:9", "peers": ["http://p\"1"]})
    cfg = parse_config(raw)
    text = dump_config(cfg)
    assert parse_config(tomllib.loads(text)) == cfg
    assert len(tomllib.loads(text)["targets"]) == 1


def test_finding3_evidence_verify_refuses_a_deep_bundle(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from oracles.cli import app as cli

    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(DEEP)
    result = CliRunner().invoke(cli, ["evidence", "verify", str(bundle)])
    assert result.exit_code == 2
    assert "nests deeper" in result.output
