"""EIP-55 checksummed addresses as `eth_utils` computes and checks them, at a fraction of its
cost (cached: the same beneficiaries and contracts recur). Per cover both are on the hot path:
each beneficiary is checked when its issue call is encoded and checksummed when its event is
decoded."""

from __future__ import annotations

from functools import lru_cache

from eth_hash.auto import keccak

_UPPER = frozenset("89abcdef")


@lru_cache(maxsize=1 << 16)
def _checksum(lower: str) -> str:
    """Cached on the lowercase form: the same address checked as given (a request's checksummed
    beneficiary, its calldata) and decoded lowercase (its event) hashes once."""
    digest = keccak(lower.encode()).hex()[:40]
    return "0x" + "".join(c.upper() if d in _UPPER else c for c, d in zip(lower, digest, strict=True))


def is_checksum_address(a: str) -> bool:
    """`eth_utils.is_checksum_address` for a str."""
    body = a[2:]
    if a[:2] != "0x" or len(body) != 40:
        return False
    try:
        int(body, 16)
    except ValueError:
        return False
    return _checksum(body.lower()) == a


def to_checksum_address(a: str) -> str:
    """`eth_utils.to_checksum_address` for a "0x" + 40 hex digits str (what eth_abi decodes)."""
    if a[:2] != "0x" or len(a) != 42:
        raise ValueError(f"not a hex address: {a!r}")
    int(a[2:], 16)
    return _checksum(a[2:].lower())
