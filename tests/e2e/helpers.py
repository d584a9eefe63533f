"""Oracle node processes for end-to-end tests, their configs built from the node's own model and
written by its serializer (targets: `service.commands.demo.Target`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

from contracts.deploy import deploy
from contracts.procs import free_port, mine_every, stop, wait_http
from oracles.config import (
    CanaryConfig,
    ChainSection,
    NodeConfig,
    NodeSection,
    TargetConfig,
    TransmitSection,
    write_config,
)
from service.commands.demo import Target
from service.stack.nodes import Timing
from tests.anvil import anvil
from tests.chain import signer

BIN = Path(sys.executable).parent
# The verdict bucket of every e2e stack (OutageOracle.bucketSeconds, `up --bucket-seconds`): an
# outage is verified and final in tens of seconds instead of minutes (the default is 60 s).
E2E_BUCKET = 6
# `up` for e2e: 6 s buckets (probes, transmit rounds, merge gap and finality delay follow, see
# service.stack.nodes.Timing); the payout worker's round every second instead of every 5 s.
FAST_STACK = {"CYBERCOVER_UP_BUCKET_SECONDS": str(E2E_BUCKET), "CYBERCOVER_WORKER_INTERVAL": "1"}
# anvil's well-known development keys (mnemonic "test test … junk"): funded on every anvil.
ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]


def node_config(*, data_dir: Path, port: int, chain_id: int, oracle_address: str, rpc_url: str, target_url: str,
                canary_url: str, service: str, threshold_seconds: int,
                transmit: TransmitSection | None = None) -> NodeConfig:
    """A node judging E2E_BUCKET buckets (checked against the chain at start), probing one covered
    target and one canary with `up`'s timings for that bucket; an episode opens after one DOWN
    bucket and closes after two UP buckets."""
    timing = Timing(E2E_BUCKET)
    return NodeConfig(
        node=NodeSection(data_dir=data_dir, listen_port=port, config_version=1),
        chain=ChainSection(chain_id=chain_id, oracle_address=oracle_address, rpc_url=rpc_url,
                           bucket_seconds=E2E_BUCKET),
        transmit=transmit or TransmitSection(),
        canaries=(CanaryConfig(name="canary", kind="http", url=canary_url, **timing.canary()),),
        targets=(TargetConfig(name="covered", service=service, kind="http", url=target_url, threshold_fraction=0.5,
                              threshold_seconds=threshold_seconds, **timing.probe()),),
    )


@contextmanager
def oracle_node(config: Path, key: str, extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    log = open(config.with_suffix(".log"), "wb")  # noqa: SIM115 - closed below
    env = {**os.environ, "ORACLE_PRIVATE_KEY": key, **(extra_env or {})}
    proc = subprocess.Popen([str(BIN / "cybercover-oracle"), "run", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        stop(proc)
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120) -> None:
    """Until the node answers /healthz (an early exit fails at once; a loaded machine starts slowly)."""
    assert wait_http(url + "/healthz", timeout, ready=lambda status: status == 200, proc=proc), \
        f"{url} did not become healthy (exit code {proc.poll() if proc else None})"


# The oracle-network scenario (run in the background by conftest.py, checked by
# test_oracle_network.py).
SERVICE = "https://e2e.covered.example"


@dataclass(frozen=True)
class Outage:
    went_down: int
    events: list[Any]  # OutageVerified logs
    logs: str  # the tails of the node logs


def verify_an_outage(tmp_path: Path) -> Outage:
    keys = [signer(f"e2e-oracle-{i}") for i in range(3)]
    target, canary = Target(), Target()
    target.up()
    canary.up()
    ports = [free_port() for _ in keys]
    with anvil() as (url, w3):
        timing = Timing(E2E_BUCKET)
        dep = deploy(w3, w3.eth.accounts[0], oracle_signers=[k.address for k in keys], quorum=2,
                     bucket_seconds=E2E_BUCKET, merge_gap=timing.merge_gap, finality_delay=timing.finality_delay)
        mine_every(w3)  # deployed; from now on block time follows the wall clock (contracts.procs)
        oracle = dep.contract(w3, "OutageOracle")
        configs = []
        for i, port in enumerate(ports):
            # Node 0 gathers from its peers and submits with its own key over JSON-RPC.
            transmit = TransmitSection(enabled=True, submitter="rpc", quorum=2, interval=timing.transmit_interval,
                                       peers=tuple(f"http://127.0.0.1:{p}" for p in ports[1:])) if i == 0 else None
            cfg = tmp_path / f"node{i}.toml"
            write_config(cfg, node_config(data_dir=tmp_path / f"data{i}", port=port, chain_id=dep.chain_id,
                                          oracle_address=oracle.address, rpc_url=url, target_url=target.url,
                                          canary_url=canary.url, service=SERVICE, threshold_seconds=E2E_BUCKET,
                                          transmit=transmit))
            configs.append(cfg)
        tx_env = {"ORACLE_TX_PRIVATE_KEY": ANVIL_KEYS[1]}
        assert Account.from_key(ANVIL_KEYS[1]).address == w3.eth.accounts[1]
        with oracle_node(configs[0], "0x" + keys[0].key.hex(), tx_env) as p0, \
                oracle_node(configs[1], "0x" + keys[1].key.hex()) as p1, \
                oracle_node(configs[2], "0x" + keys[2].key.hex()) as p2:
            for port, proc in zip(ports, (p0, p1, p2), strict=True):
                wait_healthy(f"http://127.0.0.1:{port}", proc)
            hits, deadline = target.hits, time.monotonic() + 30
            while target.hits < hits + 2 * len(ports):  # a few UP probes first
                assert time.monotonic() < deadline, "the nodes do not probe the target"
                time.sleep(0.2)
            went_down = int(time.time())
            target.down()
            deadline = time.monotonic() + 300
            events: list = []
            while time.monotonic() < deadline and not events:
                time.sleep(0.5)
                events = list(oracle.events.OutageVerified.get_logs(from_block=0))
            target.up()
    return Outage(went_down, events, "\n".join(c.with_suffix(".log").read_text()[-2000:] for c in configs))
