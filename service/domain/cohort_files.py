"""A cohort's customers as a distributor hands them over (a JSON list or a CSV file: ref,
beneficiary, limit), checked row by row, and the cohort file the service keeps for them: the
leaves and the Merkle tree over them (contracts.merkle, OpenZeppelin-compatible), stored in the
database (`cohort_files.tree`: every node, 32 bytes each, in the tree's array order).

A bad row refuses the whole file (400 `bad_cohort_row`, naming the row: its 1-based line in a CSV
file, its 0-based position in a JSON list), before anything is priced or sent."""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address

from contracts import merkle
from service.errors import BadRequest

MAX_MEMBERS = 100_000  # per segment (the API's bound; the chain's count is a uint32)
MAX_REF = 200
UINT96 = 2**96 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_UINT = re.compile(r"^[0-9]{1,29}$")
COLUMNS = ("ref", "beneficiary", "limit")


@dataclass(frozen=True)
class Customer:
    ref: str  # the distributor's customer reference; only a salted hash goes on-chain
    beneficiary: str  # checksummed
    limit: int  # token minor units


@dataclass(frozen=True)
class Leaf:
    """A member as the chain sees it (ICohortBook.Member), with the salt behind its holder."""

    index: int
    beneficiary: str
    limit: int
    holder: bytes
    salt: bytes

    @property
    def hash(self) -> bytes:
        return merkle.member_leaf(self.index, self.beneficiary, self.limit, self.holder)

    def as_tuple(self) -> tuple[int, str, int, bytes]:
        return (self.index, self.beneficiary, self.limit, self.holder)


def _bad(row: str, problem: str) -> BadRequest:
    return BadRequest(f"{row}: {problem}; nothing was issued", type="bad_cohort_row")


def _customer(row: str, ref: object, beneficiary: object, limit: object) -> Customer:
    if not isinstance(ref, str) or not 1 <= len(ref.strip()) <= MAX_REF:
        raise _bad(row, f"ref must be 1..{MAX_REF} characters")
    if not isinstance(beneficiary, str) or not _ADDRESS.match(beneficiary.strip()):
        raise _bad(row, f"beneficiary {beneficiary!r} is not a 0x address of 40 hex digits")
    if isinstance(limit, str):
        if not _UINT.match(limit.strip()):
            raise _bad(row, f"limit {limit!r} is not a whole number of token units")
        limit = int(limit.strip())
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= UINT96:
        raise _bad(row, f"limit {limit!r} must be 1..2^96-1 token units")
    if int(beneficiary.strip(), 16) == 0:
        raise _bad(row, "beneficiary is the zero address")
    return Customer(ref.strip(), to_checksum_address(beneficiary.strip()), limit)


def from_rows(rows: Iterable[tuple[str, object, object, object]]) -> list[Customer]:
    """Customers from (row name, ref, beneficiary, limit); a duplicate ref is a bad row."""
    out: list[Customer] = []
    seen: dict[str, str] = {}
    for row, ref, beneficiary, limit in rows:
        c = _customer(row, ref, beneficiary, limit)
        if c.ref in seen:
            raise _bad(row, f"ref {c.ref!r} repeats {seen[c.ref]}")
        seen[c.ref] = row
        out.append(c)
        if len(out) > MAX_MEMBERS:
            raise BadRequest(f"at most {MAX_MEMBERS} customers per request", type="too_many_members")
    if not out:
        raise BadRequest("no customers", type="bad_cohort_row")
    return out


def parse_csv(text: str) -> list[Customer]:
    """`ref,beneficiary,limit` with that header (any column order; extra columns refused)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise BadRequest("empty CSV: expected the header ref,beneficiary,limit", type="bad_cohort_row") from None
    except csv.Error as exc:
        raise _bad("row 1", f"unreadable CSV ({exc})") from None
    if sorted(header) != sorted(COLUMNS):
        raise _bad("row 1", f"the header must name exactly the columns {','.join(COLUMNS)}, got {','.join(header)}")
    at = [header.index(c) for c in COLUMNS]

    def rows() -> Iterable[tuple[str, object, object, object]]:
        line = 1
        try:
            for fields in reader:
                line = reader.line_num
                if not fields or all(not f.strip() for f in fields):
                    continue  # blank lines
                if len(fields) != len(COLUMNS):
                    raise _bad(f"row {line}", f"{len(fields)} fields, expected {len(COLUMNS)}")
                yield (f"row {line}", *(fields[i] for i in at))
        except csv.Error as exc:
            raise _bad(f"row {line + 1}", f"unreadable CSV ({exc})") from None

    return from_rows(rows())


def leaves(customers: Sequence[Customer]) -> list[Leaf]:
    """The members of a new segment, indexed 0..n−1 in the order given, each holder a fresh
    salted commitment of its ref (`keccak256(salt ‖ ref)`, as a policy's holder)."""
    out = []
    for i, c in enumerate(customers):
        salt = secrets.token_bytes(32)
        out.append(Leaf(i, c.beneficiary, c.limit, keccak(salt + c.ref.encode()), salt))
    return out


def tree(members: Sequence[Leaf]) -> merkle.StandardTree:
    """The segment's tree: OpenZeppelin's standard layout, leaves in member order (unsorted)."""
    return merkle.StandardTree([m.hash for m in members])


def pack(t: merkle.StandardTree) -> bytes:
    return b"".join(t.tree)


def unpack(blob: bytes) -> merkle.StandardTree:
    """The stored tree as it was built (no hashing: every node is on file)."""
    nodes = [blob[i:i + 32] for i in range(0, len(blob), 32)]
    n = (len(nodes) + 1) // 2
    t = merkle.StandardTree.__new__(merkle.StandardTree)
    t.tree, t.size, t.position_of = nodes, n, {i: i for i in range(n)}
    return t
