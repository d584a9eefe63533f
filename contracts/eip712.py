"""EIP-712 types shared by every Python signer (assessors, oracle nodes, the service).

One place for the type strings: a test checks that their typehashes equal the constants the
Solidity contracts use, so a drift between the two sides fails the build, not a payout.

Signatures travel in the EIP-2098 compact form `(r, vs)`: 64 bytes of static calldata
instead of a 65-byte dynamic `bytes`, which is most of what an extra oracle signature costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

# Names/versions are part of every domain separator; changing them invalidates signatures.
REGISTRY_DOMAIN_NAME = "CyberCover AssessmentRegistry"
ORACLE_DOMAIN_NAME = "CyberCover OutageOracle"
DOMAIN_VERSION = "1"

ANCHOR_TYPES: dict[str, list[dict[str, str]]] = {
    "Anchor": [
        {"name": "reportHash", "type": "bytes32"},
        {"name": "scoreBps", "type": "uint16"},
        {"name": "riskLevel", "type": "uint8"},
        {"name": "kind", "type": "uint8"},
        {"name": "subject", "type": "bytes32"},
        {"name": "replaces", "type": "bytes32"},
        {"name": "deadline", "type": "uint64"},
    ]
}

ANCHOR_BATCH_TYPES: dict[str, list[dict[str, str]]] = {
    "AnchorBatch": [
        {"name": "root", "type": "bytes32"},
        {"name": "count", "type": "uint32"},
        {"name": "uri", "type": "string"},
        {"name": "deadline", "type": "uint64"},
    ]
}

OUTAGE_REPORT_TYPES: dict[str, list[dict[str, str]]] = {
    "OutageReport": [
        {"name": "serviceId", "type": "bytes32"},
        {"name": "configVersion", "type": "uint32"},
        {"name": "start", "type": "uint64"},
        {"name": "end", "type": "uint64"},
        {"name": "ongoing", "type": "bool"},
        {"name": "evidenceRoot", "type": "bytes32"},
        {"name": "seq", "type": "uint64"},
    ]
}

ALL_TYPES = {**ANCHOR_TYPES, **ANCHOR_BATCH_TYPES, **OUTAGE_REPORT_TYPES}


def type_string(primary: str) -> str:
    """`Name(type1 name1,...)` as EIP-712 hashes it (none of our types nest)."""
    fields = ",".join(f"{f['type']} {f['name']}" for f in ALL_TYPES[primary])
    return f"{primary}({fields})"


def typehash(primary: str) -> bytes:
    return keccak(text=type_string(primary))


def domain(name: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    return {
        "name": name,
        "version": DOMAIN_VERSION,
        "chainId": int(chain_id),
        "verifyingContract": to_checksum_address(verifying_contract),
    }


def registry_domain(chain_id: int, address: str) -> dict[str, Any]:
    return domain(REGISTRY_DOMAIN_NAME, chain_id, address)


def oracle_domain(chain_id: int, address: str) -> dict[str, Any]:
    return domain(ORACLE_DOMAIN_NAME, chain_id, address)


def digest(dom: dict[str, Any], primary: str, message: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest (`\\x19\\x01 || domainSeparator || structHash`, hashed)."""
    signable = encode_typed_data(
        domain_data=dom,
        message_types={primary: ALL_TYPES[primary]},
        message_data=message,
    )
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


@dataclass(frozen=True)
class CompactSignature:
    """EIP-2098 signature: `vs` carries the parity bit in its top bit."""

    r: bytes
    vs: bytes
    signer: str

    def as_tuple(self) -> tuple[bytes, bytes]:
        return (self.r, self.vs)

    def to_json(self) -> dict[str, str]:
        return {"r": "0x" + self.r.hex(), "vs": "0x" + self.vs.hex(), "signer": self.signer}


def sign_digest(private_key: bytes | str, msg_digest: bytes) -> CompactSignature:
    if isinstance(private_key, str):
        private_key = bytes.fromhex(private_key.removeprefix("0x"))
    pk = keys.PrivateKey(private_key)
    sig = pk.sign_msg_hash(msg_digest)
    r = sig.r.to_bytes(32, "big")
    vs_int = sig.s | (sig.v << 255)
    return CompactSignature(r=r, vs=vs_int.to_bytes(32, "big"),
                            signer=pk.public_key.to_checksum_address())


def recover(msg_digest: bytes, r: bytes, vs: bytes) -> str:
    vs_int = int.from_bytes(vs, "big")
    v = vs_int >> 255
    s = vs_int & ((1 << 255) - 1)
    sig = keys.Signature(vrs=(v, int.from_bytes(r, "big"), s))
    return sig.recover_public_key_from_msg_hash(msg_digest).to_checksum_address()


def outage_report_message(
    service_id: bytes,
    config_version: int,
    start: int,
    end: int,
    ongoing: bool,
    evidence_root: bytes,
    seq: int,
) -> dict[str, Any]:
    return {
        "serviceId": service_id,
        "configVersion": config_version,
        "start": start,
        "end": end,
        "ongoing": ongoing,
        "evidenceRoot": evidence_root,
        "seq": seq,
    }


def sign_outage_report(
    private_key: bytes | str, dom: dict[str, Any], message: dict[str, Any]
) -> CompactSignature:
    return sign_digest(private_key, digest(dom, "OutageReport", message))


def sign_anchor(
    private_key: bytes | str, dom: dict[str, Any], message: dict[str, Any]
) -> CompactSignature:
    return sign_digest(private_key, digest(dom, "Anchor", message))


def sign_anchor_batch(
    private_key: bytes | str, dom: dict[str, Any], message: dict[str, Any]
) -> CompactSignature:
    return sign_digest(private_key, digest(dom, "AnchorBatch", message))


def service_id(name: str) -> bytes:
    """A covered service's on-chain id: keccak256 of its canonical name (e.g. its URL)."""
    return keccak(text=name)
