"""The one transaction sender (deploy, scripts, tests, the service, its worker, the transmitter).

A call is simulated first (a revert is decoded and raised without spending gas); nonces are
assigned here under a lock per account; gas is estimated or fixed; the transaction is signed
locally when the account has a key, else by the node. `broadcast` returns a `Pending` (nonce
assigned, signed bytes kept), `wait` its receipt — re-broadcasting the same bytes meanwhile,
checking the status, replaying a status-0 transaction as a call to name the revert — and `send`
is both. A `Pending` without a receipt may be re-broadcast and awaited again later: the same
bytes, never a second transaction while the first may still land. Failures: `ContractRevert`
and the sender's own in `contracts.errors`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account as EthAccount
from pydantic import SecretStr
from web3 import Web3
from web3.contract.contract import ContractConstructor
from web3.exceptions import TimeExhausted, Web3Exception
from web3.types import TxReceipt

from contracts.errors import CallRejected, NoReceipt, SendFailed, TransactionFailed
from contracts.redact import describe
from contracts.reverts import ContractRevert, decode_exception

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    address: str
    key: SecretStr | None = None  # None: the node holds the key (eth-tester, anvil)

    @classmethod
    def from_key(cls, key: SecretStr) -> Account:
        return cls(EthAccount.from_key(key.get_secret_value()).address, key)


@dataclass(frozen=True)
class Pending:
    """A broadcast transaction: `fn` and `account` to replay it, `raw` to re-broadcast it."""

    fn: Any
    account: Account
    nonce: int
    tx_hash: bytes
    raw: bytes | None  # the signed bytes; None when the node signed


def _revert(exc: BaseException) -> ContractRevert | None:
    return exc if isinstance(exc, ContractRevert) else decode_exception(exc)


class Sender:
    """One per process (nonces are counted here): `gas` fixes every limit instead of estimating,
    `timeout` bounds a wait for a receipt, `every` is how often the bytes are re-broadcast."""

    def __init__(self, w3: Web3, *, gas: int | None = None, timeout: float = 120, every: float = 30) -> None:
        self.w3 = w3
        self.gas = gas
        self.timeout = timeout
        self.every = every
        self._locks: dict[str, threading.Lock] = {}
        self._nonces: dict[str, int] = {}
        self._in_flight: dict[str, set[int]] = {}  # nonces broadcast, receipt not yet awaited
        self._guard = threading.Lock()
        self.sent = 0

    def _lock(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def send(self, fn: Any, account: Account) -> TxReceipt:
        """`fn` is a bound contract function (`c.functions.x(...)`) or a constructor."""
        return self.wait(self.broadcast(fn, account))

    def simulate(self, fn: Any, account: Account) -> None:
        """Runs `fn` on the pending block (the next block's time; after our transactions still in
        the pool); raises its decoded revert. A constructor cannot be called: its gas estimate,
        always made, runs it instead."""
        if isinstance(fn, ContractConstructor):
            return
        try:
            fn.call({"from": account.address}, block_identifier="pending")
        except Exception as exc:
            revert = _revert(exc)
            if revert is not None:
                raise revert from None
            if isinstance(exc, Web3Exception | ValueError | TypeError):
                raise CallRejected(f"call rejected: {describe(exc)}") from None
            raise

    def broadcast(self, fn: Any, account: Account) -> Pending:
        self.simulate(fn, account)
        address = account.address
        with self._lock(address):
            nonce = self._next_nonce(address)
            params: dict[str, Any] = {"from": address, "nonce": nonce}
            try:
                params["gas"] = self._gas(fn, address)
                pending = self._sign_and_send(fn, account, params)
            except Exception as exc:
                self._nonces.pop(address, None)  # unknown whether it was used: re-read
                revert = _revert(exc)
                if revert is not None:
                    raise revert from None
                raise SendFailed(f"could not send the transaction: {describe(exc)}") from None
            self._nonces[address] = nonce + 1
            self._in_flight.setdefault(address, set()).add(nonce)
            self.sent += 1
        return pending

    def _next_nonce(self, address: str) -> int:
        # The larger of our own count and the node's pending count: our sends may not be in the
        # node's pool yet, and another tool may have used the account meanwhile.
        pending = self.w3.eth.get_transaction_count(address, "pending")  # type: ignore[arg-type]
        ours = self._nonces.get(address, 0)
        if ours > pending and not self._in_flight.get(address):
            # Every send had its receipt, yet the node counts fewer: a reorganisation dropped
            # mined transactions. Their nonces are free again; reusing ours would leave a gap.
            log.warning("%s: the node counts %d transactions but we used nonces up to %d (a reorg "
                        "dropped some); resuming at %d", address, pending, ours - 1, pending)
            ours = pending
        return max(ours, pending)

    def _gas(self, fn: Any, address: str) -> int:
        if self.gas and not isinstance(fn, ContractConstructor):  # a constructor's estimate runs it
            return self.gas
        return int(fn.estimate_gas({"from": address}) * 1.2) + 10_000

    def _sign_and_send(self, fn: Any, account: Account, params: dict[str, Any]) -> Pending:
        if account.key is None:
            return Pending(fn, account, params["nonce"], bytes(fn.transact(params)), None)
        signed = EthAccount.sign_transaction(fn.build_transaction(params), account.key.get_secret_value())
        raw = bytes(signed.raw_transaction)
        return Pending(fn, account, params["nonce"], bytes(self.w3.eth.send_raw_transaction(raw)), raw)

    def rebroadcast(self, pending: Pending) -> None:
        """The same signed bytes again: it cannot double-send. A refusal ("already known", or
        "nonce too low" once mined) is expected; the receipt tells what happened."""
        if pending.raw is None:
            return
        try:
            self.w3.eth.send_raw_transaction(pending.raw)
        except Exception as exc:
            log.info("rebroadcast of 0x%s: %s", pending.tx_hash.hex(), describe(exc))

    def wait(self, pending: Pending) -> TxReceipt:
        """The receipt, or `NoReceipt` after `timeout`; raises on status 0."""
        try:
            receipt = self._receipt(pending)
        finally:
            with self._lock(pending.account.address):
                self._in_flight.get(pending.account.address, set()).discard(pending.nonce)
        if receipt["status"] != 1:
            self._replay(pending, receipt)
        return receipt

    def _receipt(self, pending: Pending) -> TxReceipt:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.w3.eth.wait_for_transaction_receipt(pending.tx_hash, timeout=min(self.every, self.timeout))
            except TimeExhausted:
                if time.monotonic() >= deadline:
                    raise NoReceipt(f"no receipt for 0x{pending.tx_hash.hex()} within {self.timeout:g} s") from None
                self.rebroadcast(pending)

    def _replay(self, pending: Pending, receipt: TxReceipt) -> None:
        """Mined with status 0: replayed as a call to name the revert, on the state it started
        from if first in its block, then on its block's (an earlier transaction in the block, say
        another transmitter's covering the same window, may be what refused it)."""
        if not isinstance(pending.fn, ContractConstructor):
            for block in (receipt["blockNumber"] - 1, receipt["blockNumber"]):
                try:
                    pending.fn.call({"from": pending.account.address}, block_identifier=block)
                except Exception as exc:
                    revert = _revert(exc)
                    if revert is not None:
                        raise revert from None
        raise TransactionFailed(f"transaction 0x{bytes(receipt['transactionHash']).hex()} reverted (status 0)")


def send(w3: Web3, fn: Any, sender: str, *, gas: int | None = None) -> TxReceipt:
    """One transaction from an account the node holds: deploy, the scripts, the tests."""
    return Sender(w3, gas=gas).send(fn, Account(sender))
