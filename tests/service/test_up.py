"""`cybercover up` deploys the OutageOracle with a merge gap and finality delay matched to the
local nodes it starts (short buckets and transmit rounds), and products it serves get a grace
period that covers the finality delay."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from contracts.deploy import Deployment
from oracles.verdicts import BUCKET_SECONDS
from service.commands.up import bootstrap
from service.stack.nodes import (
    FINALITY_DELAY,
    MERGE_GAP,
    MINUTE,
    PROBE,
    TRANSMIT_INTERVAL,
    Target,
    node_config,
)
from tests.anvil import anvil


def test_episode_parameters_match_the_local_nodes(tmp_path: Path) -> None:
    assert MINUTE == BUCKET_SECONDS
    assert PROBE["close_after"] * BUCKET_SECONDS == MERGE_GAP  # a node's longest UP gap inside one outage
    assert FINALITY_DELAY == 4 * TRANSMIT_INTERVAL
    signers = [Account.create().address for _ in range(3)]
    cfg = node_config(0, tmp_path, [9001, 9002, 9003], "http://127.0.0.1:9000", 31337, "0x" + "11" * 20, signers,
                      [Target("https://covered.example/health", 60)], lambda _: None)
    assert cfg.transmit.interval == TRANSMIT_INTERVAL
    with anvil() as (_, w3):
        boot = bootstrap(w3, tmp_path, signers)
        dep = Deployment.from_json(boot["deployment"])
        oracle = dep.contract(w3, "OutageOracle").functions
        assert (oracle.mergeGap().call(), oracle.finalityDelay().call()) == (MERGE_GAP, FINALITY_DELAY) == (120, 20)
        assert bootstrap(w3, tmp_path, signers)["deployment"] == boot["deployment"]  # reused, not redeployed
