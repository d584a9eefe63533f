"""Direct submission to the real OutageOracle on eth-tester (the shared session deployment)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3

from contracts.eip712 import service_id
from oracles.clock import ManualClock
from oracles.config import parse_config
from oracles.errors import ConfigError, SubmissionRejected
from oracles.keys import NodeKey
from oracles.reports import SignedReport, episode_id, sign_report
from oracles.transmit.factory import check_chain_config
from oracles.transmit.rpc import RpcSubmitter
from oracles.transmit.selection import quorum_sets
from oracles.transmit.submitters import Submission, SubmitStatus
from oracles.transmit.transmitter import Transmitter
from tests.chain import ORACLES, QUORUM, Ledger
from tests.oracles.helpers import config_dict, http_target

pytestmark = pytest.mark.anyio
SERVICE = service_id("https://rpc-shop.example")


def funded_account(ledger: Ledger) -> LocalAccount:
    acct: LocalAccount = Account.from_key(keccak(text="oracle-transmitter"))
    ledger.w3.eth.send_transaction({"from": ledger.a.relayer, "to": acct.address,
                                    "value": Web3.to_wei(1, "ether")})
    return acct


def signed(ledger: Ledger, key: NodeKey, start: int, end: int, **kw: Any) -> SignedReport:
    return sign_report(key, episode=episode_id("shop", start), target="shop", service_id=SERVICE,
                       config_version=kw.get("version", 1), start=start, end=end,
                       ongoing=kw.get("ongoing", True), evidence_root=keccak(text=f"{key}{end}"),
                       seq=kw.get("seq", 1), chain_id=ledger.w3.eth.chain_id,
                       verifying_contract=ledger.oracle.address, signed_at=end)


ORACLE_KEYS = [NodeKey(o.key) for o in ORACLES]


async def test_submit_records_the_window_and_is_idempotent(ledger: Ledger) -> None:
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, funded_account(ledger))
    assert await submitter.oracle_config() == (1, QUORUM, [o.address for o in ORACLES])
    now = ledger.now()
    start, end = now - 900, now - 60
    reports = tuple(sorted((signed(ledger, k, start, end) for k in ORACLE_KEYS[:QUORUM]),
                           key=lambda r: int(r.signer, 16)))
    result = await submitter.submit(Submission(SERVICE, 1, reports))
    assert result.status is SubmitStatus.SUBMITTED
    assert result.tx_hash
    receipt = ledger.w3.eth.get_transaction_receipt(HexBytes(result.tx_hash))
    assert receipt["status"] == 1
    assert ledger.oracle.functions.windowCount(SERVICE).call() == 1
    window = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    assert tuple(window[:2]) == (start, end)
    assert window[4] is True

    # The same window again adds nothing: the contract's AlreadyCovered is a success.
    again = await submitter.submit(Submission(SERVICE, 1, reports))
    assert again.status is SubmitStatus.ALREADY_COVERED
    assert ledger.oracle.functions.windowCount(SERVICE).call() == 1

    # Closing reports (ongoing = false) at the same end settle the window.
    closing = tuple(sorted((signed(ledger, k, start, end, ongoing=False, seq=2)
                            for k in ORACLE_KEYS[:QUORUM]), key=lambda r: int(r.signer, 16)))
    assert (await submitter.submit(Submission(SERVICE, 1, closing))).status \
        is SubmitStatus.SUBMITTED
    assert ledger.oracle.functions.windowAt(SERVICE, 0).call()[4] is False


async def test_permanent_reverts_are_rejections(ledger: Ledger) -> None:
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, funded_account(ledger))
    now = ledger.now()
    outsider = NodeKey(keccak(text="not-an-oracle"))
    reports = (signed(ledger, ORACLE_KEYS[0], now - 600, now - 60),
               signed(ledger, ORACLE_KEYS[1], now - 600, now - 60),
               signed(ledger, outsider, now - 600, now - 60))
    with pytest.raises(SubmissionRejected, match="OutageOracleUnknownSigner"):
        await submitter.submit(Submission(SERVICE, 1, reports))
    stale = tuple(signed(ledger, k, now - 600, now - 60, version=2) for k in ORACLE_KEYS[:3])
    with pytest.raises(SubmissionRejected, match="OutageOracleStaleConfig"):
        await submitter.submit(Submission(SERVICE, 2, stale))


async def test_transmitter_over_rpc_with_chain_signer_filter(ledger: Ledger, tmp_path: Any
                                                             ) -> None:
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, funded_account(ledger))
    raw = config_dict(tmp_path, targets=[http_target("http://127.0.0.1:1/")])
    raw["chain"] = {"chain_id": ledger.w3.eth.chain_id, "oracle_address": ledger.oracle.address,
                    "rpc_url": "http://unused"}
    config = parse_config(raw)
    signers = await check_chain_config(config, submitter, ORACLE_KEYS[0].address)
    assert signers == frozenset(o.address for o in ORACLES)
    bad = parse_config({**raw, "node": {**raw["node"], "config_version": 7}})
    with pytest.raises(ConfigError, match="version 1"):
        await check_chain_config(bad, submitter, ORACLE_KEYS[0].address)

    now = ledger.now()
    outsider = NodeKey(keccak(text="not-an-oracle"))
    own = [signed(ledger, k, now - 1200, now - 120) for k in (*ORACLE_KEYS, outsider)]
    tx = Transmitter(submitter=submitter, quorum=QUORUM, config_version=1,
                     chain_id=ledger.w3.eth.chain_id, oracle_address=ledger.oracle.address,
                     peers=(), own_reports=lambda since: own, clock=ManualClock(now),
                     signers=signers)
    [done] = await tx.transmit_once()
    assert done.result is not None
    assert done.result.status is SubmitStatus.SUBMITTED
    assert len(done.submission.reports) == len(ORACLES)  # the outsider is left out
    assert ledger.oracle.functions.windowCount(SERVICE).call() == 1
    await tx.aclose()


@pytest.mark.parametrize("lie", ["stretch", "invent"])
async def test_one_lying_node_can_neither_create_nor_stretch_a_window(ledger: Ledger, lie: str) -> None:
    """3 of 4 honest nodes saw [start, end); the fourth signs whatever it likes. Whatever set
    the transmitter picks, the recorded window never reaches beyond what q honest nodes saw."""
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, funded_account(ledger))
    now = ledger.now()
    start, end = now - 1800, now - 120
    honest = [signed(ledger, k, start + 60 * i, end - 60 * i) for i, k in enumerate(ORACLE_KEYS[:3])]
    liar = ORACLE_KEYS[3]
    if lie == "stretch":  # the same outage, claimed far longer on both sides
        reports = [*honest, signed(ledger, liar, start - 7200, now - 1)]
    else:  # an outage nobody else saw: alone it can never reach quorum
        reports = [signed(ledger, liar, now - 9000, now - 8000)]
    sets = quorum_sets(reports, service_id=SERVICE, config_version=1, quorum=QUORUM,
                       signers=frozenset(o.address for o in ORACLES))
    if lie == "invent":
        assert sets == []
        return
    for chosen in sets:
        result = await submitter.submit(Submission(SERVICE, 1, tuple(chosen)))
        assert result.status in (SubmitStatus.SUBMITTED, SubmitStatus.ALREADY_COVERED)
    w = ledger.oracle.functions.windowAt(SERVICE, 0).call()
    # Every instant of the verified window was seen down by at least one honest node.
    assert min(r.start for r in honest) <= w[0]
    assert w[1] <= max(r.end for r in honest)
    # Quorum 3 of these windows: exactly the q-th smallest start and q-th largest end.
    all_starts = sorted(r.start for r in reports)
    all_ends = sorted((r.end for r in reports), reverse=True)
    assert (w[0], w[1]) == (all_starts[QUORUM - 1], all_ends[QUORUM - 1])


async def test_late_older_window_is_not_given_up(ledger: Ledger) -> None:
    """Finding 3 over RPC: a window older than the latest one on the chain is either recorded
    (an oracle that inserts late windows in order) or refused with a retryable error — never
    a final rejection that would drop it."""
    from oracles.errors import SubmissionError

    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, funded_account(ledger))
    now = ledger.now()

    def quorum(start: int, end: int) -> Submission:
        return Submission(SERVICE, 1, tuple(sorted((signed(ledger, k, start, end, ongoing=False)
                                                    for k in ORACLE_KEYS[:QUORUM]), key=lambda r: int(r.signer, 16))))

    assert (await submitter.submit(quorum(now - 1200, now - 600))).status is SubmitStatus.SUBMITTED
    try:
        late = await submitter.submit(quorum(now - 7200, now - 6600))
    except SubmissionRejected as exc:
        pytest.fail(f"a late window was rejected for good: {exc}")
    except SubmissionError as exc:
        assert "OutageOracleWindowOutOfOrder" in str(exc)  # this oracle orders windows: retried
    else:
        assert late.status is SubmitStatus.SUBMITTED
        assert ledger.oracle.functions.windowCount(SERVICE).call() == 2


def test_refusal_table_matches_the_abi_and_the_relay() -> None:
    """Drift: the final refusals are errors the OutageOracle can raise, and the relay's
    `type` for each is the one the transmitter expects."""
    from contracts.artifacts import abi
    from contracts.reverts import ContractRevert
    from oracles.transmit.refusals import ALREADY_COVERED, ALREADY_COVERED_TYPE, PERMANENT, relay_type
    from service.chain.gateway import chain_error

    errors = {e["name"] for e in abi("OutageOracle") if e["type"] == "error"}
    assert PERMANENT | {ALREADY_COVERED} <= errors
    for name in PERMANENT:
        assert chain_error(ContractRevert(name)).type == relay_type(name)
    assert chain_error(ContractRevert(ALREADY_COVERED)).type == ALREADY_COVERED_TYPE


async def test_an_unconfirmed_submission_is_rebroadcast_then_forgotten(ledger: Ledger) -> None:
    """No receipt in time: the next attempt re-broadcasts the same signed bytes (one transaction,
    one nonce); unconfirmed twice, it is forgotten and the next attempt starts afresh."""
    from oracles.errors import SubmissionError

    account = funded_account(ledger)
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, account, receipt_timeout=0.2)
    now = ledger.now()
    reports = tuple(sorted((signed(ledger, k, now - 900, now - 60) for k in ORACLE_KEYS[:QUORUM]),
                           key=lambda r: int(r.signer, 16)))
    ledger.tester.disable_auto_mine_transactions()
    try:
        with pytest.raises(SubmissionError, match="no receipt"):
            await submitter.submit(Submission(SERVICE, 1, reports))
        ledger.tester.mine_blocks(1)
        again = await submitter.submit(Submission(SERVICE, 1, reports))  # the same bytes: now mined
        assert again.status is SubmitStatus.SUBMITTED
        assert again.tx_hash
        assert ledger.w3.eth.get_transaction_count(account.address) == 1
        assert ledger.oracle.functions.windowCount(SERVICE).call() == 1

        later = tuple(sorted((signed(ledger, k, now - 900, now - 30, seq=2) for k in ORACLE_KEYS[:QUORUM]),
                             key=lambda r: int(r.signer, 16)))
        for _ in range(2):
            with pytest.raises(SubmissionError, match="no receipt"):
                await submitter.submit(Submission(SERVICE, 1, later))
        ledger.tester.mine_blocks(1)
    finally:
        ledger.tester.enable_auto_mine_transactions()
    # Forgotten: signed afresh, and the chain already holds what it says.
    assert (await submitter.submit(Submission(SERVICE, 1, later))).status is SubmitStatus.ALREADY_COVERED
    assert ledger.w3.eth.get_transaction_count(account.address) == 2


async def test_a_lost_node_keeps_the_signed_bytes_for_the_next_attempt(ledger: Ledger,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The receipt wait fails with a transport error (the node went away): the transaction may
    still land, so the next attempt re-broadcasts the same bytes — never a second nonce."""
    from oracles.errors import SubmissionError

    account = funded_account(ledger)
    submitter = RpcSubmitter(ledger.w3, ledger.oracle.address, account)
    now = ledger.now()
    reports = tuple(sorted((signed(ledger, k, now - 900, now - 60) for k in ORACLE_KEYS[:QUORUM]),
                           key=lambda r: int(r.signer, 16)))
    real_wait = submitter._sender.wait
    calls = []

    def lost_once(pending: Any) -> Any:
        calls.append(pending.tx_hash)
        if len(calls) == 1:
            raise ConnectionError("connection reset by peer")
        return real_wait(pending)

    monkeypatch.setattr(submitter._sender, "wait", lost_once)
    with pytest.raises(SubmissionError, match="connection reset"):
        await submitter.submit(Submission(SERVICE, 1, reports))
    again = await submitter.submit(Submission(SERVICE, 1, reports))
    assert again.status is SubmitStatus.SUBMITTED
    assert calls[0] == calls[1]  # the same signed transaction, waited for again
    assert ledger.w3.eth.get_transaction_count(account.address) == 1
