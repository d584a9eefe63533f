"""The pipelined payout worker on anvil (real JSON-RPC; mining paused, then blocks on a 0.2 s
beat while workers run, so nothing waits on a clock): kill -9 of a worker process with its
settle transactions unmined in the pool, then a restart → every policy paid exactly once; two
replicas sharing one account and one database → every policy paid exactly once. "Once" is read
off the chain (PayoutSent logs and the beneficiaries' balances), not off the worker's own books."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from contracts.sender import Account
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.worker.payouts import PayoutWorker
from tests.anvil import anvil
from tests.chain import USD
from tests.service.conftest import BACKENDS, build_app, fresh_engine
from tests.service.helpers import HOUR, Api, make_chain, outage, unique_service
from tests.service.test_reorg import AnvilChain, covers

ROOT = Path(__file__).resolve().parents[2]
GAS = 1_500_000  # per settle of BATCH policies, so many fit in a 30 M gas block
BATCH = 5
PAID = 100 * USD  # covers(): 50 USD an hour, a 2 h outage


def _rpc(chain: AnvilChain, method: str, *params: Any) -> Any:
    out = chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in out, out
    return out.get("result")


def _pooled(chain: AnvilChain) -> int:
    return int(_rpc(chain, "txpool_status")["pending"], 16)


def _until(cond: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def mining(chain: AnvilChain, every: float = 0.2) -> Iterator[None]:
    """Blocks on a short beat (faster than interval mining's 1 s minimum): pooled transactions
    land while the workers run, without the tests waiting on a clock."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            _rpc(chain, "evm_mine")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture(params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Api, FastAPI, AnvilChain, str, str]]:
    with anvil() as (url, w3):
        chain = make_chain(w3, AnvilChain)
        assert isinstance(chain, AnvilChain)
        engine = fresh_engine(request.param, tmp_path, schema="cybercover_pipeline")
        app = build_app(chain, engine, tmp_path)
        app.state.settings.webhook_allow_loopback_http = True
        yield (Api(TestClient(app, raise_server_exceptions=False), chain), app, chain, url,
               engine.url.render_as_string(hide_password=False))
        engine.dispose()


def _worker(app: FastAPI, chain: AnvilChain, name: str) -> PayoutWorker:
    """A replica of its own: its own gateway (so its own sender and nonce count, as a second
    process has) on the same account, database and chain."""
    gw = Gateway(chain.w3, chain.dep, Account(chain.operator), Account(chain.assessor), gas=GAS, stuck_seconds=5)
    factory = app.state.factory
    return PayoutWorker(gw, factory, Indexer(gw, factory), batch=BATCH, in_flight=16, name=name)


def _paid_once(chain: AnvilChain, policies: list[dict[str, Any]]) -> None:
    ids = {p["id"] for p in policies}
    logs = [e for e in chain.book.events.PayoutSent().get_logs(from_block=chain.dep.first_block)
            if e["args"]["policyId"] in ids]
    counts = Counter(e["args"]["policyId"] for e in logs)
    assert counts == Counter(ids), "each policy has exactly one payout on chain"
    assert all(e["args"]["amount"] == PAID for e in logs)
    per_beneficiary = Counter(p["beneficiary"] for p in policies)  # covers() reuses addresses across services
    for who, n in per_beneficiary.items():
        assert chain.balance(who) == n * PAID


def test_kill_9_with_settles_in_flight_then_restart_pays_each_policy_once(
        stack: tuple[Api, FastAPI, AnvilChain, str, str], tmp_path: Path) -> None:
    api, app, chain, url, db_url = stack
    service = unique_service()
    policies = covers(api, service, 8 * BATCH)
    outage(api, service, 2 * HOUR + 1, api.key(api.tenant(), "distributor"))
    manifest = tmp_path / "deployment.json"
    chain.dep.write(manifest)
    env = {**os.environ, "CYBERCOVER_RPC_URL": url, "CYBERCOVER_MANIFEST": str(manifest),
           "CYBERCOVER_DATABASE_URL": db_url, "CYBERCOVER_DATA_DIR": str(tmp_path),
           "CYBERCOVER_OPERATOR_ADDRESS": chain.operator, "CYBERCOVER_ASSESSOR_ADDRESS": chain.assessor,
           "CYBERCOVER_GAS_LIMIT": str(GAS), "CYBERCOVER_SETTLE_BATCH": str(BATCH),
           "CYBERCOVER_SETTLE_IN_FLIGHT": "16"}

    _rpc(chain, "evm_setAutomine", False)  # the child's settles stay in the pool, unmined
    child = subprocess.Popen([sys.executable, "-m", "tests.service.pipeline_child"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _until(lambda: _pooled(chain) >= 8 or child.poll() is not None, 30, "the child's 8 settles in the pool")
        assert child.poll() is None, child.communicate()[0].decode()[-3000:]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert _pooled(chain) == 8  # in flight, none mined: the dead worker's books say nothing was paid

    # The restarted worker sees nothing paid yet (the projection is the chain's: not mined) and
    # may send again; mining resumes (1 s blocks) while it works. The first settles land; any
    # second one of the same policy is refused or reverts on its stale record.
    restarted = _worker(app, chain, "restarted")
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(restarted.run_once()))
    thread.start()
    time.sleep(0.3)
    with mining(chain):
        thread.join(60)
    assert not thread.is_alive()
    _rpc(chain, "evm_setAutomine", True)
    again = restarted.run_once()
    assert again.settled == [] and again.failed == []
    assert result[0].failed_services == [] or again.failed_services == []
    _paid_once(chain, policies)
    nonce = chain.w3.eth.get_transaction_count(chain.operator)
    assert nonce == chain.w3.eth.get_transaction_count(chain.operator, "pending")  # gap-free: nothing left queued


def test_two_replicas_one_account_one_database_pay_each_policy_once(
        stack: tuple[Api, FastAPI, AnvilChain, str, str]) -> None:
    """Four services, two replicas each with its own sender on the same account, racing for
    leases and nonces while blocks come on a short beat."""
    api, app, chain, _, _ = stack
    headers = api.key(api.tenant(), "distributor")
    services = [unique_service() for _ in range(4)]
    policies = [p for s in services for p in covers(api, s, 3 * BATCH)]
    for s in services:
        outage(api, s, 2 * HOUR + 1, headers)

    _rpc(chain, "evm_setAutomine", False)
    replicas = [_worker(app, chain, "replica-a"), _worker(app, chain, "replica-b")]
    errors: list[BaseException] = []

    def run(w: PayoutWorker) -> None:
        try:
            for _ in range(2):
                w.run_once()
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in replicas]
    with mining(chain):
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads) and errors == []
    _rpc(chain, "evm_setAutomine", True)
    for w in replicas:
        assert w.run_once().settled == []
    _paid_once(chain, policies)
    assert chain.w3.eth.get_transaction_count(chain.operator) == chain.w3.eth.get_transaction_count(
        chain.operator, "pending")


def test_settles_go_out_while_later_pages_of_entitlements_are_read(
        stack: tuple[Api, FastAPI, AnvilChain, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Entitlements are read a page at a time, the pages after the first in a thread, and the
    first settles are broadcast before the last page is read; every policy is paid once."""
    from service.worker import payouts

    api, app, chain, _, _ = stack
    headers = api.key(api.tenant(), "distributor")
    service = unique_service()
    policies = covers(api, service, 6 * BATCH)
    outage(api, service, 2 * HOUR + 1, headers)
    monkeypatch.setattr(payouts, "READ_PAGE", BATCH)  # 6 pages
    w = _worker(app, chain, "paged")
    events: list[tuple[str, str]] = []
    due, broadcast = w._due, w.gw.sender.broadcast

    def logged_due(ps: list[Any]) -> list[Any]:
        out = due(ps)
        events.append(("read", threading.current_thread().name))
        return out

    def logged_broadcast(fn: Any, account: Any, *gas: Any, **kw: Any) -> Any:
        events.append(("sent", fn.fn_name))
        return broadcast(fn, account, *gas, **kw)

    monkeypatch.setattr(w, "_due", logged_due)
    monkeypatch.setattr(w.gw.sender, "broadcast", logged_broadcast)
    _rpc(chain, "evm_setAutomine", False)
    with mining(chain):
        result = w.run_once()
    _rpc(chain, "evm_setAutomine", True)
    assert {p["id"] for p in policies} <= set(result.settled) and not result.failed_services
    reads = [i for i, e in enumerate(events) if e[0] == "read"]
    sends = [i for i, e in enumerate(events) if e == ("sent", "settle")]
    assert len(reads) >= 6 and sends and sends[0] < reads[-1]  # sending began before the reads ended
    assert any(name == "entitlement-reads" for kind, name in events if kind == "read")
    _paid_once(chain, policies)
