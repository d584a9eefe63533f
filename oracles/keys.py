"""The node's signing key, loaded from an encrypted keystore or an environment variable.

The raw key never leaves this object: no attribute exposes it, `repr` shows the address only,
and load errors never quote what was read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from pydantic import SecretStr

from contracts.eip712 import CompactSignature, sign_outage_report

from .errors import KeyLoadError


class NodeKey:
    __slots__ = ("_key", "address")

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            raise KeyLoadError("a private key is 32 bytes")
        try:
            self._key = PrivateKey(private_key)
        except Exception:  # eth_keys rejects 0 and values ≥ the curve order
            raise KeyLoadError("not a valid secp256k1 private key") from None
        self.address: str = self._key.public_key.to_checksum_address()

    @classmethod
    def from_hex(cls, secret: SecretStr, *, source: str = "environment") -> NodeKey:
        text = secret.get_secret_value().strip().removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise KeyLoadError(f"the private key from {source} is not hex") from None
        if len(raw) != 32:
            raise KeyLoadError(f"the private key from {source} is not 32 bytes")
        return cls(raw)

    @classmethod
    def from_keystore(cls, path: Path, password: SecretStr) -> NodeKey:
        try:
            keyfile: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyLoadError(f"{path}: cannot read keystore: {exc.strerror}") from None
        except ValueError:
            raise KeyLoadError(f"{path}: keystore is not JSON") from None
        try:
            raw = Account.decrypt(keyfile, password.get_secret_value())
        except ValueError:
            raise KeyLoadError(f"{path}: wrong password or corrupt keystore") from None
        except Exception as exc:  # malformed keystore structure
            raise KeyLoadError(f"{path}: unusable keystore ({type(exc).__name__})") from None
        return cls(bytes(raw))

    def sign_hash(self, msg_hash: bytes) -> bytes:
        """65-byte `r || s || v` (v ∈ {0, 1}) signature over a 32-byte hash, no prefix."""
        return bytes(self._key.sign_msg_hash(msg_hash).to_bytes())

    def sign_outage_report(self, domain: dict[str, Any], message: dict[str, Any]
                           ) -> CompactSignature:
        return sign_outage_report(self._key.to_bytes(), domain, message)

    def account(self) -> LocalAccount:
        """An eth-account signer for transactions (the transmitter's own key)."""
        acct: LocalAccount = Account.from_key(self._key.to_bytes())
        return acct

    def __repr__(self) -> str:
        return f"NodeKey({self.address})"

    __str__ = __repr__


def load_key(keystore: Path | None, password: SecretStr | None, hex_key: SecretStr | None,
             *, what: str, password_var: str, key_var: str) -> NodeKey:
    """Keystore when configured (password from `password_var`), else hex from `key_var`."""
    if keystore is not None:
        if password is None:
            raise KeyLoadError(f"{what}: keystore {keystore} needs the password in ${password_var}")
        return NodeKey.from_keystore(keystore, password)
    if hex_key is None:
        raise KeyLoadError(f"{what}: configure a keystore or set ${key_var}")
    return NodeKey.from_hex(hex_key, source=f"${key_var}")
