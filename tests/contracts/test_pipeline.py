"""The managed-nonce pipeline over JSON-RPC (anvil): several transactions in flight from one
account, with a dropped, a stuck and a reverted one in the middle; a nonce another process took."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_utils import keccak
from pydantic import SecretStr
from web3 import Web3

from contracts import artifacts
from contracts.errors import ContractsError, NonceTaken
from contracts.reverts import ContractRevert
from contracts.sender import Account, Pending, Pipeline, Sender, send
from tests.anvil import anvil

GWEI = 10**9


@pytest.fixture(scope="module")
def node() -> Iterator[tuple[Web3, Any]]:
    with anvil() as (_, w3):
        owner = w3.eth.accounts[0]
        receipt = send(w3, artifacts.contract(w3, "TestToken").constructor("T", "T", 6), owner)  # type: ignore[union-attr]
        yield w3, w3.eth.contract(address=receipt["contractAddress"], abi=artifacts.abi("TestToken"))


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    out = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in out, out
    return out.get("result")


def _funded(w3: Web3, name: str) -> Account:
    account = Account.from_key(SecretStr("0x" + keccak(text=name).hex()))
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": 10**18})
    return account


@pytest.fixture
def paused(node: tuple[Web3, Any]) -> Iterator[Web3]:
    w3 = node[0]
    _rpc(w3, "evm_setAutomine", False)
    try:
        yield w3
    finally:
        _rpc(w3, "evm_setIntervalMining", 0)
        _rpc(w3, "evm_setAutomine", True)


def test_dropped_stuck_and_reverted_transactions_in_a_pipeline(node: tuple[Web3, Any]) -> None:
    """Six transactions in flight: the second is dropped from the pool (re-broadcast as the same
    bytes), the third reverts when mined (raised, decoded, the others unaffected), the fourth is
    stuck under the base fee (replaced with higher fees, same nonce: exactly one version mined).
    Every receipt is checked, in order; the nonces stay gap-free; each mint happens once."""
    w3, token = node
    account = _funded(w3, "pipeline-dropped-stuck-reverted")
    _rpc(w3, "evm_setAutomine", False)
    try:
        start = w3.eth.get_transaction_count(account.address)
        sender = Sender(w3, gas=200_000, timeout=60, every=10, stuck_after=1.5, poll=0.05)
        outcomes: list[tuple[int, Any]] = []
        pipe = Pipeline(sender, 8, lambda tag, r: outcomes.append((tag, r)), lambda tag, e: outcomes.append((tag, e)))
        high = {"maxFeePerGas": 100 * GWEI, "maxPriorityFeePerGas": 2 * GWEI}
        low = {"maxFeePerGas": GWEI + 1, "maxPriorityFeePerGas": 1}
        fees = iter([high, high, high, low, high, high])
        original = sender._sign_and_send
        sender._sign_and_send = lambda fn, acct, params: original(fn, acct, {**params, **next(fees)})  # type: ignore[method-assign]

        sent: list[Pending] = []
        sent.append(pipe.submit(token.functions.mint(account.address, 1), account, 0))
        sent.append(pipe.submit(token.functions.mint(account.address, 2), account, 1))
        _rpc(w3, "anvil_dropTransaction", "0x" + sent[1].tx_hash.hex())
        assert w3.eth.get_transaction_count(account.address, "pending") == start + 1  # a gap now
        simulate = sender.simulate
        sender.simulate = lambda fn, acct: None  # type: ignore[method-assign]  # let a failing one through
        sent.append(pipe.submit(token.functions.transfer(w3.eth.accounts[1], 10**12), account, 2))
        sender.simulate = simulate  # type: ignore[method-assign]
        for tag, amount in ((3, 4), (4, 8), (5, 16)):
            sent.append(pipe.submit(token.functions.mint(account.address, amount), account, tag))
        assert [p.nonce for p in sent] == list(range(start, start + 6))
        assert len(pipe) == 6
        # The next block's base fee rises above the fourth's fee cap: it stays in the pool.
        _rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(50 * GWEI))
        _rpc(w3, "evm_setIntervalMining", 1)
        pipe.drain()
    finally:
        _rpc(w3, "evm_setIntervalMining", 0)
        _rpc(w3, "evm_setAutomine", True)

    assert [tag for tag, _ in outcomes] == [0, 1, 2, 3, 4, 5]
    results = dict(outcomes)
    for tag in (0, 1, 3, 4, 5):
        assert results[tag]["status"] == 1, results[tag]
    assert isinstance(results[2], ContractsError)  # mined with status 0, replayed to name it
    assert isinstance(results[2], ContractRevert) and "InsufficientBalance" in results[2].name
    # The dropped one was re-broadcast, not re-signed: its one hash was mined.
    assert bytes(results[1]["transactionHash"]) == sent[1].tx_hash and sent[1].replacements == 0
    # The stuck one was replaced: the receipt is the replacement's; the first version never mined.
    assert sent[3].replacements >= 1 and sender.replaced >= 1
    assert bytes(results[3]["transactionHash"]) == sent[3].hashes[-1] != sent[3].hashes[0]
    assert w3.eth.get_transaction_count(account.address) == start + 6  # gap-free: six nonces, six transactions
    assert token.functions.balanceOf(account.address).call() == 1 + 2 + 4 + 8 + 16


def _three_of_four_dropped(w3: Web3, token: Any, name: str) -> tuple[Pipeline, list[Pending], list[tuple[int, Any]]]:
    """Four mints in flight from a fresh account (mining paused), the last three then dropped from
    the node's pool: the pipeline, what it sent and the outcomes it hands back, in order."""
    account = _funded(w3, name)
    _rpc(w3, "evm_mine")
    sender = Sender(w3, gas=200_000, timeout=30, every=10, stuck_after=None, poll=0.05)
    outcomes: list[tuple[int, Any]] = []
    pipe = Pipeline(sender, 8, lambda tag, r: outcomes.append((tag, r)), lambda tag, e: outcomes.append((tag, e)))
    sent = [pipe.submit(token.functions.mint(account.address, 1 << i), account, i) for i in range(4)]
    for p in sent[1:]:
        _rpc(w3, "anvil_dropTransaction", "0x" + p.tx_hash.hex())
    return pipe, sent, outcomes


@contextmanager
def _one_block_after(w3: Web3, seconds: float) -> Iterator[None]:
    """One block mined `seconds` after entering (after a wait's first checks), awaited on leaving."""
    miner = threading.Timer(seconds, lambda: _rpc(w3, "evm_mine"))
    miner.start()
    try:
        yield
    finally:
        miner.join()


def _all_landed_as_sent(token: Any, sent: list[Pending], outcomes: list[tuple[int, Any]]) -> list[Any]:
    """Every mint mined in order with status 1, as the bytes first sent, each once; the receipts."""
    receipts = [r for _, r in outcomes]
    assert [tag for tag, _ in outcomes] == [0, 1, 2, 3] and all(r["status"] == 1 for r in receipts)
    assert [bytes(r["transactionHash"]) for r in receipts] == [p.tx_hash for p in sent]  # the same bytes
    assert token.functions.balanceOf(sent[0].account.address).call() == 15
    return receipts


def test_transactions_dropped_together_come_back_together(node: tuple[Web3, Any], paused: Web3) -> None:
    """Three of four transactions in flight are dropped from the node's pool at once, the first
    already mined. Awaiting the second re-broadcasts all three at its first check (the same
    bytes): they are mined in one block, not one block apart as each was noticed only when awaited."""
    w3, token = paused, node[1]
    pipe, sent, outcomes = _three_of_four_dropped(w3, token, "pipeline-dropped-together")
    _rpc(w3, "evm_mine")  # only the first is left to mine
    pipe.land()
    assert [tag for tag, _ in outcomes] == [0] and outcomes[0][1]["status"] == 1
    with _one_block_after(w3, 1.5):
        pipe.drain()
    receipts = _all_landed_as_sent(token, sent, outcomes)
    assert {r["blockNumber"] for r in receipts[1:]} == {receipts[0]["blockNumber"] + 1}


def test_transactions_dropped_behind_the_awaited_one_come_back_while_it_waits(node: tuple[Web3, Any],
                                                                              paused: Web3) -> None:
    """The node drops the second to fourth of four transactions while the pipeline awaits the
    first (still unmined): they are re-broadcast during that wait, so the block that mines the
    first mines all four."""
    w3, token = paused, node[1]
    pipe, sent, outcomes = _three_of_four_dropped(w3, token, "pipeline-dropped-behind")
    with _one_block_after(w3, 1.5):
        pipe.land()
    pipe.drain()
    receipts = _all_landed_as_sent(token, sent, outcomes)
    assert len({r["blockNumber"] for r in receipts}) == 1


def test_a_nonce_taken_by_another_process_is_reported(node: tuple[Web3, Any], paused: Web3) -> None:
    """Two senders on one key (two processes): the first one's transaction is dropped and the
    second one's takes its nonce. The first learns that its transaction can never land."""
    w3, token = node
    _rpc(w3, "evm_setAutomine", True)
    account = _funded(w3, "pipeline-nonce-taken")
    _rpc(w3, "evm_setAutomine", False)
    ours, theirs = Sender(w3, gas=200_000, timeout=30, poll=0.05), Sender(w3, gas=200_000, timeout=30, poll=0.05)
    mine = ours.broadcast(token.functions.mint(account.address, 1), account)
    _rpc(w3, "anvil_dropTransaction", "0x" + mine.tx_hash.hex())
    other = theirs.broadcast(token.functions.mint(account.address, 100), account)
    assert other.nonce == mine.nonce
    _rpc(w3, "evm_mine")
    assert theirs.wait(other)["status"] == 1
    ours.every = 0.2  # the re-broadcast is refused: "nonce too low"
    with pytest.raises(NonceTaken):
        ours.wait(mine)
    assert token.functions.balanceOf(account.address).call() == 100
    # The next broadcast of either sender continues gap-free after the taken nonce.
    nxt = ours.broadcast(token.functions.mint(account.address, 1), account)
    assert nxt.nonce == mine.nonce + 1
    _rpc(w3, "evm_mine")
    assert ours.wait(nxt)["status"] == 1


def test_two_senders_racing_for_nonces_both_land(node: tuple[Web3, Any], paused: Web3) -> None:
    """Two senders on one key broadcasting in turn (mining paused): each reads the node's pending
    count, a clash is retried on a fresh nonce, nothing is lost or sent twice."""
    w3, token = node
    _rpc(w3, "evm_setAutomine", True)
    account = _funded(w3, "pipeline-two-senders")
    _rpc(w3, "evm_setAutomine", False)
    a, b = Sender(w3, gas=200_000, timeout=30, poll=0.05), Sender(w3, gas=200_000, timeout=30, poll=0.05)
    pendings = []
    for i in range(6):
        s = a if i % 2 == 0 else b
        pendings.append((s, s.broadcast(token.functions.mint(account.address, 1 << i), account)))
    assert sorted(p.nonce for _, p in pendings) == list(range(6))
    _rpc(w3, "evm_mine")
    assert all(s.wait(p)["status"] == 1 for s, p in pendings)
    assert token.functions.balanceOf(account.address).call() == 63
