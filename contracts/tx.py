"""Sending a contract call and getting a receipt or a decoded, typed revert — never a silent
failure. Used by `deploy`, the tests, the oracle transmitter and the service's sender."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.types import TxReceipt

from contracts.errors import ContractsError
from contracts.reverts import ContractRevert, decode_exception


class TransactionFailed(ContractsError):
    """Mined with status 0 and the revert could not be reproduced to decode it."""


def _raise_decoded(exc: BaseException) -> None:
    decoded = decode_exception(exc)
    if decoded is not None:
        raise decoded from None


def send(w3: Web3, fn: Any, sender: str, *, gas: int | None = None, value: int = 0,
         timeout: float = 120) -> TxReceipt:
    """`fn` is a bound contract function (`c.functions.x(...)`) or a constructor."""
    params: dict[str, Any] = {"from": sender, "value": value}
    if gas is None:
        try:
            params["gas"] = int(fn.estimate_gas(params) * 1.2) + 10_000
        except Exception as exc:  # web3/eth-tester raise several types; all carry revert data
            _raise_decoded(exc)
            raise
    else:
        params["gas"] = gas
    try:
        tx_hash = fn.transact(params)
    except Exception as exc:
        _raise_decoded(exc)
        raise
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        # Replay as a call on the parent state to recover the reason.
        try:
            fn.call({k: v for k, v in params.items() if k != "gas"},
                    block_identifier=receipt["blockNumber"] - 1)
        except ContractRevert:
            raise
        except Exception as exc:
            _raise_decoded(exc)
        raise TransactionFailed(f"transaction {tx_hash.hex()} reverted (status 0)")
    return receipt
