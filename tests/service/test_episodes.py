"""Verified windows merge and insert on-chain (issue 9, item 1): the projection applies each
OutageVerified the way the contract edits its list, so it equals windowAt() exactly, and the
episodes it derives equal episodesIn(). The payout worker waits for an episode's start to be
final before it settles (and before it marks the outage handled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from contracts import eip712
from contracts.records import Episode, PolicyRecord
from service.chain.indexer import Indexer
from service.db import models as m
from service.db.migrate import upgrade
from service.db.session import make_sessionmaker
from tests.chain import USD
from tests.service.conftest import fresh_engine
from tests.service.helpers import HOUR, Api, finality, issue, outage, unique_service, worker

pytestmark = pytest.mark.postgresql  # on both backends (tests/service/conftest.py)


def chain_windows(api: Api, sid: bytes) -> list[tuple[int, ...]]:
    oracle = api.chain.oracle.functions
    return [tuple(oracle.windowAt(sid, i).call()) for i in range(oracle.windowCount(sid).call())]


def projected_windows(app: FastAPI, sid: bytes) -> list[tuple[int, ...]]:
    app.state.indexer.sync()
    with app.state.factory() as s:
        rows = s.scalars(select(m.Outage).where(m.Outage.service_id == "0x" + sid.hex()).order_by(m.Outage.index))
        rows = list(rows)
    assert [r.index for r in rows] == list(range(len(rows)))
    return [(r.start, r.end, r.verified_at, r.start_since, r.ongoing) for r in rows]


def route_episodes(api: Api, sid: bytes) -> dict[str, Any]:
    return dict(api.ok(api.c.get("/v1/outages", params={"service_id": "0x" + sid.hex()}, headers=api.admin)))


def chain_episodes(api: Api, sid: bytes) -> list[tuple[Any, ...]]:
    """episodesIn's episodes as (start, end, down_seconds, ongoing, settled, windows)."""
    episodes, truncated = api.chain.oracle.functions.episodesIn(sid, 0, 2**64 - 1, 1000).call()
    assert not truncated
    return [(e.start, e.end, e.down_seconds, e.ongoing, e.settled, e.windows) for e in map(Episode.decode, episodes)]


def as_chain(listed: dict[str, Any], *, with_final: bool) -> list[tuple[Any, ...]]:
    """The route's episodes, oldest first, in chain_episodes' field order."""
    return [(e["start"], e["end"], e["down_seconds"], e["ongoing"], *([e["final"]] if with_final else []),
             e["windows"]) for e in reversed(listed["episodes"])]


def test_window_projection_equals_the_chain_after_merges_and_late_insertions(api: Api, app: FastAPI, backend: str,
                                                                            tmp_path: Path) -> None:
    service = unique_service()
    sid = eip712.service_id(service)
    gap = int(api.chain.oracle.functions.mergeGap().call())
    assert gap == 300
    t = api.chain.now() - 20 * HOUR

    def relay(start: int, end: int) -> dict[str, Any]:
        out = dict(api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(service, start, end),
                                     headers=api.admin)))
        assert projected_windows(app, sid) == chain_windows(api, sid)
        listed = route_episodes(api, sid)
        assert as_chain(listed, with_final=False) == [e[:4] + e[5:] for e in chain_episodes(api, sid)]
        assert sorted(w["index"] for w in listed["windows"]) == list(range(len(chain_windows(api, sid))))
        return out

    steps = [  # (window, index it lands at, windows it replaced, windows after, episodes after)
        ((t, t + 600), 0, 0, 1, 1),  # the first outage
        ((t + 7200, t + 7800), 1, 0, 2, 2),  # a later one, far apart: appended
        ((t - 7200, t - 6600), 0, 0, 3, 3),  # an older one verified late: inserted in order
        ((t + 700, t + 800), 2, 0, 4, 3),  # inserted 100 s after [t, t+600): same episode, own window
        ((t + 500, t + 7300), 1, 3, 2, 2),  # overlaps three windows: merged into [t, t+7800)
        ((t - 200, t + 100), 1, 1, 2, 2),  # moves that window's start earlier (start_since resets)
        ((t + 7800 + gap - 100, t + 7800 + gap), 2, 0, 3, 2),  # within the merge gap: joins the episode
    ]
    for (start, end), index, replaced, windows, episodes in steps:
        out = relay(start, end)
        assert (out["index"], out["replaced"]) == (index, replaced), (start - t, end - t, out)
        assert len(chain_windows(api, sid)) == windows
        assert len(chain_episodes(api, sid)) == episodes

    windows = chain_windows(api, sid)
    assert [(w[0] - t, w[1] - t) for w in windows] == [(-7200, -6600), (-200, 7800), (8000, 8100)]
    listed = route_episodes(api, sid)
    newest = listed["episodes"][0]
    assert (newest["start"], newest["end"], newest["down_seconds"], newest["windows"]) == (
        t - 200, t + 8100, 8000 + 100, 2)
    assert not newest["final"]
    assert newest["final_at"] == windows[1][3] + finality(api.chain)
    # Nothing new: refused as already covered, and the projection does not move.
    dup = api.c.post("/v1/oracle/reports", json=api.chain.reports(service, t + 1000, t + 2000), headers=api.admin)
    assert dup.status_code == 409
    assert dup.json()["type"] == "already_covered"

    api.chain.travel(finality(api.chain) + 1)
    listed = route_episodes(api, sid)
    assert as_chain(listed, with_final=True) == chain_episodes(api, sid)
    assert all(e["final"] for e in listed["episodes"])
    assert projected_windows(app, sid) == chain_windows(api, sid)

    # A projection rebuilt from nothing applies the same edits in the same order: the same list.
    engine = fresh_engine(backend, tmp_path, schema="cybercover_episodes")
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        Indexer(app.state.gateway, factory).rebuild()
        with factory() as s:
            rows = list(s.scalars(select(m.Outage).where(m.Outage.service_id == "0x" + sid.hex())
                                  .order_by(m.Outage.index)))
        assert [(r.start, r.end, r.verified_at, r.start_since, r.ongoing) for r in rows] == chain_windows(api, sid)
    finally:
        engine.dispose()


def test_worker_pays_an_outage_only_once_its_start_is_final(api: Api, app: FastAPI, distributor) -> None:
    """Right after verification the entitlement is 0 (the start is not final): the worker sends
    nothing and does not mark the outage handled; once the finality delay has passed the next
    cycle pays, exactly once."""
    tenant, headers = distributor
    service = unique_service()
    _, policy = issue(api, tenant, headers, service)
    ben = policy["beneficiary"]
    verified = outage(api, service, 2 * HOUR + 1, headers, final=False)
    book = api.chain.book.functions
    with app.state.factory() as s:
        record = PolicyRecord.of(s.get(m.Policy, policy["id"])).as_tuple()
    assert book.entitlementOf(record).call() == 0  # not final yet

    early = worker(app).run_once()
    assert policy["id"] not in early.settled
    assert early.awaiting_finality >= 1
    assert early.final_in is not None and 0 < early.final_in <= finality(api.chain)  # when to look again
    assert api.chain.balance(ben) == 0
    with app.state.factory() as s:
        row = s.scalars(select(m.Outage).where(m.Outage.service_id == verified["service_id"])).one()
        assert row.handled_version < row.version  # still pending: the worker comes back
    api.chain.travel(finality(api.chain) // 2)
    half = worker(app).run_once()
    assert policy["id"] not in half.settled
    assert half.final_in is not None and half.final_in <= early.final_in - finality(api.chain) // 2 + 1
    assert api.chain.balance(ben) == 0

    api.chain.travel(finality(api.chain))
    assert book.entitlementOf(record).call() == 100 * USD
    paid = worker(app).run_once()
    assert policy["id"] in paid.settled
    assert api.chain.balance(ben) == 100 * USD
    with app.state.factory() as s:
        row = s.scalars(select(m.Outage).where(m.Outage.service_id == verified["service_id"])).one()
        assert row.handled_version == row.version
    assert policy["id"] not in worker(app).run_once().settled
    assert api.chain.balance(ben) == 100 * USD
    assert api.chain.balance(ben) == 100 * USD
    payouts = api.ok(api.c.get("/v1/payouts", params={"policy_id": policy["id"]}, headers=headers))
    assert [p["amount"] for p in payouts] == [100 * USD]
