"""The resilience scenario (run in the background by conftest.py, checked by test_resilience.py):
real processes (anvil, the API, the payout worker, four oracle nodes with quorum 3, a loopback
target): one oracle node down, the payout worker killed with SIGKILL in the middle of its
batches, and a replayed oracle report. Every policy must be paid exactly once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from oracles.config import load_config
from service.commands.demo import USD, Demo, Target
from service.stack.launch import private_up
from service.stack.supervisor import running
from tests.e2e.helpers import E2E_BUCKET, FAST_STACK

COVERS = 150


def node_down_worker_killed_and_replay(tmp_path: Path) -> None:
    """Raises AssertionError (or DemoFailed on a wait that timed out) unless every policy was paid
    exactly once."""
    target = Target()
    target.up()
    # Small settle batches stretch the payout over several transactions, so the kill lands mid-way.
    # A short lease: the killed worker's lease on the service must lapse before the restart takes over.
    data = tmp_path / "data"
    # One settle in flight at a time: with the default pipeline (16) the payout can end before the
    # kill lands (the pipeline's own kill -9 test is tests/service/test_pipeline_worker.py).
    env = {**FAST_STACK, "CYBERCOVER_SETTLE_BATCH": "10", "CYBERCOVER_SETTLE_IN_FLIGHT": "1",
           "CYBERCOVER_LEASE_SECONDS": "10"}
    with private_up(data, oracles=4, log=tmp_path / "up.log", env=env) as (api, rpc):
        d = Demo(api, data, rpc, COVERS, print)
        assert d.bucket == E2E_BUCKET  # the stack's OutageOracle declares the e2e bucket (FAST_STACK)
        from service.assessment import ITEMS

        product = d.call("POST", "/v1/products", json={
            "name": "e2e cover", "service": target.url, "threshold_seconds": d.threshold, "payout_kind": "fixed",
            "amount": 7 * USD, "policy_limit": 7 * USD, "auto_pay_limit": 7 * USD, "grace_seconds": 3600,
            "rates": {"low": 100_000, "lower": 100_000, "medium": 200_000}, "min_premium": USD // 10})
        a = d.call("POST", "/v1/assessments", json={
            "org_identifier": "E2E-ORG", "answers": {i.id: "yes" for i in ITEMS if i.part.value == "base"},
            "scenarios": [], "industry": "SaaS", "business_overview": "e2e", "key_assets": ["data"]})
        d.call("POST", f"/v1/assessments/{a['id']}/anchor")
        quote = d.quote(product["id"], a["id"])
        people = [d.w3.eth.account.create().address for _ in range(COVERS)]
        issued = d.issue(quote["id"], people, d.admin, "e2e", 100)

        d.wait("the oracle nodes to watch the service", lambda: target.hits > 8, 120)
        d.wait_past_cover_starts(issued)
        # One of four nodes goes dark (frozen, so the supervisor does not restart it).
        frozen = running(data)["oracle-4"]
        os.kill(frozen, signal.SIGSTOP)
        target.down()
        book = d.dep.contract(d.w3, "PolicyBook")
        first = d.dep.first_block

        def paid_events() -> list:
            return list(book.events.PayoutSent.get_logs(from_block=first))

        d.wait("the first payouts", lambda: len(paid_events()) > 0, 420)
        worker = running(data)["worker"]
        os.kill(worker, signal.SIGKILL)  # mid-way through the settle batches
        killed_at = len(paid_events())
        assert killed_at < COVERS, "the worker finished before it could be killed; lower the batch size"
        # The supervisor restarts it (after its 1 s backoff; until then the pid file lists no worker).
        # The settles the killed worker had in flight may still be mined and pay the rest: either
        # way every policy is paid, and exactly once (checked below).
        d.wait("the supervisor to restart the worker", lambda: running(data).get("worker") not in (None, worker), 60)
        d.wait("every policy to be paid after the worker restarts", lambda: len(paid_events()) >= COVERS, 300)

        # A replayed report set: the relay answers already_covered and nothing more is paid. The
        # quorum is 3 of 4 (a strict majority): the latest reports of the three live nodes, once
        # the chain's window covers what they verify together. The service is back up first: the
        # episode closes and its reports stop growing (with a few-second bucket an ongoing one
        # grows faster than a poll can catch the chain level with it).
        target.up()
        oracle = d.dep.contract(d.w3, "OutageOracle")
        fields = ("start", "end", "ongoing", "evidence_root", "seq", "r", "vs", "signer")
        body = None
        deadline = time.monotonic() + 90
        while body is None and time.monotonic() < deadline:
            latest = [max(httpx.get(_node_url(data, n) + "/v1/reports", timeout=10).json()["reports"],
                          key=lambda r: (r["end"], r["seq"])) for n in (1, 2, 3)]
            sid = bytes.fromhex(latest[0]["service_id"][2:])
            start, end = max(r["start"] for r in latest), min(r["end"] for r in latest)
            ongoing = all(r["ongoing"] for r in latest)
            count = oracle.functions.windowCount(sid).call()
            windows = [oracle.functions.windowAt(sid, i).call() for i in range(count)]  # (start, end, _, _, ongoing)
            if start < end and any(w[0] <= start and (end < w[1] or (end == w[1] and ongoing >= w[4]))
                                   for w in windows):
                trio = sorted(latest, key=lambda r: int(r["signer"], 16))
                body = {"service_id": latest[0]["service_id"], "config_version": latest[0]["config_version"],
                        "reports": [{k: r[k] for k in fields} for r in trio]}
            else:
                time.sleep(0.5)
        assert body is not None, "the live nodes' latest reports never fell inside a verified window"
        replay = httpx.post(api + "/v1/oracle/reports", json=body, headers=d.admin, timeout=60)
        assert replay.status_code == 409, replay.text
        assert replay.json()["type"] == "already_covered", replay.text
        time.sleep(3)  # three worker cycles (FAST_STACK): nothing more is paid (an absence: no poll shows it)
        os.kill(frozen, signal.SIGCONT)

        events = paid_events()
        per_policy: dict[int, int] = {}
        for e in events:
            per_policy[e["args"]["policyId"]] = per_policy.get(e["args"]["policyId"], 0) + e["args"]["amount"]
        assert len(per_policy) == COVERS
        assert all(v == 7 * USD for v in per_policy.values())
        assert len(events) == COVERS  # one payout each: none repeated across the kill or the replay
        assert all(d.balance(p) == 7 * USD for p in people)
        # Verified without the frozen fourth node (signer index 3), by a quorum of 3.
        verified = list(oracle.events.OutageVerified.get_logs(from_block=first))
        assert verified
        assert all(bin(e["args"]["signers"]).count("1") >= 3 for e in verified)
        assert all(not (e["args"]["signers"] >> 3) & 1 for e in verified)
    target.down()


def _node_url(data: Path, n: int) -> str:
    return f"http://127.0.0.1:{load_config(data / 'oracles' / f'node-{n}.toml').node.listen_port}"
