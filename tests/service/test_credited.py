"""A payout the token refuses (a blacklisting stablecoin) is credited by CoverPool to the payee,
who pulls it later with `claim(to)`; the rest of the batch is paid. GET /v1/payouts tells them
apart: `credited` vs `sent`, from the pool's PayoutCredited events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from fastapi.testclient import TestClient

from contracts.sender import send
from service.db.session import make_engine
from tests.chain import TEST_GAS, USD
from tests.service.conftest import build_app
from tests.service.helpers import HOUR, Api, make_chain, outage, unique_service, worker

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


@pytest.fixture(scope="module")
def blacklisting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, FastAPI]]:
    chain = make_chain(token_artifact="BlacklistToken")
    tmp = tmp_path_factory.mktemp("credited")
    engine = make_engine(f"sqlite:///{tmp / 'credited.db'}")
    app = build_app(chain, engine, Path(tmp))
    yield Api(TestClient(app, raise_server_exceptions=False), chain), app
    engine.dispose()


def test_refused_payout_is_listed_as_credited_and_claimable(blacklisting: tuple[Api, FastAPI]) -> None:
    api, app = blacklisting
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    service = unique_service()
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service, payout_kind="fixed", amount=20 * USD)
    quote = api.quote(prod["id"], assessment["id"], headers)
    covers = [{"beneficiary": "0x" + keccak(text=f"{service}/{i}")[:20].hex(), "holder_ref": f"c{i}"}
              for i in range(3)]
    policies = api.ok(api.c.post("/v1/policies/batch?wait=true", json={"quote_id": quote["id"], "covers": covers},
                                 headers=headers), 201)["policies"]
    refused = policies[1]
    token, pool = api.chain.token, api.chain.dep.contract(api.chain.w3, "CoverPool")
    send(api.chain.w3, token.functions.setBlacklisted(refused["beneficiary"], True), api.chain.owner, gas=TEST_GAS)

    outage(api, service, 2 * HOUR, headers)
    result = worker(app).run_once()
    assert sorted(result.settled) == sorted(p["id"] for p in policies)  # one batch: nobody bisected out
    assert result.transactions == 1
    assert result.failed == []
    assert api.chain.balance(refused["beneficiary"]) == 0
    assert pool.functions.claimableOf(refused["beneficiary"]).call() == 20 * USD
    assert pool.functions.owedCapital().call() == 20 * USD

    payouts = api.ok(api.c.get("/v1/payouts", headers=headers))
    status = {p["policy_id"]: (p["status"], p["amount"], p["beneficiary"]) for p in payouts}
    assert status == {p["id"]: ("credited" if p is refused else "sent", 20 * USD, p["beneficiary"]) for p in policies}
    assert len({p["tx"] for p in payouts}) == 1
    credited = api.ok(api.c.get("/v1/payouts", params={"status": "credited"}, headers=headers))
    assert [p["policy_id"] for p in credited] == [refused["id"]]
    assert all(api.chain.balance(p["beneficiary"]) == 20 * USD for p in policies if p is not refused)
    # Settled all the same: no later cycle pays the credited policy again.
    assert worker(app).run_once().settled == []
    got = api.ok(api.c.get(f"/v1/policies/{refused['id']}", headers=headers))
    assert (got["paid"], got["settled"]) == (20 * USD, 20 * USD)


def test_a_refused_cohort_payout_is_credited_and_not_paid_again(blacklisting: tuple[Api, FastAPI]) -> None:
    """A group cover's batch: the member the token refuses is credited by the pool (claimable),
    the rest of the batch is paid, and the projection (and a reindex) tells them apart."""
    from sqlalchemy import select

    from service.db import models as m

    api, app = blacklisting
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    service = unique_service()
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service)
    members = [{"ref": f"g{i}", "beneficiary": "0x" + keccak(text=f"{service}/g{i}")[:20].hex(), "limit": 80 * USD}
               for i in range(3)]
    cohort = api.ok(api.c.post("/v1/cohorts", json={"assessment_id": assessment["id"], "product_id": prod["id"],
                                                    "customers": members}, headers=headers), 201)
    refused = api.ok(api.c.get(f"/v1/cohorts/{cohort['id']}/members/g1", headers=headers))["beneficiary"]
    token, pool = api.chain.token, api.chain.dep.contract(api.chain.w3, "CoverPool")
    send(api.chain.w3, token.functions.setBlacklisted(refused, True), api.chain.owner, gas=TEST_GAS)
    owed_before = pool.functions.owedCapital().call()

    outage(api, service, 3 * HOUR, headers)  # level 100 per member: each is owed its whole 80
    result = worker(app).run_once()
    assert result.cohorts.paid == 3 and not result.cohorts.failed
    assert api.chain.balance(refused) == 0
    assert pool.functions.claimableOf(refused).call() == 80 * USD
    assert pool.functions.owedCapital().call() == owed_before + 80 * USD
    for i in range(3):
        got = api.ok(api.c.get(f"/v1/cohorts/{cohort['id']}/members/g{i}", headers=headers))
        assert [(p["status"], p["amount"]) for p in got["payouts"]] == [("credited" if i == 1 else "sent", 80 * USD)]
        assert got["owed"] == 0 and got["paid"] == 80 * USD
        if i != 1:
            assert api.chain.balance(got["beneficiary"]) == 80 * USD
    assert worker(app).run_once().cohorts.paid == 0  # credited is paid: no later cycle pays it again

    def rows() -> list[tuple[int, str, int]]:
        with app.state.factory() as s:
            return sorted((p.index, p.status, p.amount) for p in s.scalars(
                select(m.CohortPayout).where(m.CohortPayout.cohort_id == cohort["id"])))

    was = rows()
    app.state.indexer.rebuild()
    assert rows() == was == [(0, "sent", 80 * USD), (1, "credited", 80 * USD), (2, "sent", 80 * USD)]
