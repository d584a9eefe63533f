"""Direct submission over JSON-RPC with the transmitter's own transaction key.

The ABI comes from the committed artifact and reverts are decoded by `contracts.reverts`, the
chain code shared with the service. web3's synchronous API runs in a worker thread, so the same
code drives an HTTP node in production and `EthereumTesterProvider` in tests. Submissions are
serialised (one nonce sequence). Nothing is retried blindly: a transaction whose receipt did not
arrive in time is remembered and re-broadcast as the *same signed bytes* on the next attempt,
never re-signed with a new nonce while the first may still land. Which reverts are final is
decided in `refusals`; every other one raises a retryable `SubmissionError`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted

from contracts.artifacts import abi as artifact_abi
from contracts.redact import describe
from contracts.reverts import decode_exception

from ..errors import SubmissionError, SubmissionRejected
from .refusals import ALREADY_COVERED, is_permanent
from .submitters import Submission, SubmitResult, SubmitStatus


def _revert_name(exc: BaseException) -> str | None:
    decoded = decode_exception(exc)
    return decoded.name if decoded is not None else None


class RpcSubmitter:
    def __init__(self, w3: Web3, oracle_address: str, account: LocalAccount, *,
                 receipt_timeout: float = 120.0, gas_margin: float = 1.25,
                 abi: list[dict[str, Any]] | None = None) -> None:
        self._w3 = w3
        self._contract = w3.eth.contract(address=to_checksum_address(oracle_address),
                                         abi=abi if abi is not None else artifact_abi(
                                             "OutageOracle"))
        self._account = account
        self._receipt_timeout = receipt_timeout
        self._gas_margin = gas_margin
        self._lock = threading.Lock()
        self._unconfirmed: dict[bytes, bytes] = {}  # calldata hash → signed raw transaction

    @classmethod
    def from_url(cls, rpc_url: str, oracle_address: str, account: LocalAccount,
                 **kwargs: Any) -> RpcSubmitter:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
        return cls(w3, oracle_address, account, **kwargs)

    @property
    def address(self) -> str:
        return str(self._account.address)

    async def submit(self, submission: Submission) -> SubmitResult:
        try:
            return await asyncio.to_thread(self._submit, submission)
        except SubmissionError:
            raise
        except Exception as exc:  # transport errors from the provider
            raise SubmissionError(f"rpc: {describe(exc)}") from None

    async def oracle_config(self) -> tuple[int, int, list[str]]:
        version, quorum, signers = await asyncio.to_thread(
            self._contract.functions.config().call)
        return int(version), int(quorum), [to_checksum_address(s) for s in signers]

    async def aclose(self) -> None:
        return None

    def _submit(self, submission: Submission) -> SubmitResult:
        with self._lock:
            args = [submission.service_id, submission.config_version,
                    [r.as_call_tuple() for r in submission.reports]]
            fn = self._contract.functions.submit(*args)
            sender = self._account.address
            key = keccak(hexstr=self._contract.encode_abi("submit", args=args))
            raw = self._unconfirmed.get(key)
            rebroadcast = raw is not None
            if raw is None:
                try:
                    gas = fn.estimate_gas({"from": sender})
                except Exception as exc:
                    name = _revert_name(exc)
                    if name == ALREADY_COVERED:
                        return SubmitResult(SubmitStatus.ALREADY_COVERED)
                    if is_permanent(name):
                        raise SubmissionRejected(f"submit reverts with {name}") from None
                    raise SubmissionError(f"submit would revert: {name or describe(exc)}") from None
                tx = fn.build_transaction({
                    "from": sender,
                    "nonce": self._w3.eth.get_transaction_count(sender, "pending"),
                    "gas": int(gas * self._gas_margin),
                })
                # web3's TxParams and eth-account's dict type describe the same mapping.
                signed = self._account.sign_transaction(cast(dict[str, Any], tx))
                raw = bytes(signed.raw_transaction)
                self._unconfirmed[key] = raw
            tx_hash = keccak(raw)
            try:
                self._w3.eth.send_raw_transaction(raw)
            except Exception as exc:
                # A re-broadcast may be refused as already known or already mined
                # ("nonce too low"): its receipt is what we are after either way.
                if not rebroadcast:
                    self._unconfirmed.pop(key, None)
                    raise SubmissionError(f"transaction rejected: {describe(exc)}") from None
            try:
                receipt = self._w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=self._receipt_timeout)
            except TimeExhausted:
                if rebroadcast:
                    # Twice unconfirmed: the nonce was probably taken by another transaction.
                    # Forget it; the next attempt estimates and signs afresh.
                    self._unconfirmed.pop(key, None)
                raise SubmissionError(
                    f"no receipt for 0x{tx_hash.hex()} within {self._receipt_timeout:g} s"
                ) from None
            self._unconfirmed.pop(key, None)
            if receipt["status"] == 1:
                return SubmitResult(SubmitStatus.SUBMITTED, "0x" + tx_hash.hex())
            # Mined but reverted: most likely another transmitter covered the window first.
            try:
                fn.call({"from": sender})
            except Exception as exc:
                name = _revert_name(exc)
                if name == ALREADY_COVERED:
                    return SubmitResult(SubmitStatus.ALREADY_COVERED,
                                        "0x" + tx_hash.hex())
                if is_permanent(name):
                    raise SubmissionRejected(f"submit reverted with {name}") from None
            raise SubmissionError(f"transaction 0x{tx_hash.hex()} reverted (status 0)")
