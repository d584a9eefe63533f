"""Webhook signing secrets encrypted at rest.

The service must sign with the secret, so it cannot store a hash: it stores the secret sealed
with AES-256-GCM (pycryptodome, already pinned in requirements.lock as eth-account's
keystore cipher; the `cryptography` package is not in the lock). A sealed value is
`v1.<base64url(nonce ‖ ciphertext ‖ tag)>` with a fresh 96-bit nonce, and the webhook id as
associated data, so a sealed secret copied onto another row does not open.

The 256-bit key is `CYBERCOVER_WEBHOOK_SECRET_KEY` (64 hex characters) when set, else the
file `webhook-secret.key` in the data directory, created 0600 on first use (atomically: two
processes starting together agree on one key). Losing the key loses the secrets: receivers
then need a rotated secret (`POST /v1/webhooks/{id}/rotate-secret`).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from Crypto.Cipher import AES

from service.errors import ServiceError
from service.settings import Settings

PREFIX = "v1."
KEY_FILE = "webhook-secret.key"
_NONCE = 12
_TAG = 16


class SealingError(ServiceError):
    """A sealed secret does not open with this key (wrong key, or altered row)."""

    type = "webhook_secret_unreadable"


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SealingError("the webhook secret key must be 32 bytes (64 hex characters)")
        self._key = key

    def __repr__(self) -> str:
        return "Sealer(<key>)"

    def seal(self, secret: str, *, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG)
        cipher.update(context.encode())
        body, tag = cipher.encrypt_and_digest(secret.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + body + tag).decode()

    def open(self, sealed: str, *, context: str) -> str:
        if not sealed.startswith(PREFIX):
            raise SealingError("not a sealed webhook secret")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(PREFIX):])
            nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
            cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce, mac_len=_TAG)
            cipher.update(context.encode())
            return cipher.decrypt_and_verify(body, tag).decode()
        except (ValueError, UnicodeDecodeError):
            raise SealingError("webhook secret does not open with the configured key") from None


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(tmp, path)  # atomic create-if-absent: never a half-written key
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


@lru_cache(maxsize=8)
def _sealer(key_hex: str | None, data_dir: str) -> Sealer:
    if key_hex is not None:
        try:
            key = bytes.fromhex(key_hex.strip())
        except ValueError:
            raise SealingError("CYBERCOVER_WEBHOOK_SECRET_KEY must be 64 hex characters") from None
        return Sealer(key)
    return Sealer(_key_file(Path(data_dir)))


def sealer_for(settings: Settings) -> Sealer:
    """The sealer of these settings (`webhook_secret_key`, else the key file in `data_dir`)."""
    key = settings.webhook_secret_key
    return _sealer(None if key is None else key.get_secret_value(), str(settings.data_dir.resolve()))
