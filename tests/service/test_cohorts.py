"""Group covers through the API: issuance from JSON and CSV (a bad row refuses the file), the
customers' proofs against the roots on-chain, segments, removal, the worker paying every member
exactly once in batches, a pull with a served proof, and reindex rebuilding the projection."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from contracts import merkle
from contracts.cohort_records import record_hash, records_from_logs
from service.db import models as m
from service.worker.payouts import PayoutWorker
from tests.chain import TEST_GAS, USD
from tests.service.helpers import HOUR, Api, outage, unique_service

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)

LIMITS = [30 * USD, 80 * USD, 120 * USD, 500 * USD, 150 * USD, 1 * USD, 499 * USD]  # auto-pay 150, policy 500


def who(service: str, i: int, prefix: str = "c") -> str:
    return "0x" + keccak(text=f"{service}/member/{prefix}{i}")[:20].hex()


def customers(service: str, limits: list[int] = LIMITS, prefix: str = "c") -> list[dict[str, Any]]:
    return [{"ref": f"{prefix}{i}", "beneficiary": who(service, i, prefix), "limit": lim}
            for i, lim in enumerate(limits)]


def setup(api: Api, distributor: tuple[str, dict[str, str]]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    tenant, _ = distributor
    service = unique_service()
    return service, api.anchored_assessment(tenant), api.product(service)


def create(api: Api, headers: dict[str, str], assessment: dict, prod: dict, members: list[dict]) -> dict[str, Any]:
    body = {"assessment_id": assessment["id"], "product_id": prod["id"], "customers": members}
    return dict(api.ok(api.c.post("/v1/cohorts", json=body, headers=headers), 201))


def chain_records(book: Any, cid: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The cohort's records from the book's events alone, checked against the hashes it stored."""
    c, segs = records_from_logs(book, cid)
    for k, sg in enumerate(segs):
        assert bytes(book.functions.recordHash(cid, k).call()) == record_hash(c, sg)
    return c.as_tuple(), [sg.as_tuple() for sg in segs]


def chain_locked(book: Any, cid: int) -> int:
    taken, added, _, _ = book.functions.cohort(cid).call()
    return chain_records(book, cid)[0][4] + added - taken


def chain_member(member: dict[str, Any]) -> tuple[Any, ...]:
    return (member["index"], member["beneficiary"], member["limit"], bytes.fromhex(member["holder"][2:]))


def test_issue_prices_per_customer_and_locks_the_total(api: Api, app: FastAPI, distributor) -> None:
    tenant, headers = distributor
    service, assessment, prod = setup(api, distributor)
    cohort = create(api, headers, assessment, prod, customers(service))
    # 30 days at 3.65 % a year: 0.3 % of each limit, each rounded up on its own.
    assert cohort["premium"] == sum(-(-lim * 3 // 1000) for lim in LIMITS)
    assert cohort["total_limit"] == cohort["locked"] == sum(LIMITS)
    assert (cohort["members"], cohort["removed"], cohort["tenant_id"]) == (len(LIMITS), 0, tenant)
    book = app.state.gateway.cohorts
    assert chain_locked(book, cohort["id"]) == sum(LIMITS)
    seg = chain_records(book, cohort["id"])[1][0]
    assert "0x" + seg[0].hex() == cohort["segments"][0]["root"]
    # Every customer's leaf and proof verify against the root on-chain.
    for i in range(len(LIMITS)):
        mem = api.ok(api.c.get(f"/v1/cohorts/{cohort['id']}/members/c{i}", headers=headers))
        leaf = bytes(book.functions.leafOf(chain_member(mem)).call())
        assert "0x" + leaf.hex() == mem["leaf"]
        assert merkle.process_proof(leaf, [bytes.fromhex(p[2:]) for p in mem["proof"]]) == seg[0]
        assert mem["holder"] == "0x" + keccak(bytes.fromhex(mem["salt"][2:]) + f"c{i}".encode()).hex()
    # Tenancy: another distributor does not see it; the insurer's auditor does.
    other = api.key(api.tenant(), "distributor")
    assert api.c.get(f"/v1/cohorts/{cohort['id']}", headers=other).status_code == 404
    assert api.c.get(f"/v1/cohorts/{cohort['id']}/members/c0", headers=other).status_code == 404
    api.ok(api.c.get(f"/v1/cohorts/{cohort['id']}", headers=api.staff("auditor")))


def test_csv_upload_and_a_bad_row_refuses_the_file(api: Api, app: FastAPI, distributor) -> None:
    _, headers = distributor
    service, assessment, prod = setup(api, distributor)
    params = {"assessment_id": assessment["id"], "product_id": prod["id"], "cover_seconds": 7 * 86400}
    book = app.state.gateway.cohorts
    before = book.functions.cohortCount().call()
    with app.state.factory() as s:
        files = s.scalar(select(func.count()).select_from(m.CohortFile))
    rows = [f"r{i},{who(service, i)},{10 * USD}" for i in range(4)]
    bad = "ref,beneficiary,limit\n" + "\n".join([rows[0], rows[1], "r9,0x1234,5", rows[2]]) + "\n"
    r = api.c.post("/v1/cohorts", content=bad, params=params, headers={**headers, "content-type": "text/csv"})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "bad_cohort_row" and "row 4" in r.json()["detail"]
    dup = "ref,beneficiary,limit\n" + "\n".join([rows[0], rows[1], rows[0]]) + "\n"
    r = api.c.post("/v1/cohorts", content=dup, params=params, headers={**headers, "content-type": "text/csv"})
    assert r.status_code == 400 and "row 4" in r.json()["detail"] and "repeats row 2" in r.json()["detail"]
    assert book.functions.cohortCount().call() == before  # nothing issued
    with app.state.factory() as s:
        assert s.scalar(select(func.count()).select_from(m.CohortFile)) == files
    good = "beneficiary,ref,limit\n" + "\n".join(f"{who(service, i)},r{i},{10 * USD}" for i in range(4)) + "\n"
    cohort = api.ok(api.c.post("/v1/cohorts", content=good, params=params,
                               headers={**headers, "content-type": "text/csv"}), 201)
    assert cohort["members"] == 4 and cohort["cover_end"] - cohort["cover_start"] <= 7 * 86400
    # JSON: a schema error is 422; a limit above the product's is 400; XML is refused.
    body = {"assessment_id": assessment["id"], "product_id": prod["id"], "customers": customers(service, [600 * USD])}
    r = api.c.post("/v1/cohorts", json=body, headers=headers)
    assert r.status_code == 400 and r.json()["type"] == "limit_above_risk_level", r.text
    body["customers"] = [{"ref": "x", "beneficiary": "0x12", "limit": 1}]
    assert api.c.post("/v1/cohorts", json=body, headers=headers).status_code == 422
    r = api.c.post("/v1/cohorts", content="<a/>", headers={**headers, "content-type": "application/xml"})
    assert r.status_code == 422 and r.json()["type"] == "validation_error"


def _worker(app: FastAPI, batch: int) -> PayoutWorker:
    s = app.state
    w = PayoutWorker(s.gateway, s.factory, s.indexer, batch=50)
    w.cohorts.max_batch = batch
    return w


def test_worker_pays_every_member_once_and_a_pull_is_not_paid_twice(api: Api, app: FastAPI, distributor) -> None:
    _, headers = distributor
    service, assessment, prod = setup(api, distributor)
    cohort = create(api, headers, assessment, prod, customers(service))
    cid = cohort["id"]
    # A second segment before the outage, and one customer removed before it.
    added = api.ok(api.c.post(f"/v1/cohorts/{cid}/members", json={"customers": customers(
        service, [40 * USD, 200 * USD], prefix="late")}, headers=headers), 201)
    assert [s["segment"] for s in added["segments"]] == [0, 1] and added["total_limit"] == sum(LIMITS) + 240 * USD
    r = api.c.post(f"/v1/cohorts/{cid}/members", json={"customers": customers(service, [1], prefix="c")},
                   headers=headers)
    assert r.status_code == 409 and r.json()["type"] == "member_exists"
    gone = api.ok(api.c.delete(f"/v1/cohorts/{cid}/members/c3", headers=headers))
    assert gone["removed"] is True
    assert api.c.delete(f"/v1/cohorts/{cid}/members/c3", headers=headers).json()["type"] == "member_removed"
    after = api.ok(api.c.get(f"/v1/cohorts/{cid}", headers=headers))
    assert after["removed"] == 1 and after["locked"] == sum(LIMITS) + 240 * USD - 500 * USD
    # The refund: the segment's premium pro rata to the removed limit and to the cover left.
    with app.state.factory() as s:
        gone_at = app.state.gateway.w3.eth.get_block(s.get(m.CohortRemoval, (cid, 0, 3)).block)["timestamp"]
    seg0 = after["segments"][0]
    left, whole = after["cover_end"] - max(gone_at, seg0["start"]), after["cover_end"] - seg0["start"]
    assert after["refunded"] == seg0["premium"] * 500 * USD * left // (seg0["total_limit"] * whole) > 0

    outage(api, service, 3 * HOUR, headers)  # per-unit 50/h beyond the 1 h threshold: level 100 (< auto-pay 150)
    chain, book = api.chain, app.state.gateway.cohorts
    # A pull before the worker: c1 claims round 1 with the proof the service serves.
    rec, segs = chain_records(book, cid)
    send_settle = book.functions.settle(cid, rec, segs).transact({"from": chain.owner, "gas": TEST_GAS})
    chain.w3.eth.wait_for_transaction_receipt(send_settle)
    mem = api.ok(api.c.get(f"/v1/cohorts/{cid}/members/c1", headers=headers))
    proof = [bytes.fromhex(p[2:]) for p in mem["proof"]]
    balance = chain.balance(mem["beneficiary"])
    tx = book.functions.claim(cid, 1, 0, rec, segs[0], chain_member(mem), proof).transact(
        {"from": chain.owner, "gas": TEST_GAS})
    chain.w3.eth.wait_for_transaction_receipt(tx)
    assert chain.balance(mem["beneficiary"]) == balance + 80 * USD

    w = _worker(app, batch=2)
    before = {i: chain.balance(who(service, i)) for i in range(len(LIMITS))}
    result = w.run_once()
    assert result.cohorts.batches >= 3 and not result.cohorts.failed
    expected = {i: min(lim, 100 * USD) for i, lim in enumerate(LIMITS)}
    expected[1] = 0  # pulled already
    expected[3] = 0  # removed before the outage
    for i in range(len(LIMITS)):
        assert chain.balance(who(service, i)) - before[i] == expected[i], i
    # The added segment's cover began before the outage: it is paid too.
    for i, lim in enumerate([40 * USD, 200 * USD]):
        late = api.ok(api.c.get(f"/v1/cohorts/{cid}/members/late{i}", headers=headers))
        assert late["paid"] == min(lim, 100 * USD) and late["owed"] == 0
    again = w.run_once()
    assert again.cohorts.batches == 0 and again.cohorts.paid == 0
    with app.state.factory() as s:
        rows = list(s.scalars(select(m.CohortPayout).where(m.CohortPayout.cohort_id == cid)))
    keys = [(p.segment, p.index, p.round) for p in rows]
    assert len(keys) == len(set(keys)) == len(LIMITS) - 1 + 2  # everyone but the removed one, once
    view = api.ok(api.c.get(f"/v1/cohorts/{cid}/members/c1", headers=headers))
    assert [p["amount"] for p in view["payouts"]] == [80 * USD] and view["owed"] == 0
    total = api.ok(api.c.get(f"/v1/cohorts/{cid}", headers=headers))
    assert total["paid"] == sum(expected.values()) + 80 * USD + 40 * USD + 100 * USD
    assert total["locked"] == total["total_limit"] - total["paid"] - total["released"]
    assert total["locked"] == chain_locked(book, cid)

    # Reindex: the projection is dropped and rebuilt from events and the stored files.
    def state() -> list[Any]:
        with app.state.factory() as s:
            return [sorted((p.cohort_id, p.segment, p.index, p.round, p.amount, p.status, p.tx)
                           for p in s.scalars(select(m.CohortPayout).where(m.CohortPayout.cohort_id == cid))),
                    api.ok(api.c.get(f"/v1/cohorts/{cid}", headers=headers))]

    was = state()
    app.state.indexer.rebuild()
    assert state() == was


def test_cohort_ids_beyond_the_projection_are_422_and_unknown_ones_404(api: Api, distributor) -> None:
    """The chain's ids are uint64; the projection's BIGINT holds 2**63 - 1 at most (schemathesis
    found 500s at 2**64 - 2 on every cohort route)."""
    _, headers = distributor
    body = {"customers": [{"ref": "x", "beneficiary": "0x" + "12" * 20, "limit": 1}]}
    for top, status in ((2**63 - 1, 404), (2**63, 422), (2**64 - 2, 422)):
        assert api.c.get(f"/v1/cohorts/{top}", headers=headers).status_code == status
        assert api.c.get(f"/v1/cohorts/{top}/members/x", headers=headers).status_code == status
        assert api.c.post(f"/v1/cohorts/{top}/members", json=body, headers=headers).status_code == status
        assert api.c.delete(f"/v1/cohorts/{top}/members/x", headers=headers).status_code == status


def test_members_added_from_csv_extend_the_cohort_and_a_bad_row_adds_nobody(api: Api, app: FastAPI,
                                                                          distributor) -> None:
    _, headers = distributor
    service, assessment, prod = setup(api, distributor)
    cohort = create(api, headers, assessment, prod, customers(service, [10 * USD, 20 * USD]))
    cid, csv = cohort["id"], {**headers, "content-type": "text/csv"}
    book = app.state.gateway.cohorts
    bad = f"ref,beneficiary,limit\nn0,{who(service, 0, 'n')},{5 * USD}\nn1,{who(service, 1, 'n')},-3\n"
    r = api.c.post(f"/v1/cohorts/{cid}/members", content=bad, headers=csv)
    assert r.status_code == 400 and r.json()["type"] == "bad_cohort_row" and "row 3" in r.json()["detail"], r.text
    assert chain_locked(book, cid) == 30 * USD  # nothing more locked
    good = "ref,beneficiary,limit\n" + "".join(f"n{i},{who(service, i, 'n')},{5 * USD}\n" for i in range(3))
    out = api.ok(api.c.post(f"/v1/cohorts/{cid}/members", content=good, headers=csv), 201)
    assert [s["count"] for s in out["segments"]] == [2, 3] and out["members"] == 5
    assert out["locked"] == out["total_limit"] == 45 * USD == chain_locked(book, cid)
    # The new segment's proofs verify against its own root on-chain; the first root is unchanged.
    segs = chain_records(book, cid)[1]
    assert "0x" + segs[0][0].hex() == cohort["segments"][0]["root"]
    root1 = segs[1][0]
    for i in range(3):
        mem = api.ok(api.c.get(f"/v1/cohorts/{cid}/members/n{i}", headers=headers))
        assert mem["segment"] == 1 and mem["index"] == i
        leaf = bytes(book.functions.leafOf(chain_member(mem)).call())
        assert merkle.process_proof(leaf, [bytes.fromhex(p[2:]) for p in mem["proof"]]) == root1


def _pipelined_setup(api: Api, distributor) -> tuple[str, int, list[int]]:
    _, headers = distributor
    service, assessment, prod = setup(api, distributor)
    limits = [(30 + 8 * i) * USD for i in range(9)]  # all below the level: each is owed its whole limit
    cid = create(api, headers, assessment, prod, customers(service, limits))["id"]
    outage(api, service, 3 * HOUR, headers)  # level 100 USD
    return service, cid, limits


def _paid_once(app: FastAPI, api: Api, service: str, cid: int, limits: list[int], before: dict[int, int]) -> None:
    for i, lim in enumerate(limits):
        assert api.chain.balance(who(service, i)) - before[i] == lim, i
    with app.state.factory() as s:
        keys = [(p.segment, p.index, p.round) for p in
                s.scalars(select(m.CohortPayout).where(m.CohortPayout.cohort_id == cid))]
    assert len(keys) == len(set(keys)) == len(limits)


def test_worker_keeps_several_pay_batches_in_flight_and_pays_each_member_once(api: Api, app: FastAPI,
                                                                              distributor, monkeypatch) -> None:
    service, cid, limits = _pipelined_setup(api, distributor)
    w = _worker(app, batch=2)  # 9 members: 5 payBatch transactions
    sender, log = app.state.gateway.sender, []
    broadcast, wait = sender.broadcast, sender.wait

    def logged_broadcast(fn: Any, account: Any, *gas: Any, **kw: Any) -> Any:
        log.append(("sent", fn.fn_name))
        return broadcast(fn, account, *gas, **kw)

    def logged_wait(pending: Any, alongside: Any = ()) -> Any:
        log.append(("mined", pending.fn.fn_name))
        return wait(pending, alongside)

    monkeypatch.setattr(sender, "broadcast", logged_broadcast)
    monkeypatch.setattr(sender, "wait", logged_wait)
    before = {i: api.chain.balance(who(service, i)) for i in range(len(limits))}
    result = w.run_once().cohorts
    assert result.batches == 1 + 5 and result.paid == len(limits) and not result.failed  # settle + 5
    pays = [e for e in log if e[1] == "payBatch"]
    depth = peak = 0
    for kind, _ in pays:
        depth += 1 if kind == "sent" else -1
        peak = max(peak, depth)
    assert peak >= 2 and pays[:2] == [("sent", "payBatch")] * 2, pays  # the second sent before the first awaited
    assert depth == 0  # every one awaited
    _paid_once(app, api, service, cid, limits, before)
    assert w.run_once().cohorts.batches == 0


def test_a_refused_batch_mid_pipeline_fails_the_pass_and_the_next_pays_the_rest_once(api: Api, app: FastAPI,
                                                                                     distributor, monkeypatch) -> None:
    service, cid, limits = _pipelined_setup(api, distributor)
    w = _worker(app, batch=2)
    book, call, calls = app.state.gateway.cohorts, w.cohorts._call, []

    def third_refused(cohort_id: int, rnd: int, segment: int, records: Any, f: Any, batch: list[Any]) -> Any:
        calls.append(len(batch))
        if len(calls) == 3:  # an empty batch: CohortBookInvalidBatch, refused at broadcast
            return book.functions.payBatch(cohort_id, rnd, segment, *records, [], [], [])
        return call(cohort_id, rnd, segment, records, f, batch)

    monkeypatch.setattr(w.cohorts, "_call", third_refused)
    before = {i: api.chain.balance(who(service, i)) for i in range(len(limits))}
    first = w.run_once().cohorts
    assert first.failed == [cid] and first.paid == 4  # the two batches in flight before it landed
    with app.state.factory() as s:
        assert s.scalar(select(func.count()).select_from(m.CohortPayout)
                        .where(m.CohortPayout.cohort_id == cid)) == 4  # the projection caught up with them
    monkeypatch.setattr(w.cohorts, "_call", call)
    second = w.run_once().cohorts
    assert second.paid == len(limits) - 4 and not second.failed
    _paid_once(app, api, service, cid, limits, before)


def test_estimated_batches_are_shrunk_to_fit_and_each_member_is_paid_once(api: Api, app: FastAPI, distributor,
                                                                          monkeypatch) -> None:
    """With estimated gas, every payBatch is estimated before it is sent and its limit is that
    estimate's (`Sender.limit`); a batch the model sized too large for the block is shrunk first.
    The budget is cut here to ~3 members' estimate, so the 9-member probe itself must shrink."""
    from contracts.sender import Sender

    service, cid, limits = _pipelined_setup(api, distributor)
    w = _worker(app, batch=len(limits))
    sender = app.state.gateway.sender
    monkeypatch.setattr(sender, "gas", None)  # estimated, as against a node
    cut: dict[str, int] = {}

    def budget() -> int:  # three members' estimate (read once the round is open)
        if not cut:
            from service.domain import cohorts as domain

            f, members = w.cohorts.unpaid(cid, 0, 1)
            with app.state.factory() as s:
                rec, recs = domain.records(s, cid)
            fn = w.cohorts._call(cid, 1, 0, (rec, recs[0]), f, members[:3])
            cut["gas"] = int(fn.estimate_gas({"from": app.state.gateway.operator.address}))
        return cut["gas"]

    monkeypatch.setattr(w.cohorts, "_estimate_budget", budget)
    sent: list[tuple[int, int, int]] = []  # (members, estimate, limit sent)
    broadcast = sender.broadcast

    def logged(fn: Any, account: Any, gas: int | None = None, **kw: Any) -> Any:
        if fn.fn_name == "payBatch":
            estimate = int(fn.estimate_gas({"from": account.address}))
            sent.append((len(fn.arguments[5]), estimate, gas))  # (id, round, segment, rec, segRec, members, ...)
        return broadcast(fn, account, gas, **kw)

    monkeypatch.setattr(sender, "broadcast", logged)
    before = {i: api.chain.balance(who(service, i)) for i in range(len(limits))}
    result = w.run_once().cohorts
    assert result.paid == len(limits) and not result.failed
    assert len(sent) >= 3 and sum(n for n, _, _ in sent) == len(limits)
    for n, estimate, gas in sent:
        assert estimate <= cut["gas"] or n == 1
        assert gas == Sender.limit(estimate)  # the batch's own estimate, the sender's margin
    _paid_once(app, api, service, cid, limits, before)


@given(fixed=st.integers(21_000, 400_000), costs=st.lists(st.integers(5_000, 60_000), min_size=40, max_size=400),
       sizes=st.lists(st.integers(1, 400), min_size=1, max_size=6), budget=st.integers(100_000, 30_000_000))
def test_the_gas_model_lies_on_or_over_every_estimate_it_saw(fixed: int, costs: list[int], sizes: list[int],
                                                              budget: int) -> None:
    """Members cost what the adversary picks (fresh holders, existing ones, proof lengths): the
    line through the estimates seen under-estimates none of them, and what it sizes fits its budget."""
    from service.worker.cohorts import GasModel

    model = GasModel()
    for n in sizes:
        n = min(n, len(costs))
        model.add(n, fixed + sum(costs[:n]))
    f, marginal = model.line()
    for n, gas in model.points.items():
        assert f + n * marginal >= gas
    n = model.fits(budget)
    assert n == 1 or f + n * marginal <= budget


@given(block=st.integers(1_000_000, 60_000_000))
def test_the_estimate_budget_lets_per_block_batches_share_a_block(block: int) -> None:
    """`PER_BLOCK` batches of that estimate fit a block: the first ones' gas used (at most their
    estimate) plus the last one's limit; one gas more per batch would not, before the slack."""
    from types import SimpleNamespace

    from contracts.sender import Sender
    from service.worker.cohorts import PER_BLOCK, SLACK, CohortSettler

    eth = SimpleNamespace(get_block=lambda _: {"gasLimit": block})
    settler = CohortSettler(SimpleNamespace(gw=SimpleNamespace(w3=SimpleNamespace(eth=eth))))  # type: ignore[arg-type]
    e = settler._estimate_budget()
    full = round(e / (1 - SLACK))
    assert (PER_BLOCK - 1) * e + Sender.limit(e) <= block
    assert (PER_BLOCK - 1) * (full + 2) + Sender.limit(full + 2) > block
