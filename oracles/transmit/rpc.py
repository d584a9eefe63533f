"""Direct submission over JSON-RPC with the transmitter's own transaction key.

The ABI comes from the committed artifact; sending, revert decoding and the revert table are
`contracts`'s, shared with the service. web3's synchronous API runs in a worker thread, so the
same code drives an HTTP node in production and `EthereumTesterProvider` in tests. Submissions
are serialised. Nothing is retried blindly: a transaction whose receipt did not arrive in time is
remembered and re-broadcast as the *same signed bytes* on the next attempt, never re-signed with
a new nonce while the first may still land. Which reverts are final is decided by the table
(`refusals`); every other failure raises a retryable `SubmissionError`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import SecretStr
from web3 import Web3

from contracts.artifacts import abi as artifact_abi
from contracts.errors import ContractsError, NoReceipt, TransactionFailed
from contracts.redact import describe
from contracts.reverts import ContractRevert, Refusal
from contracts.sender import Account, Pending, Sender

from ..errors import SubmissionError, SubmissionRejected
from .refusals import ALREADY_COVERED
from .submitters import Submission, SubmitResult, SubmitStatus


class RpcSubmitter:
    def __init__(self, w3: Web3, oracle_address: str, account: LocalAccount, *,
                 receipt_timeout: float = 120.0, abi: list[dict[str, Any]] | None = None) -> None:
        self._contract = w3.eth.contract(address=to_checksum_address(oracle_address),
                                         abi=abi if abi is not None else artifact_abi(
                                             "OutageOracle"))
        self._account = Account(account.address, SecretStr("0x" + bytes(account.key).hex()))
        self._sender = Sender(w3, timeout=receipt_timeout)
        self._lock = threading.Lock()
        self._unconfirmed: dict[bytes, Pending] = {}  # calldata hash → broadcast, no receipt yet

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
            key = keccak(hexstr=self._contract.encode_abi("submit", args=args))
            pending = self._unconfirmed.get(key)
            rebroadcast = pending is not None
            if pending is None:
                try:
                    pending = self._sender.broadcast(self._contract.functions.submit(*args),
                                                     self._account)
                except ContractRevert as exc:
                    return self._refused(exc, "submit reverts with", None)
                except ContractsError as exc:
                    raise SubmissionError(str(exc)) from None
                self._unconfirmed[key] = pending
            else:
                self._sender.rebroadcast(pending)
            tx_hash = "0x" + pending.tx_hash.hex()
            forget = True  # a receipt came: the next attempt starts afresh
            try:
                self._sender.wait(pending)
            except NoReceipt as exc:
                # Twice unconfirmed: the nonce was probably taken by another transaction.
                # Forget it; the next attempt estimates and signs afresh.
                forget = rebroadcast
                raise SubmissionError(str(exc)) from None
            except ContractRevert as exc:
                # Mined but reverted: most likely another transmitter covered the window first.
                return self._refused(exc, "submit reverted with", tx_hash)
            except TransactionFailed as exc:
                raise SubmissionError(str(exc)) from None
            except BaseException:
                forget = False  # no answer at all (the node went away): these bytes may still land
                raise
            finally:
                if forget:
                    self._unconfirmed.pop(key, None)
            return SubmitResult(SubmitStatus.SUBMITTED, tx_hash)

    @staticmethod
    def _refused(revert: ContractRevert, what: str, tx_hash: str | None) -> SubmitResult:
        if revert.name == ALREADY_COVERED:
            return SubmitResult(SubmitStatus.ALREADY_COVERED, tx_hash)
        if revert.refusal is Refusal.PERMANENT:
            raise SubmissionRejected(f"{what} {revert.name}") from None
        raise SubmissionError(f"{what} {revert}") from None
