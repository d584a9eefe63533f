"""Fixture chain: one eth-tester chain and one deployment per session; every test runs inside a
snapshot that is reverted afterwards, so tests are isolated without redeploying."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings
from web3 import Web3

from contracts.deploy import deploy
from tests.chain import ORACLES, QUORUM, Actors, Ledger, fast_w3

# `make test` (and so CI) draws the same examples every run: a red run is a change's doing, not a
# new draw's. `HYPOTHESIS_PROFILE=explore` draws fresh ones (and more) to hunt for new failures.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


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


# --- balancing the two xdist workers ----------------------------------------------------------
# `make test` runs `--dist loadfile --no-loadscope-reorder`: whole files go to whichever worker is
# free, in collection order. A long file handed out last keeps one worker busy alone at the end,
# so the longest files are collected first (longest-processing-time-first); every other file
# keeps its place. Seconds of one file in a single-process run with PostgreSQL on the shared
# machine (2026-12-02, branch speed); keep the list to the slowest few.
SLOW_FILES = {
    "tests/service/test_tenancy.py": 94,
    "tests/service/test_pipeline_worker.py": 72,  # anvil; both backends
    "tests/contracts/test_lifecycle_properties.py": 79,
    "tests/contracts/test_adversary.py": 52,
    "tests/contracts/test_properties.py": 47,
    "tests/service/test_worker.py": 47,
    "tests/contracts/test_exclusions.py": 45,
    "tests/service/test_exclusions.py": 37,
    "tests/contracts/test_build.py": 34,
    "tests/contracts/test_cohort_adversary.py": 60,  # 2026-12-03, measured under load: an estimate
    "tests/contracts/test_cohorts.py": 30,
    "tests/contracts/test_cohort_properties.py": 20,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def cost(item: pytest.Item) -> float:
        return -SLOW_FILES.get(item.nodeid.split("::", 1)[0], 0)

    items.sort(key=cost)  # stable: a file's tests keep their order, other files theirs
