"""The one transaction sender (deploy, scripts, tests, the service, its worker, the transmitter).

A call is simulated first (a revert is decoded and raised without spending gas); nonces are
assigned here under a lock per account; gas is estimated or fixed; the transaction is signed
locally when the account has a key, else by the node. `broadcast` returns a `Pending` (nonce
assigned, signed bytes kept), `wait` its receipt — re-broadcasting the same bytes meanwhile,
checking the status, replaying a status-0 transaction as a call to name the revert — and `send`
is both. A `Pending` without a receipt may be re-broadcast and awaited again later: the same
bytes, never a second transaction while the first may still land. Failures: `ContractRevert`
and the sender's own in `contracts.errors`.

Pipelining: nonces are gap-free per account and assigned at broadcast, so any number of
transactions may be in flight (`Pipeline` keeps a bounded window of them and hands back their
receipts in order). While one waits for its receipt, a transaction the node no longer knows
(dropped from its pool) is re-broadcast at once; one still unmined after `stuck_after` seconds
is replaced by the same transaction, same nonce, with fees raised by at least 12.5 % (and at
least the node's current suggestion), so only one of its versions can ever be mined; the
receipt of whichever version was mined is checked. A nonce consumed by a transaction that is
none of our versions (another process on the account) raises `NonceTaken`: ours can never land,
its items may be sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account as EthAccount
from pydantic import SecretStr
from web3 import Web3
from web3.contract.contract import ContractConstructor
from web3.exceptions import MethodUnavailable, TimeExhausted, TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from contracts.calldata import Encoded
from contracts.errors import CallRejected, NonceTaken, NoReceipt, SendFailed, TransactionFailed
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


@dataclass
class Pending:
    """A broadcast transaction: `fn` and `account` to replay it, `raw` to re-broadcast it, `tx`
    (the full transaction: nonce, gas, fees) to replace it with higher fees. `hashes` holds every
    version broadcast (the first, then each replacement); `tx_hash` and `raw` are the latest."""

    fn: Any
    account: Account
    nonce: int
    tx_hash: bytes
    raw: bytes | None  # the signed bytes; None when the node signed
    tx: dict[str, Any] | None = None
    hashes: list[bytes] = field(default_factory=list)
    replacements: int = 0

    def __post_init__(self) -> None:
        if not self.hashes:
            self.hashes = [self.tx_hash]


def _encoded(fn: Any) -> Any:
    """A bound contract function with its calldata encoded once; a constructor as it is."""
    if isinstance(fn, ContractConstructor) or getattr(fn, "address", None) is None or not hasattr(fn, "arguments"):
        return fn
    return Encoded(fn)


def _revert(exc: BaseException) -> ContractRevert | None:
    return exc if isinstance(exc, ContractRevert) else decode_exception(exc)


ADMIT_WAIT = 10.0  # seconds a broadcast waits for room in the next block at most (`Sender._admit`)
ADMIT_POLL = 0.05
# Seconds between checks that a transaction awaited (and those behind it) is still known to the
# node: anvil loses some that arrive while it mines, and each check that finds one sends it again
# in time for the next block (at 1 s, they missed one block more).
CHECK_EVERY = 0.3


class Sender:
    """One per process (nonces are counted here): `gas` fixes every limit instead of estimating,
    `timeout` bounds a wait for a receipt, `every` is how often the bytes are re-broadcast."""

    def __init__(self, w3: Web3, *, gas: int | None = None, timeout: float = 120, every: float = 30,
                 stuck_after: float | None = 60, poll: float = 0.1, block_share: float | None = None) -> None:
        self.w3 = w3
        self.gas = gas
        self.timeout = timeout
        self.every = every
        self.stuck_after = stuck_after  # None: never replace
        # The share of a block's gas limit an account's unmined transactions may take (None: no
        # bound); a broadcast that would exceed it waits until enough of them are mined (`_admit`).
        self.block_share = block_share
        self._unmined: dict[str, dict[int, tuple[int, Pending]]] = {}  # nonce -> (gas it will use, tx)
        self._gates: dict[str, threading.Lock] = {}
        self._block_gas: int | None = None
        self.poll = poll
        self.replaced = 0
        self._locks: dict[str, threading.Lock] = {}
        self._nonces: dict[str, int] = {}
        self._in_flight: dict[str, set[int]] = {}  # nonces broadcast, receipt not yet awaited
        self._guard = threading.Lock()
        self.sent = 0
        self.pending_estimates = True  # False once the node refused an estimate on the pending block

    def _lock(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _gate(self, address: str) -> threading.Lock:
        with self._guard:
            return self._gates.setdefault(address, threading.Lock())

    def _admit(self, address: str, limit: int) -> None:
        """Waits until a transaction of gas limit `limit` fits in the next block beside the
        account's unmined ones (a block takes a transaction while the gas used before it plus
        its limit stays within the block's limit). A node that mines what is in its pool in turn
        gains nothing from more, and anvil (1 s interval mining) turns more into lost time: with
        a transaction left over when it mines a block, it loses the account's next ones and
        queues every later one behind them until each is sent again (`scripts/anvil_drops.py
        --burst 6`). Waits at most `ADMIT_WAIT` (a paused or stalled chain), then sends."""
        if self.block_share is None:
            return
        with self._guard:
            unmined = self._unmined.setdefault(address, {})
        if self._block_gas is None:
            self._block_gas = int(self.w3.eth.get_block("latest")["gasLimit"])
        budget = int(self._block_gas * self.block_share)

        def fits() -> bool:  # under the guard: other threads' waits remove what they saw mined
            with self._guard:
                return not unmined or sum(used for used, _ in unmined.values()) + limit <= budget

        start = last_check = time.monotonic()
        while not fits():
            mined = self.w3.eth.get_transaction_count(address, "latest")  # type: ignore[arg-type]
            with self._guard:
                for nonce in [n for n in unmined if n < mined]:
                    del unmined[nonce]
            if fits():
                return
            now = time.monotonic()
            if now - start >= ADMIT_WAIT:
                log.info("%s: %d transactions still unmined after %g s; sending another anyway",
                         address, len(unmined), ADMIT_WAIT)
                return
            if now - last_check >= CHECK_EVERY:  # those the node lost are sent again, as a pipeline's wait does
                last_check = now
                with self._guard:
                    lost = [p for _, p in unmined.values()]
                self._revive_quietly(lost)
            time.sleep(ADMIT_POLL)

    def send(self, fn: Any, account: Account, *, before_send: Callable[[int], None] | None = None) -> TxReceipt:
        """`fn` is a bound contract function (`c.functions.x(...)`) or a constructor;
        `before_send`: see `broadcast`."""
        return self.wait(self.broadcast(fn, account, before_send=before_send))

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

    def broadcast(self, fn: Any, account: Account, gas: int | None = None, *, simulated: bool = False,
                  before_send: Callable[[int], None] | None = None) -> Pending:
        """`gas`: the limit, when the caller estimated it already (see `limit`); `simulated`: that
        estimate was made on the pending block (`estimate`), so it was the simulation too.
        `before_send(nonce)`: called under the account's lock before each signing attempt (a
        write-ahead record of what the transaction carries); if it raises, nothing is sent."""
        try:
            call = _encoded(fn)  # encoded once: the simulation, the estimate and the signed bytes share it
        except (Web3Exception, ValueError, TypeError) as exc:
            raise CallRejected(f"call rejected: {describe(exc)}") from None
        address = account.address
        # Estimated before the account's lock, not under it: the estimate (an execution, or
        # several, on the node) needs no nonce, and under the lock it kept every other sender of
        # the account waiting — concurrent batch requests went out one estimate at a time.
        if gas is None and not self.gas and not isinstance(call, ContractConstructor) and self.pending_estimates:
            # The estimate runs on the pending block, as the simulation does, and raises the same
            # decoded revert: it is the simulation. A separate call first executed every settle and
            # issueBatch once more on the node (~0.1 s each of a 100-policy settle under load).
            raw = self._on_pending(call, address)
            estimated = None if raw is None else self.limit(raw)
        else:
            estimated = None
        if estimated is not None:
            gas = estimated
        elif not (simulated and gas is not None):
            self.simulate(call, account)
            if gas is None:
                try:
                    gas = self._gas(call, address)
                except Exception as exc:
                    revert = _revert(exc)
                    if revert is not None:
                        raise revert from None
                    raise SendFailed(f"could not send the transaction: {describe(exc)}") from None
        with self._gate(address):
            self._admit(address, gas)
            pending = self._send_once(fn, call, account, gas, before_send)
            if self.block_share is not None:
                used = self.used(gas) if simulated or estimated is not None else gas
                with self._guard:
                    self._unmined.setdefault(address, {})[pending.nonce] = (used, pending)
        return pending

    def _send_once(self, fn: Any, call: Any, account: Account, gas: int,
                   before_send: Callable[[int], None] | None = None) -> Pending:
        """Signs and sends with the account's next nonce (re-read and retried when another
        process took it); raises a decoded revert or `SendFailed`."""
        address = account.address
        with self._lock(address):
            for attempt in range(4):
                nonce = self._next_nonce(address)
                if before_send is not None:
                    before_send(nonce)  # outside the try: its own error, and the nonce stays unused
                params: dict[str, Any] = {"from": address, "nonce": nonce, "gas": gas}
                try:
                    pending = self._sign_and_send(call, account, params)
                    pending.fn = fn
                    break
                except Exception as exc:
                    self._nonces.pop(address, None)  # unknown whether it was used: re-read
                    revert = _revert(exc)
                    if revert is not None:
                        raise revert from None
                    if attempt < 3 and _nonce_clash(exc):
                        # Another process on this account took the nonce first: the node counts it now.
                        log.info("%s: nonce %d was taken meanwhile (%s); re-reading", address, nonce, describe(exc))
                        self.simulate(call, account)  # that transaction may have been this one's twin
                        continue
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

    def estimate(self, fn: Any, account: Account) -> tuple[int, bool]:
        """`fn`'s gas estimate (without `limit`'s margin) and whether it was made on the pending
        block — then it was the simulation, and `broadcast(..., simulated=True)` skips its own.
        Raises the decoded revert, or `SendFailed`."""
        call = _encoded(fn)
        raw = self._on_pending(call, account.address) if self.pending_estimates else None
        if raw is not None:
            return raw, True
        try:
            return int(call.estimate_gas({"from": account.address})), False
        except Exception as exc:
            raise _estimate_error(exc) from None

    def _on_pending(self, call: Any, address: str) -> int | None:
        """`call`'s gas estimate on the pending block; raises its decoded revert or `SendFailed`.
        None from a node that estimates on no pending block (eth-tester): the caller simulates."""
        try:
            return int(call.estimate_gas({"from": address}, "pending"))
        except MethodUnavailable:
            self.pending_estimates = False
            return None
        except Exception as exc:
            raise _estimate_error(exc) from None

    def _gas(self, fn: Any, address: str) -> int:
        if self.gas and not isinstance(fn, ContractConstructor):  # a constructor's estimate runs it
            return self.gas
        return self.limit(int(fn.estimate_gas({"from": address})))

    @staticmethod
    def limit(estimate: int) -> int:
        """The gas limit sent for an estimate: the margin absorbs state that moves between the
        estimate and the block."""
        return int(estimate * 1.2) + 10_000

    @staticmethod
    def used(limit: int) -> int:
        """The estimate a `limit` was made from: the gas the transaction is expected to use."""
        return max(21_000, (limit - 10_000) * 5 // 6)

    def _sign_and_send(self, fn: Any, account: Account, params: dict[str, Any]) -> Pending:
        tx = dict(fn.build_transaction(params))
        tx_hash, raw = self._send_tx(tx, account)
        return Pending(fn, account, params["nonce"], tx_hash, raw, tx)

    def _send_tx(self, tx: dict[str, Any], account: Account) -> tuple[bytes, bytes | None]:
        if account.key is None:
            return bytes(self.w3.eth.send_transaction(tx)), None  # type: ignore[arg-type]
        raw = bytes(EthAccount.sign_transaction(tx, account.key.get_secret_value()).raw_transaction)
        return bytes(self.w3.eth.send_raw_transaction(raw)), raw

    def replace(self, pending: Pending) -> bool:
        """Replaces a stuck `pending` by the same transaction with higher fees (same nonce): at
        least +12.5 % (what nodes require of a replacement) and at least what the node suggests
        now. Every version is kept in `pending.hashes`; only one can be mined. False when the
        node refused the replacement (the first version may have just been mined)."""
        if pending.tx is None:
            return False
        tx = dict(pending.tx)
        if "gasPrice" in tx:
            tx["gasPrice"] = max(_bump(tx["gasPrice"]), int(self.w3.eth.gas_price))
        else:
            base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
            tip = max(_bump(tx["maxPriorityFeePerGas"]), int(self.w3.eth.max_priority_fee))
            tx["maxPriorityFeePerGas"] = tip
            tx["maxFeePerGas"] = max(_bump(tx["maxFeePerGas"]), 2 * base + tip)
        try:
            tx_hash, raw = self._send_tx(tx, pending.account)
        except Exception as exc:
            log.info("replacement of 0x%s refused: %s", pending.tx_hash.hex(), describe(exc))
            return False
        log.warning("%s: transaction 0x%s (nonce %d) was stuck; replaced by 0x%s with higher fees",
                    pending.account.address, pending.tx_hash.hex(), pending.nonce, tx_hash.hex())
        pending.tx, pending.tx_hash, pending.raw = tx, tx_hash, raw
        pending.hashes.append(tx_hash)
        pending.replacements += 1
        self.replaced += 1
        return True

    def rebroadcast(self, pending: Pending) -> None:
        """The same signed bytes again (a node-signed one: the same transaction, which the node
        signs to the same bytes): it cannot double-send. A refusal ("already known", or "nonce
        too low" once mined) is expected; the receipt tells what happened."""
        self._rebroadcast(pending)

    def _rebroadcast(self, pending: Pending) -> Exception | None:
        """The node's refusal, if any."""
        try:
            if pending.raw is not None:
                self.w3.eth.send_raw_transaction(pending.raw)
            elif pending.tx is not None:
                self.w3.eth.send_transaction(pending.tx)  # type: ignore[arg-type]
        except Exception as exc:
            log.info("rebroadcast of 0x%s: %s", pending.tx_hash.hex(), describe(exc))
            return exc
        return None

    def wait(self, pending: Pending, alongside: Iterable[Pending] = ()) -> TxReceipt:
        """The receipt, or `NoReceipt` after `timeout`; raises on status 0. `alongside`: later
        transactions of a pipeline, brought back (`revive`) whenever this one is checked."""
        try:
            receipt = self._receipt(pending, list(alongside))
            with self._guard:
                self._unmined.get(pending.account.address, {}).pop(pending.nonce, None)
        finally:
            with self._lock(pending.account.address):
                self._in_flight.get(pending.account.address, set()).discard(pending.nonce)
        if receipt["status"] != 1:
            self._replay(pending, receipt)
        return receipt

    def _mined(self, pending: Pending) -> TxReceipt | None:
        for h in reversed(pending.hashes):
            try:
                receipt = self.w3.eth.get_transaction_receipt(h)  # type: ignore[arg-type]
            except (TransactionNotFound, TimeExhausted):
                continue
            if receipt is not None and receipt.get("blockNumber") is not None:
                return receipt
        return None

    def _known(self, pending: Pending) -> bool:
        try:
            return self.w3.eth.get_transaction(pending.tx_hash) is not None  # type: ignore[arg-type]
        except TransactionNotFound:
            return False

    def revive(self, pendings: Iterable[Pending]) -> int:
        """Re-broadcasts, at once, each of `pendings` that the node no longer knows (dropped from
        its pool, not mined): the same bytes, or higher fees if the node now refuses them as
        underpriced. A pipeline's wait calls it for the transactions behind the one awaited: each
        was noticed only once awaited before, so transactions dropped together came back a block
        or two apart. anvil (1 s blocks) drops a transaction that arrives while it mines, and every
        later one of the account behind the gap: 3,000 payouts took 19 s where 5 do.
        Returns how many were sent again."""
        revived = 0
        for pending in pendings:
            if not self._known(pending):
                self._bring_back(pending)
                revived += 1
        return revived

    def _bring_back(self, pending: Pending) -> bool:
        """A transaction the node dropped from its pool, sent again: the same bytes, or higher
        fees when the node refuses those as underpriced (evicted for its fees). True unless the
        node refused it otherwise (e.g. "nonce too low": mined meanwhile, or its nonce taken)."""
        log.warning("0x%s is no longer in the node's pool; re-broadcasting it", pending.tx_hash.hex())
        refused = self._rebroadcast(pending)
        if refused is not None and _underpriced(refused):
            self.replace(pending)
        return refused is None or _underpriced(refused)

    def _revive_quietly(self, pendings: list[Pending]) -> None:
        try:
            self.revive(pendings)
        except Exception as exc:  # a node that cannot answer now: each is checked when awaited
            log.info("checking the transactions in flight failed: %s", describe(exc))

    def _receipt(self, pending: Pending, alongside: list[Pending]) -> TxReceipt:
        start = time.monotonic()
        deadline = start + self.timeout
        last_sent = since = start
        last_check = start - 1.0  # the first pass checks at once: a dropped transaction waits no longer
        address = pending.account.address
        while True:
            receipt = self._mined(pending)
            if receipt is not None:
                return receipt
            now = time.monotonic()
            if now - last_check >= min(CHECK_EVERY, self.every):
                last_check = now
                if self.w3.eth.get_transaction_count(address, "latest") > pending.nonce:  # type: ignore[arg-type]
                    receipt = self._mined(pending)  # mined between the two reads?
                    if receipt is not None:
                        return receipt
                    raise NonceTaken(f"nonce {pending.nonce} of {address} was used by another transaction; "
                                     f"0x{pending.tx_hash.hex()} can never be mined")
                if not self._known(pending):  # dropped from the pool: sent again now
                    last_sent = now
                    if self._bring_back(pending):
                        since = now  # stuck counts from when the node took it again
                if alongside:
                    self._revive_quietly(alongside)
            if now >= deadline:
                raise NoReceipt(f"no receipt for 0x{pending.tx_hash.hex()} within {self.timeout:g} s")
            if self.stuck_after is not None and now - since >= self.stuck_after:
                since = now
                if self.replace(pending):
                    last_sent = now
            if now - last_sent >= self.every:
                last_sent = now
                self.rebroadcast(pending)
            time.sleep(self.poll)

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


def _estimate_error(exc: BaseException) -> Exception:
    revert = _revert(exc)
    return revert if revert is not None else SendFailed(f"could not send the transaction: {describe(exc)}")


def _bump(fee: int) -> int:
    return int(fee) * 9 // 8 + 1


_CLASHES = ("nonce too low", "already known", "replacement transaction underpriced", "nonce has already been used")


_UNDERPRICED = ("base fee", "underpriced", "fee too low", "fee cap")


def _underpriced(exc: BaseException) -> bool:
    return any(c in str(exc).lower() for c in _UNDERPRICED)


def _nonce_clash(exc: BaseException) -> bool:
    return any(c in str(exc).lower() for c in _CLASHES)


class Pipeline:
    """A bounded window of transactions in flight from one sender: `submit` broadcasts (after
    waiting for the oldest when `depth` are in flight), and the receipts come back in the order
    sent, each with the tag given to `submit`, through `on_receipt` / `on_error` (a failed
    transaction does not stop the later ones: their nonces were already used). `depth` may be
    changed between submits (e.g. sized to fill blocks once a transaction's gas is known)."""

    def __init__(self, sender: Sender, depth: int,
                 on_receipt: Callable[[Any, TxReceipt], None],
                 on_error: Callable[[Any, Exception], None]) -> None:
        self.sender = sender
        self.depth = max(1, depth)
        self.on_receipt = on_receipt
        self.on_error = on_error
        self.window: deque[tuple[Any, Pending]] = deque()

    def __len__(self) -> int:
        return len(self.window)

    def submit(self, fn: Any, account: Account, tag: Any, gas: int | None = None, *,
               simulated: bool = False, before_send: Callable[[int], None] | None = None) -> Pending:
        """Raises what `broadcast` raises (nothing was sent then)."""
        while len(self.window) >= self.depth:
            self.land()
        pending = self.sender.broadcast(fn, account, gas, simulated=simulated, before_send=before_send)
        self.window.append((tag, pending))
        return pending

    def land(self) -> None:
        """Waits for the oldest transaction in flight. Meanwhile (at each of its checks, every
        `CHECK_EVERY` seconds) the younger ones the node dropped are brought back (`Sender.revive`), so
        they are mined in the next block, not each a block or two after it is awaited."""
        tag, pending = self.window.popleft()
        try:
            receipt = self.sender.wait(pending, [p for _, p in self.window])
        except Exception as exc:
            self.on_error(tag, exc)
        else:
            self.on_receipt(tag, receipt)

    def drain(self) -> None:
        while self.window:
            self.land()

    def in_flight(self) -> Iterator[Pending]:
        return (p for _, p in self.window)


def send(w3: Web3, fn: Any, sender: str, *, gas: int | None = None) -> TxReceipt:
    """One transaction from an account the node holds: deploy, the scripts, the tests."""
    return Sender(w3, gas=gas).send(fn, Account(sender))
