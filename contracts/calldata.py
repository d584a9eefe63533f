"""A contract call's calldata, encoded once and reused for its simulation, gas estimate and
signed transaction.

web3's contract-function path re-encodes the arguments on every `call`, `estimate_gas` and
`build_transaction`, through its per-value normalizers: ~0.7 s for a 500-cover `issueBatch`,
three times per transaction. Here the bound function's already-normalized arguments
(`fn.arguments`) go straight to `eth_abi.encode`, many times faster. Anything the strict
encoder refuses (an ENS name, a hex string for `bytes`, a non-checksummed address) falls back
to web3's own encoding, which accepts or refuses it exactly as before; tests check both give
the same bytes for the functions the service sends.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from web3._utils.transactions import fill_transaction_defaults

from contracts.eip55 import is_checksum_address
from contracts.eventlogs import split_tuple


def _addresses_checksummed(types: list[str], values: Any) -> bool:
    """web3 refuses a non-checksummed address; eth_abi would take it: let web3 decide then."""
    for t, v in zip(types, values, strict=True):
        if t == "address" and isinstance(v, str) and not is_checksum_address(v):
            return False
        if t.endswith("]") and isinstance(v, list | tuple):
            inner = t[:t.rindex("[")]
            if not _addresses_checksummed([inner] * len(v), v):
                return False
        elif t.startswith("(") and isinstance(v, list | tuple) and not _addresses_checksummed(split_tuple(t), v):
            return False
    return True


def calldata(fn: Any) -> str:
    """`fn`'s transaction data as web3 would encode it ("0x"-prefixed hex)."""
    types = get_abi_input_types(fn.abi)
    args = tuple(fn.arguments)
    try:
        if _addresses_checksummed(types, args):
            return fn.selector + abi_encode(types, args).hex()
    except Exception:  # noqa: BLE001 - anything eth_abi refuses: web3's path decides, as before
        pass
    return fn._encode_transaction_data()  # noqa: SLF001 - web3's own encoder, the reference


class Encoded:
    """A bound contract function with its calldata encoded once: `call`, `estimate_gas` and
    `build_transaction` as the function's own, on the same bytes."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.w3 = fn.w3
        self.address = fn.address
        self.fn_name = fn.fn_name
        self.data = calldata(fn)

    def _tx(self, tx: dict[str, Any]) -> dict[str, Any]:
        return {**tx, "to": self.address, "data": self.data}

    def call(self, tx: dict[str, Any], block_identifier: Any = "latest") -> bytes:
        return bytes(self.w3.eth.call(self._tx(tx), block_identifier))  # type: ignore[arg-type]

    def estimate_gas(self, tx: dict[str, Any], block_identifier: Any = None) -> int:
        return int(self.w3.eth.estimate_gas(self._tx(tx), block_identifier))  # type: ignore[arg-type]

    def build_transaction(self, tx: dict[str, Any]) -> dict[str, Any]:
        return dict(fill_transaction_defaults(self.w3, self._tx(tx)))  # type: ignore[arg-type]


class Calls:
    """One contract function's calldata for many argument tuples (an `entitlementOf` read per
    policy), and its result decoded: the ABI element, types and selector looked up once. A web3
    bound function validates the whole contract ABI and re-encodes through its normalizers on
    every call (~7 ms for one policy record on a loaded machine: 10,000 of them cost over a minute
    before the first settle could go out); `eth_abi` takes a fraction of a millisecond. Arguments
    the strict encoder refuses go through web3's own encoder, as in `calldata`."""

    def __init__(self, contract: Any, name: str) -> None:
        self.function = getattr(contract.functions, name)
        self.address = contract.address
        self.types = get_abi_input_types(self.function.abi)
        self.outputs = get_abi_output_types(self.function.abi)
        self.selector = "0x" + function_abi_to_4byte_selector(self.function.abi).hex()

    def data(self, *args: Any) -> str:
        try:
            if _addresses_checksummed(self.types, args):
                return self.selector + abi_encode(self.types, args).hex()
        except Exception:  # noqa: BLE001 - anything eth_abi refuses: web3's path decides, as before
            pass
        return self.function(*args)._encode_transaction_data()  # noqa: SLF001 - web3's own encoder

    def tx(self, *args: Any) -> dict[str, Any]:
        """The `eth_call` transaction for `args`."""
        return {"to": self.address, "data": self.data(*args)}

    def result(self, returned: bytes) -> Any:
        """The decoded return value (one output: the value itself, as web3's `call` gives it)."""
        out = abi_decode(self.outputs, bytes(returned))
        return out[0] if len(out) == 1 else out
