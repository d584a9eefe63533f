"""The encode-once fast path (`contracts.calldata`) gives exactly web3's own calldata and
transaction, and the sender signs those bytes: the fast path cannot drift from web3."""

from __future__ import annotations

from typing import Any

import eth_utils
import pytest
from eth_account import Account as EthAccount
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from contracts.calldata import Calls, Encoded, calldata
from contracts.eip55 import is_checksum_address
from contracts.errors import CallRejected
from contracts.sender import Account, Sender
from tests.chain import Ledger


def _uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, 2**bits - 1) | st.sampled_from([0, 2**bits - 1])


BYTES32 = st.binary(min_size=32, max_size=32)
ADDRESS = st.binary(min_size=20, max_size=20).map(to_checksum_address)
# IPolicyBook.PolicyTerms: (uint32, uint40, uint40, uint96, uint96, address, bytes32 x4)
TERMS = st.tuples(_uint(32), _uint(40), _uint(40), _uint(96), _uint(96), ADDRESS, BYTES32, BYTES32, BYTES32, BYTES32)


def _web3_data(fn: Any) -> str:
    return fn._encode_transaction_data()  # noqa: SLF001 - the reference encoding


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(TERMS, min_size=1, max_size=12))
def test_issue_batch_calldata_is_web3s(ledger: Ledger, batch: list[tuple[Any, ...]]) -> None:
    for fn in (ledger.book.functions.issueBatch(batch), ledger.book.functions.issue(batch[0])):
        assert calldata(fn) == _web3_data(fn)


@given(raw=st.binary(min_size=20, max_size=20), flips=st.sets(st.integers(2, 41), max_size=3),
       case=st.sampled_from(["checksum", "lower", "upper"]))
def test_the_checksum_check_is_eth_utils(raw: bytes, flips: set[int], case: str) -> None:
    a = to_checksum_address(raw)
    a = {"checksum": a, "lower": a.lower(), "upper": "0x" + a[2:].upper()}[case]
    a = "".join(c.swapcase() if i in flips else c for i, c in enumerate(a))
    assert is_checksum_address(a) == eth_utils.is_checksum_address(a)


# IPolicyBook.Policy: (uint32, uint40, uint40, uint96, address, address, bytes32 x4, uint96, uint64,
# uint64, uint96, uint96, uint64, uint96, uint8)
RECORD = st.tuples(_uint(32), _uint(40), _uint(40), _uint(96), ADDRESS, ADDRESS, BYTES32, BYTES32, BYTES32, BYTES32,
                   _uint(96), _uint(64), _uint(64), _uint(96), _uint(96), _uint(64), _uint(96), _uint(8))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=RECORD, lower=st.booleans())
def test_calls_encode_as_web3_and_decode_as_its_call(ledger: Ledger, record: tuple[Any, ...], lower: bool) -> None:
    if lower:  # a non-checksummed address: web3's encoder decides, as for `calldata`
        record = (*record[:4], record[4].lower(), *record[5:])
    calls = Calls(ledger.book, "entitlementOf")
    try:
        expected: Any = _web3_data(ledger.book.functions.entitlementOf(record))
    except Exception as exc:  # noqa: BLE001
        expected = type(exc)
    try:
        got: Any = calls.tx(record)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    if isinstance(got, dict):
        assert got == {"to": ledger.book.address, "data": expected}
    else:
        assert got == expected
    value = record[3]  # any uint96: decoded as web3 decodes the function's return value
    returned = value.to_bytes(32, "big")
    assert calls.result(returned) == ledger.book.w3.codec.decode(["uint96"], returned)[0] == value


def test_other_sent_functions_match(ledger: Ledger) -> None:
    t = ledger.token.functions
    for fn in (t.mint(ledger.a.owner, 7), t.approve(ledger.a.owner, 2**256 - 1),
               ledger.book.functions.issueBatch([(1, 0, 2, 3, 4, ledger.a.owner, *[keccak(text="x")] * 4)] * 500)):
        assert calldata(fn) == _web3_data(fn)


def test_what_the_strict_encoder_refuses_is_web3s_to_decide(ledger: Ledger) -> None:
    lower = ledger.a.owner.lower()
    fn = ledger.token.functions.mint(lower, 7)  # web3 decides on a non-checksummed address
    try:
        expected: Any = _web3_data(fn)
    except Exception as exc:  # noqa: BLE001
        expected = type(exc)
    try:
        got: Any = calldata(fn)
    except Exception as exc:  # noqa: BLE001
        got = type(exc)
    assert got == expected


def test_the_transaction_is_web3s(ledger: Ledger) -> None:
    fn = ledger.token.functions.mint(ledger.a.owner, 7)
    params = {"from": ledger.a.owner, "nonce": 3, "gas": 100_000}
    assert Encoded(fn).build_transaction(params) == dict(fn.build_transaction(params))
    assert Encoded(fn).estimate_gas({"from": ledger.a.owner}) == fn.estimate_gas({"from": ledger.a.owner})


def test_the_sender_signs_web3s_calldata(ledger: Ledger) -> None:
    account = Account.from_key(SecretStr("0x" + keccak(text="contracts-calldata-test").hex()))
    ledger.w3.eth.send_transaction({"from": ledger.a.owner, "to": account.address, "value": 10**18})
    fn = ledger.token.functions.mint(account.address, 11)
    pending = Sender(ledger.w3).broadcast(fn, account)
    assert pending.fn is fn and pending.raw is not None
    assert pending.tx is not None and pending.tx["data"] == _web3_data(fn)
    # Fees come from the node at build time (the base fee has moved since): fixed to the sent ones.
    fixed = {k: v for k, v in pending.tx.items() if k not in ("to", "data", "value", "chainId")}
    signed = EthAccount.sign_transaction(dict(fn.build_transaction(fixed)),
                                         account.key.get_secret_value())  # type: ignore[union-attr]
    assert bytes(signed.raw_transaction) == pending.raw  # the very bytes web3's own path signs
    assert ledger.w3.eth.get_transaction_receipt(pending.tx_hash)["status"] == 1


def test_an_unencodable_call_is_rejected_before_sending(ledger: Ledger) -> None:
    fn = ledger.token.functions.mint(ledger.a.owner, 7)
    fn.arguments = (ledger.a.owner, "seven")  # past web3's own check: both encoders refuse it
    with pytest.raises(CallRejected):
        Sender(ledger.w3).broadcast(fn, Account(ledger.a.owner))
