"""The one transaction sender of a process.

Simulates every call first (a revert is decoded and raised without spending gas), assigns
nonces itself under a lock per account, estimates gas (or uses a fixed limit), signs locally
when the account has a private key, waits for the receipt and raises on `status == 0`. The
only retry is re-broadcasting the same signed bytes while waiting for a receipt.

Failures are typed for callers that must tell them apart: a decoded revert (the revert table's
type, 4xx), `reverted` (mined with status 0, reason unknown), `send_failed` (not broadcast) and
`no_receipt` (broadcast, outcome unknown: it may still be mined, so do not send it again).
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
from web3.exceptions import TimeExhausted, Web3Exception
from web3.types import TxReceipt

from contracts.redact import describe
from contracts.reverts import ContractRevert, decode_exception
from service.chain.reverts import revert_error
from service.errors import ChainError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    address: str
    key: SecretStr | None = None  # None: the node holds the key (eth-tester, anvil)

    @classmethod
    def from_key(cls, key: SecretStr) -> Account:
        return cls(EthAccount.from_key(key.get_secret_value()).address, key)


def _decoded(exc: BaseException) -> ChainError | None:
    if isinstance(exc, ContractRevert):
        return revert_error(exc)
    revert = decode_exception(exc)
    return revert_error(revert) if revert is not None else None


class Sender:
    def __init__(self, w3: Web3, *, gas: int | None = None, timeout: float = 120, rebroadcast: float = 30) -> None:
        self.w3 = w3
        self.gas = gas
        self.timeout = timeout
        self.rebroadcast = rebroadcast
        self._locks: dict[str, threading.Lock] = {}
        self._nonces: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}  # broadcast, receipt not yet seen
        self._guard = threading.Lock()
        self.sent = 0

    def _lock(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def simulate(self, fn: Any, account: Account) -> Any:
        """eth_call on the latest state; raises the decoded revert as a typed error."""
        try:
            return fn.call({"from": account.address})
        except Exception as exc:
            err = _decoded(exc)
            if err is not None:
                raise err from None
            if isinstance(exc, Web3Exception | ValueError | TypeError):
                raise ChainError(f"call rejected: {describe(exc)}", status=400, type="bad_call") from None
            raise

    def send(self, fn: Any, account: Account) -> TxReceipt:
        self.simulate(fn, account)
        with self._lock(account.address):
            # The larger of our own count and the node's pending count: our sends may not be in
            # the node's pool yet, and another tool may have used the account meanwhile.
            pending = self.w3.eth.get_transaction_count(account.address, "pending")  # type: ignore[arg-type]
            ours = self._nonces.get(account.address, 0)
            if ours > pending and not self._in_flight.get(account.address):
                # Every send had its receipt, yet the node counts fewer: a reorganisation dropped
                # mined transactions. Their nonces are free again; reusing ours would leave a gap.
                log.warning("%s: the node counts %d transactions but we used nonces up to %d (a reorg "
                            "dropped some); resuming at %d", account.address, pending, ours - 1, pending)
                ours = pending
            nonce = max(ours, pending)
            params: dict[str, Any] = {"from": account.address, "nonce": nonce}
            try:
                params["gas"] = self.gas or int(fn.estimate_gas({"from": account.address}) * 1.2) + 10_000
                tx_hash, raw = self._broadcast(fn, account, params)
            except Exception as exc:
                self._nonces.pop(account.address, None)  # unknown whether it was used: re-read
                err = _decoded(exc)
                if err is not None:
                    raise err from None
                raise ChainError(f"could not send the transaction: {describe(exc)}", type="send_failed") from None
            self._nonces[account.address] = nonce + 1
            self._in_flight[account.address] = self._in_flight.get(account.address, 0) + 1
            self.sent += 1
        try:
            receipt = self._wait(tx_hash, raw)
        finally:
            with self._lock(account.address):
                self._in_flight[account.address] -= 1
        if receipt["status"] != 1:
            self._replay(fn, account, receipt)
        return receipt

    def _broadcast(self, fn: Any, account: Account, params: dict[str, Any]) -> tuple[bytes, bytes | None]:
        if account.key is None:
            return bytes(fn.transact(params)), None
        tx = fn.build_transaction(params)
        signed = EthAccount.sign_transaction(tx, account.key.get_secret_value())
        return bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)), bytes(signed.raw_transaction)

    def _wait(self, tx_hash: bytes, raw: bytes | None) -> TxReceipt:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=min(self.rebroadcast, self.timeout))
            except TimeExhausted:
                if time.monotonic() >= deadline:
                    raise ChainError(f"no receipt for {tx_hash.hex()} within {self.timeout:.0f}s",
                                     type="no_receipt") from None
                if raw is not None:  # the same signed bytes: cannot double-send
                    try:
                        self.w3.eth.send_raw_transaction(raw)
                    except Exception as exc:  # "already known" and friends
                        log.info("rebroadcast of %s: %s", tx_hash.hex(), describe(exc))

    def _replay(self, fn: Any, account: Account, receipt: TxReceipt) -> None:
        """Mined with status 0: replay as a call on the parent state to name the revert."""
        try:
            fn.call({"from": account.address}, block_identifier=receipt["blockNumber"] - 1)
        except Exception as exc:
            err = _decoded(exc)
            if err is not None:
                raise err from None
        raise ChainError(f"transaction {receipt['transactionHash'].hex()} reverted", type="reverted")
