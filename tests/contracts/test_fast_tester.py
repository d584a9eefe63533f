"""The tests' faster eth-tester (tests/chain.py: indexed transaction lookups, cached block logs)
answers exactly as eth-tester's own code does, across snapshot reverts, re-sent transactions and
re-mined heights: the receipts, transactions and logs of both are compared on one chain."""

from __future__ import annotations

from typing import Any

import pytest
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import PyEVMBackend
from eth_tester.exceptions import BlockNotFound, TransactionNotFound
from web3 import Web3

from tests.chain import TEST_GAS, CachingEthereumTester, IndexedPyEVMBackend, fast_w3


def _same_answers(tester: CachingEthereumTester, hashes: list[str]) -> None:
    backend = tester.backend
    assert isinstance(backend, IndexedPyEVMBackend)
    for h in hashes:
        raw = tester.normalizer.normalize_inbound_transaction_hash(h)
        for fast, slow in ((backend.get_transaction_receipt, PyEVMBackend.get_transaction_receipt),
                           (backend.get_transaction_by_hash, PyEVMBackend.get_transaction_by_hash)):
            try:
                expected: Any = slow(backend, raw)
            except TransactionNotFound:
                with pytest.raises(TransactionNotFound):
                    fast(raw)
            else:
                assert fast(raw) == expected
    latest = tester.get_block_by_number("latest")["number"]
    for kw in ({"from_block": 0}, {"from_block": 0, "to_block": "latest"}, {"from_block": max(0, latest - 3)},
               {}, {"from_block": 1, "to_block": latest - 1}, {"from_block": 0, "topics": [None]}):
        assert tester.get_logs(**kw) == EthereumTester.get_logs(tester, **kw)
    with pytest.raises(BlockNotFound):
        tester.get_logs(from_block=0, to_block=latest + 5)
    with pytest.raises(BlockNotFound):
        EthereumTester.get_logs(tester, from_block=0, to_block=latest + 5)


def _emit(w3: Web3, token: Any, who: str, amount: int) -> str:
    return w3.eth.send_transaction({"from": who, "to": token.address, "gas": TEST_GAS,
                                    "data": token.encode_abi("mint", [who, amount])}).to_0x_hex()


def test_fast_tester_answers_as_eth_tester_does_across_reverts() -> None:
    from contracts import artifacts

    w3 = fast_w3()
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    a, b = w3.eth.accounts[:2]
    receipt = w3.eth.wait_for_transaction_receipt(
        artifacts.contract(w3, "TestToken").constructor("T", "T", 6).transact({"from": a, "gas": TEST_GAS}))  # type: ignore[union-attr]
    token = artifacts.contract(w3, "TestToken", receipt["contractAddress"])
    hashes = [_emit(w3, token, a, n) for n in range(1, 4)]
    tester.mine_blocks(2)
    _same_answers(tester, hashes)

    snap = tester.take_snapshot()
    orphaned = [_emit(w3, token, b, n) for n in range(10, 13)]
    _same_answers(tester, hashes + orphaned)  # cached while canonical ...
    tester.revert_to_snapshot(snap)
    _same_answers(tester, hashes + orphaned)  # ... and gone once reverted
    # The same heights re-mined with other transactions, then one identical to an orphaned one
    # (same sender, nonce and data: the same hash) mined again at another height.
    again = [_emit(w3, token, a, n) for n in range(20, 22)]
    tester.mine_blocks(1)
    resent = _emit(w3, token, b, 10)
    assert resent == orphaned[0]
    _same_answers(tester, hashes + orphaned + again)

    # A revert to a snapshot on the orphaned branch makes it canonical again.
    snap2 = tester.take_snapshot()
    branch = [_emit(w3, token, a, n) for n in range(30, 32)]
    snap3 = tester.take_snapshot()
    tester.revert_to_snapshot(snap2)
    other = [_emit(w3, token, b, n) for n in range(40, 43)]
    _same_answers(tester, hashes + orphaned + again + branch + other)
    tester.revert_to_snapshot(snap3)
    _same_answers(tester, hashes + orphaned + again + branch + other)

    # A transaction still waiting for its block.
    tester.disable_auto_mine_transactions()
    pending = _emit(w3, token, a, 99)
    _same_answers(tester, hashes + [pending])
    tester.enable_auto_mine_transactions()
    _same_answers(tester, hashes + [pending])
