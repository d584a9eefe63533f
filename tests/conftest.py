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
# keeps its place. Estimated seconds of one file with PostgreSQL on, from a `--durations=0`
# profile of the parallel part (SQLite only, 2026-12-03, branch suitespeed), the files that run
# on both backends counted twice; keep the list to the slowest few.
SLOW_FILES = {
    "tests/service/test_exclusions.py": 130,  # the episodes mirror property, on both backends
    "tests/service/test_lifecycle.py": 95,
    "tests/contracts/test_properties.py": 95,
    "tests/contracts/test_build.py": 85,  # `compile --check` (solcjs when no native solc)
    "tests/service/test_notices.py": 80,
    "tests/service/test_cohorts.py": 75,
    "tests/service/test_schemathesis.py": 70,
    "tests/service/test_reindex.py": 55,
    "tests/service/test_keys.py": 55,
    "tests/contracts/test_money_findings.py": 50,
    "tests/service/test_claim_view.py": 45,
    "tests/contracts/test_cover_pool.py": 45,
    "tests/service/test_episodes.py": 45,
    "tests/service/test_webhooks.py": 40,
    "tests/contracts/test_cohort_adversary.py": 70,  # 2026-12-03: ~70 CPU-s, measured under load
    "tests/service/test_pipeline_worker.py": 60,  # anvil; both backends
    "tests/service/test_tenancy.py": 60,
    "tests/contracts/test_lifecycle_properties.py": 50,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def cost(item: pytest.Item) -> float:
        return -SLOW_FILES.get(item.nodeid.split("::", 1)[0], 0)

    items.sort(key=cost)  # stable: a file's tests keep their order, other files theirs
