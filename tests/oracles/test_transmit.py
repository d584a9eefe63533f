"""The transmitter: gathering from peers, authenticating, selecting, relaying idempotently."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi import FastAPI

from oracles.clock import ManualClock
from oracles.errors import SubmissionError, SubmissionRejected, SubmissionUnauthorized
from oracles.reports import SignedReport
from oracles.transmit.submitters import RelaySubmitter, Submission, SubmitStatus
from tests.oracles.helpers import (
    KEYS,
    ORACLE_ADDRESS,
    T0,
    FakeRelay,
    free_port,
    peer_app,
    report,
    serve_app,
    transmitter,
)
from tests.oracles.helpers import SHOP as SERVICE

pytestmark = pytest.mark.anyio


async def test_relay_submitter_statuses() -> None:
    relay = FakeRelay()
    sub = Submission(SERVICE, 1, tuple(report(i, T0, T0 + 600) for i in range(3)))
    async with serve_app(relay.app()) as url:
        submitter = RelaySubmitter(url)
        first = await submitter.submit(sub)
        assert first.status is SubmitStatus.SUBMITTED
        assert first.tx_hash == "0x" + "ab" * 32
        again = await submitter.submit(sub)
        assert again.status is SubmitStatus.ALREADY_COVERED  # 409 already_covered = success
        body = relay.received[0]
        assert body["service_id"] == "0x" + SERVICE.hex()
        assert body["config_version"] == 1
        assert body["reports"][0] == {k: report(0, T0, T0 + 600).to_json()[k] for k in (
            "start", "end", "ongoing", "evidence_root", "seq", "r", "vs", "signer")}
        relay.fail_with = 503
        with pytest.raises(SubmissionError) as transient:
            await submitter.submit(sub)
        assert not isinstance(transient.value, SubmissionRejected)
        relay.fail_with = 409  # a 409 of another type is not success, nor a final refusal
        with pytest.raises(SubmissionError) as unknown:
            await submitter.submit(sub)
        assert not isinstance(unknown.value, SubmissionRejected)
        for final in ("stale_config", "invalid_signature", "quorum_not_met", "validation_error"):
            relay.fail_with, relay.fail_type = 409 if final == "stale_config" else 400, final
            with pytest.raises(SubmissionRejected):
                await submitter.submit(sub)
        await submitter.aclose()
    with pytest.raises(SubmissionError, match="unreachable"):
        await RelaySubmitter(f"http://127.0.0.1:{free_port()}").submit(sub)


async def test_relay_api_key_is_sent_and_a_refused_key_is_retried() -> None:
    relay = FakeRelay(api_key="cc_relay_key")
    sub = Submission(SERVICE, 1, tuple(report(i, T0, T0 + 600) for i in range(3)))
    async with serve_app(relay.app()) as url:
        keyless = RelaySubmitter(url)
        with pytest.raises(SubmissionError) as refused:
            await keyless.submit(sub)
        # Our credentials, not the report set, are wrong: retry later rather than drop the set.
        assert not isinstance(refused.value, SubmissionRejected)
        keyed = RelaySubmitter(url, api_key="cc_relay_key")
        assert (await keyed.submit(sub)).status is SubmitStatus.SUBMITTED
        await keyless.aclose()
        await keyed.aclose()


async def test_gathers_a_quorum_from_peers_and_submits_once() -> None:
    relay = FakeRelay()
    own = [report(0, T0, T0 + 300, seq=1), report(0, T0, T0 + 600, seq=2)]
    async with serve_app(relay.app()) as relay_url, \
            serve_app(peer_app([report(1, T0 + 60, T0 + 540)])) as p1, \
            serve_app(peer_app([report(2, T0 + 120, T0 + 600)])) as p2:
        dead = f"http://127.0.0.1:{free_port()}"  # a peer that is down costs only its reports
        tx = transmitter(relay_url, (p1, dead, p2), own)
        [done] = await tx.transmit_once()
        assert done.result is not None
        assert done.result.status is SubmitStatus.SUBMITTED
        sent = relay.received[0]["reports"]
        assert [r["signer"] for r in sent] == sorted((k.address for k in KEYS[:3]),
                                                     key=lambda a: int(a, 16))
        assert {r["seq"] for r in sent if r["signer"] == KEYS[0].address} == {2}
        # Nothing new: nothing sent.
        assert await tx.transmit_once() == []
        assert len(relay.received) == 1
        # The episode grows: the new set goes out.
        own.append(report(0, T0, T0 + 660, seq=3))
        assert len(await tx.transmit_once()) == 1
        await tx.aclose()


async def test_forged_or_foreign_reports_are_discarded() -> None:
    relay = FakeRelay()
    genuine = report(1, T0, T0 + 600)
    forged = dataclasses.replace(report(2, T0, T0 + 600), end=T0 + 6000)  # signature no longer
    impostor = dataclasses.replace(report(3, T0, T0 + 600), signer=KEYS[2].address)
    other_chain = dataclasses.replace(report(4, T0, T0 + 600), chain_id=1)
    malformed = {"start": "soon"}
    async with serve_app(relay.app()) as relay_url, serve_app(
            peer_app([genuine, forged, impostor, other_chain], raw=[malformed])) as peer:
        tx = transmitter(relay_url, (peer,), [report(0, T0, T0 + 600)], quorum=3)
        gathered = await tx.gather()
        assert {r.signer for r in gathered} == {KEYS[0].address, KEYS[1].address}
        assert await tx.transmit_once() == []  # two genuine signers < quorum 3
        assert relay.received == []
        await tx.aclose()


async def test_failed_submission_is_retried_rejected_one_is_not() -> None:
    relay = FakeRelay(fail_with=502)
    own = [report(0, T0, T0 + 600)]
    async with serve_app(relay.app()) as relay_url, \
            serve_app(peer_app([report(1, T0, T0 + 600), report(2, T0, T0 + 600)])) as peer:
        clock = ManualClock(T0 + 3600)
        tx = transmitter(relay_url, (peer,), own, clock=clock, retry_base=10, retry_max=60)
        [failed] = await tx.transmit_once()
        assert failed.result is None
        assert "502" in (failed.error or "")
        assert failed.retry_at == T0 + 3600 + 10
        relay.fail_with = None
        assert await tx.transmit_once() == []  # backing off: not hammered
        clock.advance(10)
        [ok] = await tx.transmit_once()  # transient failure: the same set is tried again
        assert ok.result is not None
        assert ok.result.status is SubmitStatus.SUBMITTED
        own.append(report(0, T0, T0 + 660, seq=2))
        relay.fail_with, relay.fail_type = 400, "invalid_signature"
        [refused] = await tx.transmit_once()
        assert refused.result is None
        assert refused.retry_at is None
        clock.advance(3600)
        assert await tx.transmit_once() == []  # refused for good: never sent again
        assert tx.failed == 2
        assert tx.submitted == 1
        await tx.aclose()


async def test_signer_filter_from_config_and_unreachable_rpc(tmp_path: Any) -> None:
    from eth_account import Account

    from oracles.config import parse_config
    from oracles.transmit.factory import check_chain_config
    from oracles.transmit.rpc import RpcSubmitter
    from tests.oracles.helpers import config_dict, http_target

    addresses = [k.address.lower() for k in KEYS[:3]]
    raw = config_dict(tmp_path, targets=[http_target("http://127.0.0.1:1/")],
                      transmit={"enabled": True, "quorum": 2, "relay_url": "http://r",
                                "signers": addresses})
    config = parse_config(raw)
    assert config.transmit.signers == tuple(k.address for k in KEYS[:3])  # checksummed
    relay = RelaySubmitter("http://r")
    assert await check_chain_config(config, relay, KEYS[0].address) == frozenset(
        k.address for k in KEYS[:3])
    await relay.aclose()
    # An RPC endpoint that is down at start-up must not stop the node from signing.
    rpc = RpcSubmitter.from_url(f"http://127.0.0.1:{free_port()}", ORACLE_ADDRESS,
                                Account.create())
    assert await check_chain_config(config, rpc, KEYS[0].address) == frozenset(
        k.address for k in KEYS[:3])


async def test_finding7_refused_relay_key_is_an_error_not_a_quiet_retry() -> None:
    relay = FakeRelay(api_key="cc_relay_key")
    own = [report(0, T0, T0 + 600)]
    async with serve_app(relay.app()) as relay_url, \
            serve_app(peer_app([report(1, T0, T0 + 600), report(2, T0, T0 + 600)])) as peer:
        clock = ManualClock(T0 + 3600)
        tx = transmitter(relay_url, (peer,), own, clock=clock)
        tx.submitter = RelaySubmitter(relay_url, api_key="cc_revoked")
        [refused] = await tx.transmit_once()
        assert refused.result is None
        assert tx.failed == 1
        assert tx.unauthorized is not None
        assert "401" in tx.unauthorized
        with pytest.raises(SubmissionUnauthorized):
            await tx.submitter.submit(Submission(SERVICE, 1, tuple(report(i, T0, T0 + 600) for i in range(3))))
        await tx.submitter.aclose()
        tx.submitter = RelaySubmitter(relay_url, api_key="cc_relay_key")  # the key is fixed: retried, healthy
        clock.advance(3600)  # past the retry backoff
        [ok] = await tx.transmit_once()
        assert ok.result is not None
        assert ok.result.status is SubmitStatus.SUBMITTED
        assert tx.unauthorized is None


def ordered_relay(windows: list[tuple[int, int]], accept_late: list[bool]) -> FastAPI:
    """A relay in front of an oracle that, unless `accept_late[0]`, refuses a window older
    than its latest with the chain's `WindowOutOfOrder` (as the contract once did)."""
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.post("/v1/oracle/reports")
    async def submit(body: dict[str, Any]) -> Any:
        window = (max(r["start"] for r in body["reports"]), min(r["end"] for r in body["reports"]))
        if windows and window[1] <= max(s for s, _ in windows) and not accept_late[0]:
            return JSONResponse({"type": "window_out_of_order", "detail": "OutageOracleWindowOutOfOrder"},
                                status_code=409)
        windows.append(window)
        return {"tx_hash": "0x" + "cd" * 32}

    return app


async def test_finding3_late_window_is_retried_not_dropped() -> None:
    """An older outage whose reports arrive after a later one was recorded: the out-of-order
    refusal is not final. The set is retried with a backoff until the chain records it."""
    older = [report(i, T0, T0 + 600) for i in range(3)]
    newer = [report(i, T0 + 7200, T0 + 7800) for i in range(3)]
    windows: list[tuple[int, int]] = []
    accept_late = [False]
    peer_reports: list[SignedReport] = []  # the peer holding the older reports is late
    clock = ManualClock(T0 + 9000)
    async with serve_app(ordered_relay(windows, accept_late)) as relay_url, \
            serve_app(peer_app(peer_reports)) as peer:
        tx = transmitter(relay_url, (peer,), newer, clock=clock, lookback=86_400, retry_base=30)
        [first] = await tx.transmit_once()
        assert first.result is not None
        assert windows == [(T0 + 7200, T0 + 7800)]

        peer_reports.extend(older)  # the older outage's reports turn up
        [late] = await tx.transmit_once()
        assert late.result is None
        assert "window_out_of_order" in (late.error or "")
        assert late.retry_at == T0 + 9000 + 30  # retryable, not given up
        assert await tx.transmit_once() == []  # ...but not every round
        clock.advance(30)
        [again] = await tx.transmit_once()
        assert again.result is None
        assert again.retry_at == clock.time() + 60

        accept_late[0] = True  # the oracle inserts late windows in order
        clock.advance(60)
        [landed] = await tx.transmit_once()
        assert landed.result is not None
        assert landed.result.status is SubmitStatus.SUBMITTED
        assert sorted(windows) == [(T0, T0 + 600), (T0 + 7200, T0 + 7800)]
        assert await tx.transmit_once() == []
        await tx.aclose()
