"""The one sender's split API: a `Pending` kept across waits is re-broadcast as the same bytes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from pydantic import SecretStr

from contracts import artifacts
from contracts.errors import NoReceipt
from contracts.reverts import ContractRevert
from contracts.sender import Account, Sender, send
from tests.anvil import anvil
from tests.chain import Ledger


@pytest.fixture
def signer(ledger: Ledger) -> Account:
    account = Account.from_key(SecretStr("0x" + keccak(text="contracts-sender-test").hex()))
    ledger.w3.eth.send_transaction({"from": ledger.a.owner, "to": account.address, "value": 10**18})
    return account


@pytest.fixture
def no_auto_mine(ledger: Ledger) -> Iterator[None]:
    ledger.tester.disable_auto_mine_transactions()
    try:
        yield
    finally:
        ledger.tester.enable_auto_mine_transactions()


def test_an_unconfirmed_transaction_is_rebroadcast_not_resent(ledger: Ledger, signer: Account,
                                                               no_auto_mine: None) -> None:
    sender = Sender(ledger.w3, gas=200_000, timeout=0.2, every=0.05)
    pending = sender.broadcast(ledger.token.functions.mint(signer.address, 7), signer)
    assert pending.raw is not None and keccak(pending.raw) == pending.tx_hash
    with pytest.raises(NoReceipt, match=pending.tx_hash.hex()):
        sender.wait(pending)  # re-broadcast meanwhile, still unmined
    sender.rebroadcast(pending)  # later: the same bytes again
    ledger.tester.mine_blocks(1)
    receipt = sender.wait(pending)
    assert receipt["status"] == 1 and bytes(receipt["transactionHash"]) == pending.tx_hash
    assert ledger.w3.eth.get_transaction_count(signer.address) == 1  # one transaction, one nonce
    assert ledger.token.functions.balanceOf(signer.address).call() == 7
    assert sender.sent == 1


def test_nonces_are_assigned_before_the_receipts() -> None:
    """Over JSON-RPC (anvil, mining paused): broadcasts need not wait for each other's receipts,
    the next nonce is ours, not the node's count. (eth-tester pools one transaction per sender.)"""
    with anvil() as (_, w3):
        owner, token, account = _token_and_funded_account(w3, "contracts-sender-pipeline")
        sender = Sender(w3, timeout=10)
        w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        pendings = [sender.broadcast(token.functions.mint(account.address, n), account) for n in (1, 2, 4)]
        assert [p.nonce for p in pendings] == [0, 1, 2]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert [sender.wait(p)["status"] for p in pendings] == [1, 1, 1]
        assert token.functions.balanceOf(account.address).call() == 7


def _token_and_funded_account(w3: Any, tag: str) -> tuple[str, Any, Account]:
    """On anvil: the node's first account, a TestToken it deployed, and a signing account with ether."""
    owner = w3.eth.accounts[0]
    token = w3.eth.contract(address=send(w3, artifacts.contract(w3, "TestToken").constructor("T", "T", 6), owner)[
        "contractAddress"], abi=artifacts.abi("TestToken"))
    account = Account.from_key(SecretStr("0x" + keccak(text=tag).hex()))
    w3.eth.send_transaction({"from": owner, "to": account.address, "value": 10**18})
    return owner, token, account


def test_a_revert_is_raised_before_anything_is_sent(ledger: Ledger, signer: Account) -> None:
    sender = Sender(ledger.w3)
    with pytest.raises(ContractRevert) as info:
        sender.broadcast(ledger.oracle.functions.setConfig([], 1), signer)
    assert info.value.name == "AccessControlUnauthorizedAccount"
    assert ledger.w3.eth.get_transaction_count(signer.address) == 0 and sender.sent == 0


def test_the_write_ahead_hook_sees_the_nonce_before_signing_and_can_stop_the_send(
        ledger: Ledger, signer: Account) -> None:
    """`before_send(nonce)` runs before the transaction exists anywhere; if it raises (the record
    could not be written), nothing is sent and the nonce is the next transaction's."""
    sender = Sender(ledger.w3, gas=200_000)
    seen: list[tuple[int, int]] = []

    def record(nonce: int) -> None:
        seen.append((nonce, ledger.w3.eth.get_transaction_count(signer.address, "pending")))

    pending = sender.broadcast(ledger.token.functions.mint(signer.address, 1), signer, before_send=record)
    assert seen == [(pending.nonce, pending.nonce)]  # called with the nonce, before the node had it

    class Refused(Exception):
        pass

    def refuse(_nonce: int) -> None:
        raise Refused

    with pytest.raises(Refused):
        sender.broadcast(ledger.token.functions.mint(signer.address, 2), signer, before_send=refuse)
    assert ledger.w3.eth.get_transaction_count(signer.address, "pending") == pending.nonce + 1 and sender.sent == 1
    after = sender.broadcast(ledger.token.functions.mint(signer.address, 4), signer)
    assert after.nonce == pending.nonce + 1  # no gap: the refused send used no nonce
    assert sender.wait(after)["status"] == 1
    assert ledger.token.functions.balanceOf(signer.address).call() == 5


def test_the_estimate_on_the_pending_block_is_the_simulation() -> None:
    """Over JSON-RPC (anvil, mining paused): one `eth_estimateGas` on the pending block both sizes
    the transaction and checks it, after the account's transactions still in the pool (a transfer
    of tokens minted by the transaction before it is not refused), and its revert is decoded and
    raised before anything is sent."""
    with anvil() as (_, w3):
        owner, token, account = _token_and_funded_account(w3, "contracts-sender-pending")
        sender = Sender(w3, timeout=10)
        calls: list[str] = []
        w3.middleware_onion.add(_recording(calls))
        w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        mint = sender.broadcast(token.functions.mint(account.address, 5), account)
        move = sender.broadcast(token.functions.transfer(owner, 5), account)  # only after the mint
        with pytest.raises(ContractRevert) as info:
            sender.broadcast(token.functions.transfer(owner, 1), account)  # the 5 are spoken for
        assert info.value.name == "ERC20InsufficientBalance"
        assert sender.sent == 2 and sender.pending_estimates
        assert calls.count("eth_estimateGas") == 3 and "eth_call" not in calls  # no separate simulation
        assert w3.eth.get_transaction_count(account.address, "pending") == 2
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert [sender.wait(p)["status"] for p in (mint, move)] == [1, 1]
        assert token.functions.balanceOf(owner).call() == 5


def _recording(calls: list[str]) -> type:
    from web3.middleware import Web3Middleware

    class Recording(Web3Middleware):
        def wrap_make_request(self, make_request):  # type: ignore[no-untyped-def]
            def middleware(method, params):  # type: ignore[no-untyped-def]
                calls.append(str(method))
                return make_request(method, params)
            return middleware

    return Recording


def test_a_broadcast_waits_for_room_in_the_next_block() -> None:
    """Over JSON-RPC (anvil, mining paused): with room for one transaction of this size in a
    block's share, the second broadcast returns only once the first is mined (a transaction left
    over when anvil mines makes it queue every later one of the account); the gate's wait is
    bounded (`ADMIT_WAIT`) on a chain that does not mine at all."""
    import threading

    from contracts import sender as sender_module

    with anvil() as (_, w3):
        owner, token, account = _token_and_funded_account(w3, "contracts-sender-gate")
        block_gas = int(w3.eth.get_block("latest")["gasLimit"])
        sender = Sender(w3, gas=200_000, timeout=10, block_share=300_000 / block_gas)  # one 200k tx fits
        w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
        first = sender.broadcast(token.functions.mint(account.address, 1), account)
        miner = threading.Timer(0.5, lambda: w3.provider.make_request("evm_mine", []))  # type: ignore[arg-type]
        miner.start()
        second = sender.broadcast(token.functions.mint(account.address, 2), account)
        miner.join()
        assert w3.eth.get_transaction_receipt(first.tx_hash)["status"] == 1  # mined before the second went out
        assert w3.eth.get_transaction_count(account.address, "latest") == 1
        old = sender_module.ADMIT_WAIT
        sender_module.ADMIT_WAIT = 0.3
        try:  # nothing mines now: the third goes out after the bounded wait, behind the second
            third = sender.broadcast(token.functions.mint(account.address, 4), account)
        finally:
            sender_module.ADMIT_WAIT = old
        assert (second.nonce, third.nonce) == (1, 2)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert [sender.wait(p)["status"] for p in (second, third)] == [1, 1]
        assert token.functions.balanceOf(account.address).call() == 7
