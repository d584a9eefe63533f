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

# The types as EIP-712 hashes them (none nest): the Solidity typehash constants are keccak256 of these.
TYPE_STRINGS = (
    "Anchor(bytes32 reportHash,uint16 scoreBps,uint8 riskLevel,uint8 kind,bytes32 subject,bytes32 replaces,"
    "uint64 deadline)",
    "AnchorBatch(bytes32 root,uint32 count,string uri,uint64 deadline)",
    "OutageReport(bytes32 serviceId,uint32 configVersion,uint64 start,uint64 end,bool ongoing,bytes32 evidenceRoot,"
    "uint64 seq)",
)
_STRINGS = {t[:t.index("(")]: t for t in TYPE_STRINGS}
# Primary type → its fields, as eth-account's encode_typed_data takes them.
ALL_TYPES: dict[str, list[dict[str, str]]] = {
    primary: [dict(zip(("type", "name"), f.split(), strict=True)) for f in t[len(primary) + 1:-1].split(",")]
    for primary, t in _STRINGS.items()}


def typehash(primary: str) -> bytes:
    return keccak(text=_STRINGS[primary])


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


def outage_report_message(service_id: bytes, config_version: int, start: int, end: int, ongoing: bool,
                          evidence_root: bytes, seq: int) -> dict[str, Any]:
    """An OutageReport message: the arguments under the type's field names, in its order."""
    values = (service_id, config_version, start, end, ongoing, evidence_root, seq)
    return dict(zip((f["name"] for f in ALL_TYPES["OutageReport"]), values, strict=True))


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
