"""Three oracle node processes, anvil, and a loopback HTTP service that goes down for longer
than a short threshold: the nodes co-sign, one transmits, and OutageOracle records it. The
scenario runs in the background from the start of the e2e session (conftest.py); the test checks
what it recorded."""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from contracts import eip712
from contracts.deploy import deploy
from contracts.procs import free_port, mine_every
from oracles.config import TransmitSection, write_config
from service.commands.demo import Target
from tests.anvil import anvil
from tests.chain import signer
from tests.e2e.procs import ANVIL_KEYS, node_config, oracle_node, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
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
        dep = deploy(w3, w3.eth.accounts[0], oracle_signers=[k.address for k in keys], quorum=2)
        mine_every(w3)  # deployed; from now on block time follows the wall clock (contracts.procs)
        oracle = dep.contract(w3, "OutageOracle")
        configs = []
        for i, port in enumerate(ports):
            # Node 0 gathers from its peers and submits with its own key over JSON-RPC.
            transmit = TransmitSection(enabled=True, submitter="rpc", quorum=2, interval=3,
                                       peers=tuple(f"http://127.0.0.1:{p}" for p in ports[1:])) if i == 0 else None
            cfg = tmp_path / f"node{i}.toml"
            write_config(cfg, node_config(data_dir=tmp_path / f"data{i}", port=port, chain_id=dep.chain_id,
                                          oracle_address=oracle.address, rpc_url=url, target_url=target.url,
                                          canary_url=canary.url, service=SERVICE, threshold_seconds=60,
                                          transmit=transmit))
            configs.append(cfg)
        tx_env = {"ORACLE_TX_PRIVATE_KEY": ANVIL_KEYS[1]}
        assert Account.from_key(ANVIL_KEYS[1]).address == w3.eth.accounts[1]
        with oracle_node(configs[0], "0x" + keys[0].key.hex(), tx_env), \
                oracle_node(configs[1], "0x" + keys[1].key.hex()), \
                oracle_node(configs[2], "0x" + keys[2].key.hex()):
            for port in ports:
                wait_healthy(f"http://127.0.0.1:{port}")
            hits, deadline = target.hits, time.monotonic() + 30
            while target.hits < hits + 2 * len(ports):  # a few UP probes first
                assert time.monotonic() < deadline, "the nodes do not probe the target"
                time.sleep(0.2)
            went_down = int(time.time())
            target.down()
            deadline = time.monotonic() + 300
            events: list = []
            while time.monotonic() < deadline and not events:
                time.sleep(1)
                events = list(oracle.events.OutageVerified.get_logs(from_block=0))
            target.up()
    return Outage(went_down, events, "\n".join(c.with_suffix(".log").read_text()[-2000:] for c in configs))


def test_three_nodes_verify_an_outage_on_anvil(network_outage: Future[Outage]) -> None:
    outage = network_outage.result(timeout=400)
    went_down, events = outage.went_down, outage.events
    assert events, f"no OutageVerified within 300 s; node logs:\n{outage.logs}"
    ev = events[0]["args"]
    assert ev["serviceId"] == eip712.service_id(SERVICE)
    # The window starts at a minute boundary at or after the outage began (the first DOWN
    # minute) and lasts at least the threshold.
    assert went_down - 60 <= ev["start"] and ev["start"] % 60 == 0
    assert ev["end"] - ev["start"] >= 60
    assert bin(ev["signers"]).count("1") >= 2
