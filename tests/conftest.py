"""Fixture chain: one eth-tester chain and one deployment per session; every test runs inside a
snapshot that is reverted afterwards, so tests are isolated without redeploying."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from contracts.deploy import deploy
from tests.chain import ORACLES, QUORUM, Actors, Ledger, fast_w3


@pytest.fixture(scope="session")
def w3() -> Web3:
    return fast_w3()


@pytest.fixture(scope="session")
def actors(w3: Web3) -> Actors:
    return Actors.from_accounts(w3.eth.accounts)


@pytest.fixture(scope="session")
def _ledger(w3: Web3, actors: Actors) -> Ledger:
    dep = deploy(
        w3,
        actors.owner,
        oracle_signers=[o.address for o in ORACLES],
        quorum=QUORUM,
        underwriters=[actors.underwriter],
        distributors=[actors.distributor],
        claims=[actors.claims],
    )
    ledger = Ledger(w3, dep, actors)
    ledger.send(ledger.registry.functions.setAssessor(actors.assessor, 88), actors.owner)
    ledger.send(
        ledger.pool.functions.grantRole(ledger.pool.functions.TREASURER_ROLE().call(), actors.treasurer),
        actors.owner,
    )
    return ledger


@pytest.fixture
def ledger(_ledger: Ledger) -> Iterator[Ledger]:
    snap = _ledger.tester.take_snapshot()
    try:
        yield _ledger
    finally:
        _ledger.tester.revert_to_snapshot(snap)
