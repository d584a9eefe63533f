"""Batch issuance when its process dies: every cover that reached the chain gets its owner (the
holder's salt and reference, written ahead of the transaction), every cover that never can is
reported not issued, the batch is finished from the chain, and a retry of the request with its
Idempotency-Key issues nothing twice. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from eth_utils import keccak
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from contracts.errors import NoReceipt
from service.api.idempotency import _fingerprint
from service.api.routes.policies import BatchIn
from service.cli import _register
from service.cli import app as cli_app
from service.commands import serve as serve_cmds
from service.db import models as m
from service.db.session import transaction
from service.domain import issue_batches, issue_intents
from service.worker.issue_reconciler import IssueReconciler
from tests.service.helpers import Api, unique_service
from tests.service.test_issue_batches import _covers, _issued_notices, _poll, _quote
from tests.service.test_lifecycle import insured, renew

# The issuing thread's simulated death (`Died`) is reported by pytest as an unhandled thread exception.
pytestmark = [pytest.mark.postgresql,
              pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")]


class Died(BaseException):
    """The process stops here: nothing after this line of the issuing thread runs."""


def _reconcile(app: FastAPI, stale_after: float = 0.0) -> issue_intents.Reconciled:
    """One pass of the worker's reconciler (as `cybercover worker` runs it)."""
    return IssueReconciler(app.state.gateway, app.state.factory, app.state.indexer, stale_after=stale_after).run_once()


def _status(api: Api, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    return dict(api.ok(api.c.get(body["status_url"], headers=headers)))


def _policies_on_chain(app: FastAPI) -> int:
    return int(app.state.gateway.book.functions.policyCount().call())


def _dies_in(monkeypatch: pytest.MonkeyPatch, obj: Any, name: str, after: int = 0) -> threading.Event:
    """`obj.name` works `after` times, then the thread calling it dies; the event is set then."""
    real = getattr(obj, name)
    calls = [0]
    died = threading.Event()

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] > after:
            died.set()
            raise Died
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, dying)
    return died


def _no_receipt(pending: Any, alongside: Any = ()) -> Any:
    """`Sender.wait` that never sees a receipt (the transaction may still be mined)."""
    raise NoReceipt(f"no receipt for 0x{pending.tx_hash.hex()}")


def _until_handed_over(app: FastAPI, batch_id: str, timeout: float = 10) -> None:
    """Waits until the batch's thread has ended and handed its batch to the reconciler."""
    deadline = time.monotonic() + timeout
    while True:
        with app.state.factory() as s:
            row = s.get(m.IssueBatch, batch_id)
            if row is not None and row.handed_over:
                return
        assert time.monotonic() < deadline, f"batch {batch_id} was not handed over"
        time.sleep(0.05)


def _owners_match_the_chain(api: Api, app: FastAPI, ids: list[int], covers: list[dict[str, str]],
                            headers: dict[str, str]) -> None:
    """Each policy's owner is the cover whose salted reference is its on-chain holder, and its
    schedule is the document whose hash the chain holds."""
    refs = {c["holder_ref"]: c for c in covers}
    with app.state.factory() as s:
        for pid in ids:
            owner, policy = s.get(m.PolicyOwner, pid), s.get(m.Policy, pid)
            assert owner is not None and policy is not None
            salt = bytes.fromhex(owner.holder_salt[2:])
            assert "0x" + keccak(salt + owner.holder_ref.encode()).hex() == policy.holder
            assert policy.beneficiary.lower() == refs[owner.holder_ref]["beneficiary"].lower()
            schedule = s.get(m.PolicySchedule, pid)
            assert schedule is not None and schedule.schedule_hash == policy.schedule_hash
    for pid in ids:
        assert api.ok(api.c.get(f"/v1/policies/{pid}", headers=headers))["holder_ref"] in refs
        assert api.c.get(f"/v1/policies/{pid}/schedule", headers=headers).status_code == 200


def test_a_batch_whose_process_died_before_its_receipts_is_finished_from_the_chain(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "webhook_allow_loopback_http", True)
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)  # 3 transactions for 5 covers
    api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["policy.issued"]},
                      headers=headers), 201)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "d", 5)
    before = _policies_on_chain(app)
    died = _dies_in(monkeypatch, app.state.gateway.sender, "wait")  # every transaction sent, no receipt read
    body = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers},
                             headers=headers), 202)
    assert died.wait(10)
    monkeypatch.undo()
    assert _policies_on_chain(app) == before + 5  # the money moved; the process knew nothing of it
    time.sleep(0.1)
    assert _status(api, body, headers)["status"] == "pending"
    with app.state.factory() as s:
        assert s.scalar(select(func.count()).select_from(m.IssueIntent).where(m.IssueIntent.outcome.is_(None))) == 5

    # Not yet stale: the thread may be alive and record its own receipts.
    assert _reconcile(app, stale_after=3600) == issue_intents.Reconciled()
    assert _status(api, body, headers)["status"] == "pending"
    done = _reconcile(app)
    assert done.issued == 5 and done.not_issued == 0 and done.batches == [body["id"]]
    status = _status(api, body, headers)
    assert status["status"] == "issued" and status["error"] is None and len(status["policy_ids"]) == 5
    _owners_match_the_chain(api, app, status["policy_ids"], covers, headers)
    assert set(_issued_notices(app, status["policy_ids"])) == set(status["policy_ids"])
    with app.state.factory() as s:  # the write-ahead log is forgotten with the final status
        assert s.scalar(select(func.count()).select_from(m.IssueRun).where(m.IssueRun.batch_id == body["id"])) == 0
    again = _reconcile(app)
    assert again.issued == 0 and again.batches == []


def test_covers_written_ahead_but_never_sent_are_not_issued_once_their_nonce_is_used(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "n", 5)
    before = _policies_on_chain(app)
    # The second transaction's covers are written with its nonce; the process dies before signing.
    died = _dies_in(monkeypatch, app.state.gateway.sender, "_sign_and_send", after=1)
    reply = api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers}, headers=headers)
    assert died.wait(10)
    monkeypatch.undo()
    body = reply.json()
    assert reply.status_code == 202, reply.text
    assert _policies_on_chain(app) == before + 2  # the first chunk landed (and was recorded)

    # Its nonce is still the operator's next: the transaction may yet be sent, so nothing is decided.
    first = _reconcile(app)
    assert first.not_issued == 0 and first.batches == []
    assert _status(api, body, headers)["status"] in ("sending", "pending")
    # Another issuance takes that nonce: those covers can never be issued now.
    other = _quote(api, tenant, headers)
    api.ok(api.c.post("/v1/policies", json={"quote_id": other["id"], **_covers(other["id"], 1)[0]},
                      headers=headers), 201)
    done = _reconcile(app)
    assert done.not_issued == 2 and done.batches == [body["id"]]
    status = _status(api, body, headers)
    assert status["status"] == "partial" and len(status["policy_ids"]) == 2
    assert status["error"]["type"] == "interrupted" and status["error"]["not_issued_from"] == 2
    _owners_match_the_chain(api, app, status["policy_ids"], covers[:2], headers)


def test_the_reconciler_and_the_live_thread_record_each_owner_once(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "webhook_allow_loopback_http", True)
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)
    api.ok(api.c.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["policy.issued"]},
                      headers=headers), 201)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "r", 5)
    sender = app.state.gateway.sender
    release, waiting = threading.Event(), threading.Event()
    wait = sender.wait

    def held(pending: Any, alongside: Any = ()) -> Any:
        waiting.set()
        assert release.wait(30)
        return wait(pending, alongside)

    monkeypatch.setattr(sender, "wait", held)
    body = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers},
                             headers=headers), 202)
    assert waiting.wait(10)
    # The thread is alive but slow: a replica's reconciler takes it for dead, records the mined
    # covers and finishes the batch first; then the thread reads its receipts.
    done = _reconcile(app)
    assert done.issued == 5 and done.batches == [body["id"]]
    release.set()
    status = _poll(api, body["status_url"], headers)
    assert status["status"] == "issued" and len(status["policy_ids"]) == 5
    _owners_match_the_chain(api, app, status["policy_ids"], covers, headers)
    assert set(_issued_notices(app, status["policy_ids"])) == set(status["policy_ids"])  # once each


def test_a_batch_left_without_receipts_is_handed_over_and_finished_at_once(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "h", 3)

    monkeypatch.setattr(app.state.gateway.sender, "wait", _no_receipt)
    body = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers},
                             headers=headers), 202)
    _until_handed_over(app, body["id"])
    monkeypatch.undo()
    assert _status(api, body, headers)["status"] == "pending"  # the thread ended, the outcome unknown to it
    done = _reconcile(app, stale_after=3600)  # handed over: no need to wait for staleness
    assert done.issued == 3 and done.batches == [body["id"]]
    status = _status(api, body, headers)
    assert status["status"] == "issued" and len(status["policy_ids"]) == 3
    _owners_match_the_chain(api, app, status["policy_ids"], covers, headers)




def test_a_retry_with_the_idempotency_key_of_a_dead_request_answers_its_batch_and_issues_nothing_twice(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)
    quote = _quote(api, tenant, headers)
    payload = {"quote_id": quote["id"], "covers": _covers(quote["id"] + "i", 3)}
    key = f"retry-{quote['id']}"
    # The request reserved its key and started the batch; the process died before answering.
    with transaction(app.state.factory) as s:
        s.add(m.IdempotencyRecord(tenant_id=tenant, key=key, request_hash=_fingerprint(
            "POST", "/v1/policies/batch", BatchIn(**payload)),
            created_at=m.now() - timedelta(seconds=2 * app.state.settings.idempotency_ttl_seconds)))
    died = _dies_in(monkeypatch, app.state.gateway.sender, "wait")
    settings = app.state.settings
    first = issue_batches.start(app.state.factory, app.state.gateway, app.state.indexer, quote["id"],
                                BatchIn(**payload).covers, None, 2, tenant_id=tenant, may_see=lambda _: True,
                                insurer=settings.insurer_name, assessor=settings.assessor_name, in_flight=4,
                                idempotency_key=f"{tenant}/{key}")  # the caller's tenant and key
    assert died.wait(10)
    monkeypatch.undo()
    issued = _policies_on_chain(app)
    # The client retries after the reservation's TTL: the same batch, not a second issuance.
    reply = api.c.post("/v1/policies/batch", json=payload, headers={**headers, "Idempotency-Key": key})
    assert reply.status_code == 202, reply.text
    assert reply.json()["id"] == first.id
    assert _policies_on_chain(app) == issued
    _reconcile(app)
    status = _status(api, reply.json(), headers)
    assert status["status"] == "issued" and len(status["policy_ids"]) == 3
    # The key is the caller's: another tenant's request with the same key string is its own batch.
    other = api.tenant()
    other_headers = api.key(other, "distributor")
    theirs = _quote(api, other, other_headers)
    own = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": theirs["id"], "covers": payload["covers"]},
                            headers={**other_headers, "Idempotency-Key": key}), 202)
    assert own["id"] != first.id


def test_a_batch_finished_by_the_reconciler_sends_nothing_more(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]]) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    with transaction(app.state.factory) as s:
        batch = m.IssueBatch(tenant_id=tenant, quote_id=quote["id"], status="sending", total=2, policy_ids=[])
        s.add(batch)
    with app.state.factory() as s:
        wal = issue_intents.WriteAhead(s, tenant_id=tenant, quote_id=quote["id"], batch_id=batch.id, shared={})
        assert _reconcile(app).batches == [batch.id]  # taken for dead before it wrote anything
        hook = wal.hook([issue_intents.Intent(0, b"\x01" * 32, "late", b"\x02" * 32, "0x" + "00" * 20)])
        with pytest.raises(issue_intents.BatchClosed):
            hook(7)
    status = _status(api, {"status_url": f"/v1/policies/batches/{batch.id}"}, headers)
    assert status["status"] == "failed" and status["error"]["not_issued_from"] == 0
    with app.state.factory() as s:
        assert s.get(m.IssueIntent, "0x" + "01" * 32) is None


def test_a_single_cover_retried_after_no_receipt_is_answered_not_issued_twice(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A 502 no_receipt releases the Idempotency-Key (the outcome is unknown). The retry must not
    issue a second cover while the first may land: 503 until it is decided, then its answer."""
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    cover = _covers(quote["id"] + "s", 1)[0]
    keyed = {**headers, "Idempotency-Key": f"single-{quote['id']}"}

    monkeypatch.setattr(app.state.gateway.sender, "wait", _no_receipt)
    first = api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed)
    monkeypatch.undo()
    assert first.status_code == 502 and first.json()["type"] == "no_receipt", first.text
    issued = _policies_on_chain(app)  # it was mined: eth-tester mines at once

    retry = api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed)
    assert retry.status_code == 503 and retry.json()["type"] == "outcome_pending", retry.text
    assert _reconcile(app).issued == 1
    answer = api.ok(api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed), 201)
    assert answer["holder_ref"] == cover["holder_ref"]
    assert _policies_on_chain(app) == issued  # answered, not issued again
    replay = api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == answer["id"]


def test_a_single_cover_whose_transaction_never_left_is_issued_on_retry(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Written ahead, then the node refused the bytes: undecided until its nonce is used by another
    transaction; then nothing of the first attempt can land, and the retry issues the cover."""
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    cover = _covers(quote["id"] + "u", 1)[0]
    keyed = {**headers, "Idempotency-Key": f"unsent-{quote['id']}"}
    sender = app.state.gateway.sender

    def refused(tx: Any, account: Any) -> Any:
        raise ConnectionError("the node went away mid-request")

    monkeypatch.setattr(sender, "_send_tx", refused)
    first = api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed)
    monkeypatch.undo()
    assert first.status_code == 502, first.text
    before = _policies_on_chain(app)
    assert api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed).status_code == 503
    assert _reconcile(app) == issue_intents.Reconciled()  # its nonce is still the next one: undecided
    other = _quote(api, tenant, headers)  # another request uses that nonce
    api.ok(api.c.post("/v1/policies", json={"quote_id": other["id"], **_covers(other["id"], 1)[0]},
                      headers=headers), 201)
    assert _reconcile(app).not_issued == 1
    answer = api.ok(api.c.post("/v1/policies", json={"quote_id": quote["id"], **cover}, headers=keyed), 201)
    assert answer["holder_ref"] == cover["holder_ref"]
    assert _policies_on_chain(app) == before + 2  # the other request's cover and this one, once


def test_a_write_ahead_that_fails_sends_nothing_and_the_batch_ends_partial(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refuses the second chunk's record: that transaction is never signed (its
    nonce stays free), the first chunk's owners are recorded, and the batch ends partial."""
    tenant, headers = distributor
    monkeypatch.setattr(app.state.settings, "issue_batch", 2)
    quote = _quote(api, tenant, headers)
    covers = _covers(quote["id"] + "f", 5)
    gw = app.state.gateway
    nonce = gw.w3.eth.get_transaction_count(gw.operator.address)
    before = _policies_on_chain(app)
    write = issue_intents.WriteAhead._write
    calls = [0]

    def failing(self: issue_intents.WriteAhead, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        write(self, *args, **kwargs)

    monkeypatch.setattr(issue_intents.WriteAhead, "_write", failing)
    reply = api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers}, headers=headers)
    assert reply.status_code == 202, reply.text
    _until_handed_over(app, reply.json()["id"])
    monkeypatch.undo()
    assert _policies_on_chain(app) == before + 2
    assert gw.w3.eth.get_transaction_count(gw.operator.address) == nonce + 1  # one transaction: no gap
    assert _reconcile(app, stale_after=3600).batches == [reply.json()["id"]]
    status = _status(api, reply.json(), headers)
    assert status["status"] == "partial" and len(status["policy_ids"]) == 2
    assert status["error"]["not_issued_from"] == 2 and status["error"]["type"] == "internal"
    _owners_match_the_chain(api, app, status["policy_ids"], covers[:2], headers)


def test_a_renewal_whose_receipt_was_lost_gets_its_owner_and_is_not_renewed_twice(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The follow-on cover keeps the old holder; its quote and schedule were written ahead. A
    renewal retried while the first is undecided is 503; the reconciler records the follow-on."""
    tenant, headers = distributor
    _, _, old = insured(api, tenant, headers, unique_service())

    tester = api.chain.tester
    tester.disable_auto_mine_transactions()  # the renewal waits in the pool
    try:
        monkeypatch.setattr(app.state.gateway.sender, "wait", _no_receipt)
        assert renew(api, old, headers, 502)["type"] == "no_receipt"
        monkeypatch.undo()
        assert renew(api, old, headers, 503)["type"] == "outcome_pending"  # it may still be mined
        assert _reconcile(app) == issue_intents.Reconciled()  # and its nonce is unspent: undecided
    finally:
        tester.enable_auto_mine_transactions()
    tester.mine_blocks(1)
    issued = _policies_on_chain(app)
    assert _reconcile(app).issued == 1
    shown = api.ok(api.c.get(f"/v1/policies/{old['id']}", headers=headers))
    new = api.ok(api.c.get(f"/v1/policies/{shown['renewed_by']}", headers=headers))
    assert new["renewal_of"] == old["id"] and new["holder_ref"] == old["holder_ref"]
    with app.state.factory() as s:
        schedule, policy = s.get(m.PolicySchedule, new["id"]), s.get(m.Policy, new["id"])
        assert schedule is not None and policy is not None and schedule.schedule_hash == policy.schedule_hash
    assert renew(api, old, headers, 409)["type"] == "already_renewed"
    assert _policies_on_chain(app) == issued


def test_a_renewal_retried_after_its_lost_receipt_records_the_follow_on_and_answers_409(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    _, _, old = insured(api, tenant, headers, unique_service())

    monkeypatch.setattr(app.state.gateway.sender, "wait", _no_receipt)
    assert renew(api, old, headers, 502)["type"] == "no_receipt"  # mined (eth-tester), not recorded
    monkeypatch.undo()
    again = renew(api, old, headers, 409)
    assert again["type"] == "already_renewed"
    new_id = int(again["detail"].rsplit(" ", 1)[-1])
    assert api.ok(api.c.get(f"/v1/policies/{new_id}", headers=headers))["holder_ref"] == old["holder_ref"]
    assert _reconcile(app) == issue_intents.Reconciled()  # nothing left: the retry recorded it


def test_a_renewal_refused_for_good_leaves_nothing_to_decide(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]]) -> None:
    tenant, headers = distributor
    _, _, old = insured(api, tenant, headers, unique_service())
    renew(api, old, headers)
    assert renew(api, old, headers, 409)["type"] == "already_renewed"  # refused before anything was written
    with app.state.factory() as s:
        assert s.get(m.PendingRenewal, old["id"]) is None


def test_the_reconcile_command_runs_one_pass(
        api: Api, app: FastAPI, distributor: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    tenant, headers = distributor
    quote = _quote(api, tenant, headers)
    died = _dies_in(monkeypatch, app.state.gateway.sender, "wait")
    covers = _covers(quote["id"] + "c", 2)
    body = api.ok(api.c.post("/v1/policies/batch", json={"quote_id": quote["id"], "covers": covers},
                             headers=headers), 202)
    assert died.wait(10)
    monkeypatch.undo()
    if not cli_app.registered_commands:
        _register()
    gw = app.state.gateway
    monkeypatch.setattr(serve_cmds, "_components", lambda: (gw, app.state.factory, app.state.indexer))
    result = CliRunner().invoke(cli_app, ["reconcile", "--stale-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "recorded 2 owners from the chain, 0 covers never issued, 1 batches finished"
    assert _status(api, body, headers)["status"] == "issued"
    bad = CliRunner().invoke(cli_app, ["reconcile", "--stale-seconds", "-1"])
    assert bad.exit_code == 2 and "stale-seconds" in bad.output
