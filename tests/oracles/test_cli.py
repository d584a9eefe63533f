"""`cybercover-oracle run` as a real process: serves its API, logs JSON, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.oracles.helpers import FakeService, free_port

pytestmark = pytest.mark.anyio
BIN = Path(sys.executable).parent / "cybercover-oracle"


async def test_run_serves_and_stops_gracefully_on_sigterm(tmp_path: Path,
                                                          service: FakeService,
                                                          canary: FakeService) -> None:
    port = free_port()
    (tmp_path / "node.toml").write_text(f"""
[node]
data_dir = "data"
listen_port = {port}
config_version = 1

[chain]
chain_id = 31337
oracle_address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"

[[canaries]]
name = "canary"
kind = "http"
url = "{canary.url}"
interval = 1
timeout = 0.5

[[targets]]
name = "shop"
service = "shop.example"
kind = "http"
url = "{service.url}"
interval = 1
timeout = 0.5
min_samples = 1
""")
    secret = "ab" * 32
    proc = await asyncio.create_subprocess_exec(
        str(BIN), "run", "--config", str(tmp_path / "node.toml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ORACLE_PRIVATE_KEY": secret})
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 20
            while True:
                assert proc.returncode is None, "the node exited early"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the node did not come up"
                await asyncio.sleep(0.1)
            while service.requests < 2:  # fixed-rate probing has started
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            metrics = (await client.get("/metrics")).text
            assert 'oracle_probes_total{kind="http",outcome="ok",target="shop"}' in metrics
            assert (await client.get("/v1/reports")).json()["reports"] == []
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=20)
    assert proc.returncode == 0, stderr.decode()
    [summary] = stdout.decode().strip().splitlines()
    assert "stopped after" in summary
    assert "probes" in summary
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert lines
    assert all({"ts", "level", "msg"} <= set(entry) for entry in lines)
    assert any(entry["msg"] == "listening" for entry in lines)
    assert secret not in stdout.decode() + stderr.decode()
    assert (tmp_path / "data" / "evidence.sqlite3").exists()


async def test_export_then_verify_and_check_the_local_log(tmp_path: Path, service: FakeService,
                                                          canary: FakeService) -> None:
    from typer.testing import CliRunner

    from oracles.cli import app
    from oracles.clock import ManualClock
    from oracles.config import load_config
    from oracles.keys import NodeKey
    from oracles.node import OracleNode
    from tests.oracles.helpers import T0, advance, env

    secret = "cd" * 32
    path = tmp_path / "node.toml"
    path.write_text(f"""
[node]
data_dir = "data"
config_version = 1
[chain]
chain_id = 31337
oracle_address = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
[[canaries]]
name = "canary"
kind = "http"
url = "{canary.url}"
interval = 10
timeout = 2
[[targets]]
name = "shop"
service = "shop.example"
kind = "http"
url = "{service.url}"
interval = 10
timeout = 2
open_after = 2
close_after = 2
threshold_seconds = 120
""")
    clock = ManualClock(T0)
    node = OracleNode(load_config(path), NodeKey(bytes.fromhex(secret)), clock=clock)

    def world(t: float) -> None:
        service.status = 503 if T0 + 60 <= t < T0 + 300 else 200

    await advance(clock, [node], T0 + 480, world=world)
    [episode] = node.state.episodes()
    await node.aclose()

    runner = CliRunner()
    out = tmp_path / "bundle.json"
    with env(ORACLE_PRIVATE_KEY=secret):
        result = runner.invoke(app, ["evidence", "export", episode.episode_id, "--config",
                                     str(path), "-o", str(out)])
        assert result.exit_code == 0, result.output
        first = tmp_path / "first.json"
        assert runner.invoke(app, ["evidence", "export", episode.episode_id, "--config",
                                   str(path), "--seq", "1", "-o", str(first)]).exit_code == 0
        assert runner.invoke(app, ["evidence", "export", "shop@1", "--config",
                                   str(path)]).exit_code == 2
        check = runner.invoke(app, ["evidence", "check", "--config", str(path)])
        assert check.exit_code == 0
        assert "intact" in check.output
    verified = runner.invoke(app, ["evidence", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert json.loads(first.read_text())["report"]["seq"] == 1
    assert json.loads(out.read_text())["report"]["ongoing"] is False
