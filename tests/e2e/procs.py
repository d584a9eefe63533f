"""Oracle node processes for end-to-end tests, their configs built from the node's own model and
written by its serializer (targets: `service.commands.demo.Target`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from contracts.procs import stop, wait_http
from oracles.config import CanaryConfig, ChainSection, NodeConfig, NodeSection, TargetConfig, TransmitSection

BIN = Path(sys.executable).parent
# The payout worker's round every second instead of every 5 s: payouts follow finality sooner.
FAST_STACK = {"CYBERCOVER_WORKER_INTERVAL": "1"}
# anvil's well-known development keys (mnemonic "test test … junk"): funded on every anvil.
ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
]


def node_config(*, data_dir: Path, port: int, chain_id: int, oracle_address: str, rpc_url: str, target_url: str,
                canary_url: str, service: str, threshold_seconds: int,
                transmit: TransmitSection | None = None) -> NodeConfig:
    """A node probing one covered target and one canary every 2 s; an episode opens after one
    DOWN minute and closes after two UP minutes."""
    return NodeConfig(
        node=NodeSection(data_dir=data_dir, listen_port=port, config_version=1),
        chain=ChainSection(chain_id=chain_id, oracle_address=oracle_address, rpc_url=rpc_url),
        transmit=transmit or TransmitSection(),
        canaries=(CanaryConfig(name="canary", kind="http", url=canary_url, interval=2, timeout=1),),
        targets=(TargetConfig(name="covered", service=service, kind="http", url=target_url, interval=2, timeout=1,
                              min_samples=3, threshold_fraction=0.5, open_after=1, close_after=2,
                              threshold_seconds=threshold_seconds),),
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


def wait_healthy(url: str, timeout: float = 30) -> None:
    assert wait_http(url + "/healthz", timeout, ready=lambda status: status == 200), f"{url} did not become healthy"
