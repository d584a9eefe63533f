"""One signed observation: canonical JSON (RFC 8785), its keccak, and the node's signature.

Canonical bytes make the hash reproducible by anyone from the JSON alone, whatever language
they use. Each observation names its predecessor in the same stream (`prev_hash`, `index`),
so a stream is a hash chain: nothing can be removed or reordered inside it unnoticed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import rfc8785
from eth_keys.datatypes import Signature
from eth_utils.crypto import keccak

from ..keys import NodeKey
from ..outcome import ProbeResult

VERSION = 1
ZERO_HASH = b"\x00" * 32


def canonical(body: dict[str, Any]) -> bytes:
    return rfc8785.dumps(body)


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


def observation_body(*, node: str, stream: str, index: int, prev_hash: bytes, kind: str,
                     canary: bool, service_id: bytes | None, planned_ms: int, started_ms: int,
                     result: ProbeResult) -> dict[str, Any]:
    return {
        "v": VERSION,
        "node": node,
        "stream": stream,
        "index": index,
        "prev_hash": hex32(prev_hash),
        "kind": kind,
        "canary": canary,
        "service_id": hex32(service_id) if service_id is not None else None,
        "planned_ms": planned_ms,
        "started_ms": started_ms,
        "duration_ms": result.duration_ms,
        "outcome": result.outcome.value,
        "detail": result.detail,
        "status_code": result.status_code,
        "cert_days_left": result.cert_days_left,
    }


@dataclass(frozen=True)
class SignedObservation:
    canonical: bytes
    hash: bytes
    signature: bytes  # 65 bytes: r || s || v, v ∈ {0, 1}

    @cached_property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.canonical)
        return parsed

    @property
    def stream(self) -> str:
        return str(self.body["stream"])

    @property
    def index(self) -> int:
        return int(self.body["index"])

    @property
    def started_ms(self) -> int:
        return int(self.body["started_ms"])


def sign_observation(key: NodeKey, body: dict[str, Any]) -> SignedObservation:
    data = canonical(body)
    digest = keccak(data)
    return SignedObservation(data, digest, key.sign_hash(digest))


def recover_signer(digest: bytes, signature: bytes) -> str:
    """Address that produced a 65-byte signature over `digest`; raises ValueError if malformed."""
    if len(signature) != 65:
        raise ValueError("a signature is 65 bytes")
    try:
        sig = Signature(signature_bytes=signature)
        return sig.recover_public_key_from_msg_hash(digest).to_checksum_address()
    except Exception as exc:  # eth_keys raises several types for out-of-range r, s, v
        raise ValueError(f"unrecoverable signature: {exc}") from None
