"""Loopback stand-ins for monitored services, peers and relays, and node/config builders."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from eth_utils.crypto import keccak
from fastapi import FastAPI, Header

from contracts import eip712
from contracts.procs import free_port  # noqa: F401 - this package's tests import it from here
from oracles.clock import Clock, ManualClock
from oracles.config import NodeConfig, parse_config
from oracles.keys import NodeKey
from oracles.node import OracleNode
from oracles.reports import SignedReport, episode_id, sign_report
from oracles.transmit.submitters import RelaySubmitter, Submitter
from oracles.transmit.transmitter import Transmitter

CHAIN_ID = 31337
ORACLE_ADDRESS = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
T0 = 1_700_000_040  # a UTC minute boundary (divisible by 60)
assert T0 % 60 == 0


def node_key(name: str) -> NodeKey:
    return NodeKey(keccak(text=f"cybercover-oracle-test-{name}"))


SHOP = eip712.service_id("https://shop.example")
KEYS = [node_key(f"oracle-{i}") for i in range(5)]


def report(i: int, start: int, end: int, *, seq: int = 1, service: bytes = SHOP,
           version: int = 1, ongoing: bool = True) -> SignedReport:
    """A report on `shop` signed by KEYS[i]."""
    return sign_report(KEYS[i], episode=episode_id("shop", start), target="shop",
                       service_id=service, config_version=version, start=start, end=end,
                       ongoing=ongoing, evidence_root=bytes([i + 1]) * 32, seq=seq,
                       chain_id=CHAIN_ID, verifying_contract=ORACLE_ADDRESS, signed_at=end)


class FakeService:
    """A tiny HTTP/1.1 server on 127.0.0.1 whose answer the test changes at will."""

    def __init__(self, *, status: int = 200, body: bytes = b'{"status": "up"}',
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.status = status
        self.body = body
        self.delay = 0.0
        self.hang_up = False  # close without answering
        self.requests = 0
        self.connections = 0
        self.active = 0
        self.max_active = 0
        self._ssl = ssl_context
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}/health"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> FakeService:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self._writers.add(writer)
        try:
            if not await self._read_head(reader):
                return  # a TCP/TLS probe connects and leaves without a request
            self.requests += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hang_up:
                return
            head = (f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n")
            writer.write(head.encode() + self.body)
            await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            self.active -= 1
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> bool:
        try:
            await reader.readuntil(b"\r\n\r\n")
            return True
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return False


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a loopback port for the duration of the block."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="off"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class FakeRelay:
    """The relay endpoint of the service: accepts a window once, then says already_covered."""

    received: list[dict[str, Any]] = field(default_factory=list)
    covered: set[tuple[str, int, int]] = field(default_factory=set)
    fail_with: int | None = None
    fail_type: str = "boom"  # the error type answered with `fail_with`
    delay: float = 0.0
    arrived: int = 0
    api_key: str | None = None  # when set, the relay requires it in X-API-Key

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/v1/oracle/reports")
        async def submit(body: dict[str, Any], x_api_key: str | None = Header(None)) -> Any:
            from fastapi.responses import JSONResponse

            self.arrived += 1
            if self.api_key is not None and x_api_key != self.api_key:
                return JSONResponse({"type": "unauthorized", "detail": "missing X-API-Key header"},
                                    status_code=401)
            await asyncio.sleep(self.delay)  # a relay waiting for its receipt
            self.received.append(body)
            if self.fail_with is not None:
                return JSONResponse({"type": self.fail_type, "detail": "relay broken"},
                                    status_code=self.fail_with)
            window = (body["service_id"], min(r["start"] for r in body["reports"]),
                      max(r["end"] for r in body["reports"]))
            if window in self.covered:
                return JSONResponse({"type": "already_covered", "detail": "nothing new"},
                                    status_code=409)
            self.covered.add(window)
            return {"tx_hash": "0x" + "ab" * 32}

        return api


def config_dict(data_dir: Path, *, targets: list[dict[str, Any]],
                canaries: list[dict[str, Any]] | None = None,
                transmit: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "node": {"data_dir": str(data_dir), "config_version": 1, "max_concurrency": 16},
        "chain": {"chain_id": CHAIN_ID, "oracle_address": ORACLE_ADDRESS},
        "canaries": canaries or [],
        "targets": targets,
        "transmit": transmit or {},
    }


def http_target(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "shop", "kind": "http", "url": url, "service": "https://shop.example",
        "interval": 10, "timeout": 2, "threshold_fraction": 0.5, "min_samples": 3,
        "open_after": 2, "close_after": 2, "threshold_seconds": 180, **overrides,
    }


def http_canary(url: str, name: str = "canary") -> dict[str, Any]:
    return {"name": name, "kind": "http", "url": url, "interval": 10, "timeout": 2}


def make_node(raw: dict[str, Any], key: NodeKey, clock: Clock,
              submitter: Submitter | None = None) -> OracleNode:
    config: NodeConfig = parse_config(raw)
    return OracleNode(config, key, clock=clock, submitter=submitter)


async def advance(clock: ManualClock, nodes: list[OracleNode], until: float,
                  step: float = 5.0, world: Callable[[float], None] | None = None) -> list[Any]:
    """Move time forward in steps; at each step set the world's state for that instant
    (`world(t)`), then run one cycle of every node."""
    results = []
    while clock.time() < until:
        clock.advance(step)
        if world is not None:
            world(clock.time())
        for node in nodes:
            results.append(await node.run_once())
    return results


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def make_cert(directory: Path, name: str, days: int) -> CertFiles:
    """A self-signed certificate for localhost/127.0.0.1 (openssl CLI: `cryptography` is not
    installed in this environment)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", str(days),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    return CertFiles(cert, key)


def server_context(files: CertFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(files.cert, files.key)
    return ctx


@contextlib.contextmanager
def env(**values: str) -> Iterator[None]:
    import os

    from oracles.config import get_settings

    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def peer_app(reports: list[SignedReport], raw: list[dict[str, Any]] | None = None) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/reports")
    async def list_reports(since: int = 0) -> dict[str, Any]:
        return {"node": "peer", "reports": [r.to_json() for r in reports if r.end >= since]
                + (raw or [])}

    return app


def transmitter(relay_url: str, peers: tuple[str, ...], own: list[SignedReport],
                quorum: int = 3, **kw: Any) -> Transmitter:
    kw.setdefault("clock", ManualClock(T0 + 3600))
    return Transmitter(submitter=RelaySubmitter(relay_url), quorum=quorum, config_version=1,
                       chain_id=CHAIN_ID, oracle_address=ORACLE_ADDRESS, peers=peers,
                       own_reports=lambda since: [r for r in own if r.end >= since], **kw)
