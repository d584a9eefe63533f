"""Chain reorganisations on anvil (`anvil_reorg` replaces the newest blocks): the projection and
the payout worker converge on the canonical chain, and nobody is paid twice. Confirmations: a
log is projected, and acted on, only once enough blocks are on top of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from web3 import Web3

from service.chain.indexer import Indexer
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_engine, make_sessionmaker
from service.worker.payouts import PayoutWorker
from tests.anvil import anvil
from tests.chain import USD
from tests.service.conftest import build_app
from tests.service.helpers import HOUR, Api, Chain, finality, make_chain, outage, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


class AnvilChain(Chain):
    def travel(self, seconds: int) -> int:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.mine()
        return self.now()

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def reorg(self, depth: int, txs: list[str] | None = None) -> None:
        """Replaces the newest `depth` blocks by as many new ones holding `txs` (in the first)."""
        reply = self.w3.provider.make_request("anvil_reorg", [depth, [[tx, 0] for tx in txs or []]])  # type: ignore[arg-type]
        assert "error" not in reply, reply


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Api, FastAPI, AnvilChain]]:
    with anvil() as (_, w3):
        chain = make_chain(w3, AnvilChain)
        assert isinstance(chain, AnvilChain)
        engine = make_engine(f"sqlite:///{tmp_path / 'reorg.db'}")
        app = build_app(chain, engine, tmp_path)
        app.state.settings.webhook_allow_loopback_http = True  # the loopback hook below is never served
        yield Api(TestClient(app, raise_server_exceptions=False), chain), app, chain
        engine.dispose()


def covers(api: Api, service: str, n: int) -> list[dict[str, Any]]:
    """n per-hour covers (50 USD an hour, auto-paid up to 150) on one service."""
    tenant = api.tenant()
    headers = api.key(tenant, "distributor")
    api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["payout.sent"]},
                      headers=headers), 201)
    assessment = api.anchored_assessment(tenant)
    prod = api.product(service)
    quote = api.quote(prod["id"], assessment["id"], headers)
    body = {"quote_id": quote["id"], "covers": [{"beneficiary": Web3.to_checksum_address(f"0x{i + 1:040x}"),
                                                  "holder_ref": f"c{i}"} for i in range(n)]}
    return list(api.ok(api.c.post("/v1/policies/batch?wait=true", json=body, headers=headers), 201)["policies"])


def chain_payouts(chain: Chain, ids: set[int]) -> list[tuple[int, int, str]]:
    logs = chain.book.events.PayoutSent().get_logs(from_block=chain.dep.first_block)
    return sorted((e["args"]["policyId"], e["args"]["amount"], "0x" + e["transactionHash"].hex())
                  for e in logs if e["args"]["policyId"] in ids)


def notified(app: FastAPI) -> list[tuple[int, str]]:
    """(policy, transaction) of every payout.sent in the outbox."""
    with app.state.factory() as s:
        rows = s.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.event_type == "payout.sent")).all()
        assert len({r.event_id for r in rows}) == len(rows)
        return sorted((r.payload["data"]["policy_id"], r.payload["tx"]) for r in rows)


def assert_converged(app: FastAPI, chain: Chain, policies: list[dict[str, Any]], paid: int) -> None:
    """Projection == canonical chain: the same payouts (by transaction), the same totals, and
    the balances say each policy was paid exactly `paid`."""
    ids = {p["id"] for p in policies}
    on_chain = chain_payouts(chain, ids)
    with app.state.factory() as s:
        projected = sorted((r.policy_id, r.amount, r.tx) for r in s.scalars(
            select(m.Payout).where(m.Payout.policy_id.in_(ids))))
        rows = {p.id: p for p in s.scalars(select(m.Policy).where(m.Policy.id.in_(ids)))}
        cursor = s.get(m.ChainCursor, "main")
    assert projected == on_chain
    assert cursor is not None
    assert cursor.hash == "0x" + chain.w3.eth.get_block(cursor.block)["hash"].hex()
    for p in policies:
        assert chain.balance(p["beneficiary"]) == paid
        assert rows[p["id"]].paid == paid == sum(a for pid, a, _ in on_chain if pid == p["id"])


def test_reorg_projection_and_worker_converge_without_double_send(stack: tuple[Api, FastAPI, AnvilChain]) -> None:
    api, app, chain = stack
    state = app.state
    service = unique_service()
    policies = covers(api, service, 3)
    headers = api.key(api.tenant(), "distributor")
    worker = PayoutWorker(state.gateway, state.factory, state.indexer, batch=50)

    outage(api, service, 2 * HOUR + 1, headers)
    first = worker.run_once()
    assert sorted(first.settled) == sorted(p["id"] for p in policies)
    assert first.transactions == 1
    assert_converged(app, chain, policies, 100 * USD)
    [settle_tx] = {tx for _, _, tx in chain_payouts(chain, {p["id"] for p in policies})}
    raw = chain.w3.provider.make_request("eth_getRawTransactionByHash", [settle_tx])["result"]  # type: ignore[arg-type]

    # 1. The payout block is replaced by one that holds the same payout transaction: the
    #    projection is rebuilt from the new block, and the worker sends nothing more.
    chain.reorg(1, [raw])
    assert chain.w3.eth.get_block("latest")["transactions"] == [bytes.fromhex(settle_tx[2:])]
    before = state.gateway.sender.sent
    again = worker.run_once()
    assert again.settled == []
    assert state.gateway.sender.sent == before
    assert_converged(app, chain, policies, 100 * USD)
    assert notified(app) == sorted((p["id"], settle_tx) for p in policies)  # not notified twice

    # 2. The payout block is dropped, the verified outage stays: the worker pays again, once.
    chain.reorg(1)
    assert chain_payouts(chain, {p["id"] for p in policies}) == []
    repaid = worker.run_once()
    assert state.indexer.reorgs >= 1
    assert sorted(repaid.settled) == sorted(p["id"] for p in policies)
    assert repaid.transactions == 1
    assert_converged(app, chain, policies, 100 * USD)
    assert worker.run_once().settled == []
    # The payout that the chain dropped was notified already (a webhook cannot be unsent);
    # the new one is notified once, under its own transaction.
    [repaid_tx] = {tx for _, _, tx in chain_payouts(chain, {p["id"] for p in policies})}
    assert notified(app) == sorted([(p["id"], settle_tx) for p in policies] + [(p["id"], repaid_tx) for p in policies])

    # 3. Outage and payout both dropped (the payout, the block that made the outage final, the
    #    empty block of step 2 and the submission): the projection forgets them, nothing is owed...
    chain.reorg(4)
    gone = worker.run_once()
    assert gone.settled == []
    assert gone.failed == []
    assert gone.failed_services == []
    assert_converged(app, chain, policies, 0)
    with state.factory() as s:
        assert s.scalars(select(m.Outage).where(m.Outage.service_id == service_hex(app, policies))).all() == []
    # ...until the outage is verified again on the new chain (longer now), and paid once.
    outage(api, service, 3 * HOUR + 1, headers)
    last = worker.run_once()
    assert sorted(last.settled) == sorted(p["id"] for p in policies)
    assert_converged(app, chain, policies, 150 * USD)
    assert worker.run_once().settled == []


def service_hex(app: FastAPI, policies: list[dict[str, Any]]) -> str:
    with app.state.factory() as s:
        product = s.get(m.Product, policies[0]["product_id"])
        assert product is not None
        return product.service_id


def test_confirmations_hold_back_indexing_and_payouts(stack: tuple[Api, FastAPI, AnvilChain],
                                                      tmp_path: Path) -> None:
    """A worker whose indexer waits for 2 confirmations does not see, and so does not pay, a
    verified outage until two blocks are on top of it; a reorg shallower than that is never
    seen at all."""
    api, app, chain = stack
    service = unique_service()
    policies = covers(api, service, 2)
    headers = api.key(api.tenant(), "distributor")
    engine = make_engine(f"sqlite:///{tmp_path / 'confirmed.db'}")  # the confirmed worker's own database
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        indexer = Indexer(app.state.gateway, factory, confirmations=2)
        worker = PayoutWorker(app.state.gateway, factory, indexer)
        assert worker.run_once().settled == []

        outage(api, service, 2 * HOUR + 1, headers, final=False)  # verified in the newest block
        chain.reorg(1)  # ...which the chain drops again before it is confirmed
        chain.mine(2)
        assert worker.run_once().settled == []
        assert indexer.reorgs == 0

        outage(api, service, 2 * HOUR + 1, headers, final=False)
        assert worker.run_once().settled == []  # 0 confirmations
        chain.travel(finality(chain) + 1)  # final now, at the newest block
        assert worker.run_once().settled == []  # 1 confirmation
        chain.mine(1)
        held = worker.run_once()  # 2: projected, but not final at the confirmed block
        assert held.settled == []
        assert held.awaiting_finality == 1
        chain.mine(1)
        paid = worker.run_once()  # the block that made it final is confirmed: paid
        assert sorted(paid.settled) == sorted(p["id"] for p in policies)
        assert all(chain.balance(p["beneficiary"]) == 100 * USD for p in policies)
        # The worker's own payout is projected only once confirmed, and is not sent twice meanwhile.
        assert worker.run_once().settled == []
        chain.mine(2)
        assert worker.run_once().settled == []
        with factory() as s:
            assert {r.policy_id for r in s.scalars(select(m.Payout))} == {p["id"] for p in policies}
        assert indexer.block() == chain.w3.eth.block_number - 2
    finally:
        engine.dispose()
