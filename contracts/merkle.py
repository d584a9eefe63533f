"""Merkle trees compatible with OpenZeppelin's `MerkleProof` (commutative keccak of sorted pairs).

Leaves are hashed twice (`keccak(keccak(data))`), as OpenZeppelin recommends, so a leaf can
never be confused with an inner node of the same tree (second-preimage safety).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import keccak


def leaf_hash(data: bytes) -> bytes:
    """The leaf for 32 bytes of data (a report hash, an observation hash)."""
    return keccak(keccak(data))


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


class MerkleTree:
    """Layered tree over already-hashed leaves; an odd node is carried up unchanged."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.layers: list[list[bytes]] = [list(leaves)]
        while len(self.layers[-1]) > 1:
            below = self.layers[-1]
            above = [
                _pair(below[i], below[i + 1]) if i + 1 < len(below) else below[i]
                for i in range(0, len(below), 2)
            ]
            self.layers.append(above)

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < len(self.layers[0]):
            raise IndexError(f"leaf index {index} out of range")
        path = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                path.append(layer[sibling])
            index //= 2
        return path


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = _pair(node, sibling)
    return node


def verify(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    return process_proof(leaf, proof) == root
