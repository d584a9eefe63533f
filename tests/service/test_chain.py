"""The sender: locally signed transactions with managed nonces, typed reverts, status checks."""

from __future__ import annotations

import pytest
from eth_account import Account as EthAccount
from eth_utils import keccak
from pydantic import SecretStr

from contracts.errors import ContractsError
from contracts.sender import Account, Pending, Sender
from service.chain.gateway import chain_error
from service.errors import ChainError
from tests.service.helpers import Chain


def _typed(sender: Sender, *args: object) -> ChainError:
    """The service's error for a failing send (the gateway maps the sender's at its boundary)."""
    with pytest.raises(ContractsError) as info:
        sender.send(*args)  # type: ignore[arg-type]
    return chain_error(info.value)


def test_local_key_signs_and_manages_nonces(chain: Chain) -> None:
    key = SecretStr("0x" + keccak(text="service-test-signer").hex())
    account = Account.from_key(key)
    assert account.address == EthAccount.from_key(key.get_secret_value()).address
    chain.w3.eth.send_transaction({"from": chain.owner, "to": account.address, "value": 10**18})
    sender = Sender(chain.w3)  # estimates gas: the path a real node takes
    start = chain.w3.eth.get_transaction_count(account.address)
    for _ in range(3):
        receipt = sender.send(chain.token.functions.mint(account.address, 5), account)
        assert receipt["status"] == 1
    assert chain.w3.eth.get_transaction_count(account.address) == start + 3
    assert chain.token.functions.balanceOf(account.address).call() == 15
    # A revert is decoded before anything is signed or sent, and typed by its error name.
    err = _typed(sender, chain.registry.functions.anchor(keccak(text="x"), 9000, 0, b"\x01" * 32, b"\x00" * 32, 0),
                 account)
    assert err.status == 403
    assert err.type == "not_accredited"
    assert chain.w3.eth.get_transaction_count(account.address) == start + 3
    assert key.get_secret_value() not in repr(account)


def test_status_zero_is_raised_and_decoded(chain: Chain) -> None:
    """A transaction mined with status 0 (state changed between simulation and mining) raises."""
    sender = Sender(chain.w3, gas=500_000)
    fn = chain.oracle.functions.setConfig([], 1)
    pending = Pending(fn, Account(chain.owner), 0, b"\x00" * 32, None)
    with pytest.raises(ContractsError) as info:
        sender._replay(pending, {"blockNumber": chain.w3.eth.block_number + 1,  # type: ignore[typeddict-item]
                                 "transactionHash": b"\x00" * 32})
    err = chain_error(info.value)
    assert err.type == "invalid_config"
    assert err.status == 400


def test_nonce_resumes_after_a_reorg_drops_a_mined_transaction(chain: Chain) -> None:
    """A mined transaction of ours vanishes with a reorg: the next send reuses its nonce instead
    of leaving a gap that would stall every later transaction."""
    key = SecretStr("0x" + keccak(text="service-reorg-signer").hex())
    account = Account.from_key(key)
    chain.w3.eth.send_transaction({"from": chain.owner, "to": account.address, "value": 10**18})
    sender = Sender(chain.w3, gas=200_000, timeout=5)
    sender.send(chain.token.functions.mint(account.address, 1), account)
    snapshot = chain.tester.take_snapshot()
    sender.send(chain.token.functions.mint(account.address, 2), account)
    chain.tester.revert_to_snapshot(snapshot)  # the second mint is gone, its nonce free again
    receipt = sender.send(chain.token.functions.mint(account.address, 4), account)
    assert receipt["status"] == 1
    assert chain.token.functions.balanceOf(account.address).call() == 5
