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


# --- OpenZeppelin's standard tree (`@openzeppelin/merkle-tree`) and multiproofs -------------
#
# The layout of `StandardMerkleTree` in OpenZeppelin's JS library: a complete binary tree in
# one array, `tree[0]` the root, node i's children at 2i+1 and 2i+2, the n leaves at the end in
# reverse order (leaf position p at tree index len(tree)-1-p), each inner node the sorted-pair
# hash of its children. Proofs and multiproofs are what `MerkleProof.verify` /
# `MerkleProof.multiProofVerify` (OpenZeppelin Contracts 5) accept.


def standard_leaf(types: Sequence[str], values: Sequence[object]) -> bytes:
    """`keccak256(bytes.concat(keccak256(abi.encode(values...))))`: OpenZeppelin's standard leaf."""
    from eth_abi import encode

    return keccak(keccak(encode(list(types), list(values))))


MEMBER_TYPES = ("uint32", "address", "uint96", "bytes32")


def member_leaf(index: int, beneficiary: str, limit: int, holder: bytes) -> bytes:
    """The leaf of a cohort member (`ICohortBook.Member`: index, beneficiary, limit, holder)."""
    return standard_leaf(MEMBER_TYPES, (index, beneficiary, limit, holder))


class MultiProof:
    """What `multiProofVerify` takes: the leaves in proof order, the proof and the flags.
    `indices[k]` is the given index (as passed to the tree) of `leaves[k]`."""

    def __init__(self, indices: list[int], leaves: list[bytes], proof: list[bytes], flags: list[bool]) -> None:
        self.indices, self.leaves, self.proof, self.flags = indices, leaves, proof, flags


class StandardTree:
    """OpenZeppelin's `StandardMerkleTree` layout over already-hashed leaves (see above).
    `sort_leaves=True` orders the leaves by hash first, as the JS library does by default;
    the cohort trees keep the given order (member index = leaf position), so a batch of
    consecutive members is a compact multiproof and touches consecutive bitmap words."""

    def __init__(self, leaves: Sequence[bytes], *, sort_leaves: bool = False) -> None:
        n = len(leaves)
        if n == 0:
            raise ValueError("a Merkle tree needs at least one leaf")
        order = sorted(range(n), key=lambda i: leaves[i]) if sort_leaves else list(range(n))
        self.position_of = {orig: pos for pos, orig in enumerate(order)}  # given index → leaf position
        tree: list[bytes] = [b""] * (2 * n - 1)
        for pos, orig in enumerate(order):
            tree[len(tree) - 1 - pos] = leaves[orig]
        for i in range(len(tree) - 1 - n, -1, -1):
            tree[i] = _pair(tree[2 * i + 1], tree[2 * i + 2])
        self.tree = tree
        self.size = n

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def _tree_index(self, i: int) -> int:
        if not 0 <= i < self.size:
            raise IndexError(f"leaf index {i} out of range")
        return len(self.tree) - 1 - self.position_of[i]

    def leaf(self, i: int) -> bytes:
        return self.tree[self._tree_index(i)]

    def proof(self, i: int) -> list[bytes]:
        """The single proof of given leaf `i` (`MerkleProof.verify`)."""
        j = self._tree_index(i)
        path = []
        while j > 0:
            path.append(self.tree[j - 1 if j % 2 == 0 else j + 1])
            j = (j - 1) // 2
        return path

    def multiproof(self, indices: Sequence[int]) -> MultiProof:
        """The multiproof of given leaves `indices` (distinct). The leaves come out in the order
        `multiProofVerify` needs them: descending tree index, i.e. ascending leaf position."""
        tis = sorted((self._tree_index(i) for i in indices), reverse=True)
        if len(set(tis)) != len(tis):
            raise ValueError("a multiproof cannot prove a leaf twice")
        stack = list(tis)
        proof: list[bytes] = []
        flags: list[bool] = []
        head = 0
        while head < len(stack) and stack[head] > 0:
            j = stack[head]
            head += 1
            s = j - 1 if j % 2 == 0 else j + 1
            p = (j - 1) // 2
            if head < len(stack) and stack[head] == s:
                flags.append(True)
                head += 1
            else:
                flags.append(False)
                proof.append(self.tree[s])
            stack.append(p)
        if not tis:
            proof.append(self.tree[0])
        back = {len(self.tree) - 1 - pos: orig for orig, pos in self.position_of.items()}
        return MultiProof([back[t] for t in tis], [self.tree[t] for t in tis], proof, flags)

