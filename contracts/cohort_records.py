"""CohortBook's records, as its callers pass them back (`ICohortBook.Cohort`, `.Segment`).

The book stores only `keccak256(abi.encode(cohort, segment))` per segment; the records never
change, and `CohortIssued` / `SegmentAdded` carry all of them, so anyone rebuilds them from the
events alone (the service from its projection, `records_from_logs` from the chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak

COHORT_TYPES = "(address,uint32,uint40,uint40,uint96)"
SEGMENT_TYPES = "(bytes32,uint32,uint96,uint96,uint40)"


@dataclass(frozen=True)
class CohortRecord:
    distributor: str
    product_id: int
    cover_start: int
    cover_end: int
    base_limit: int  # segment 0's total limit

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.distributor, self.product_id, self.cover_start, self.cover_end, self.base_limit)


@dataclass(frozen=True)
class SegmentRecord:
    root: bytes
    count: int
    total_limit: int
    premium: int
    start: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.root, self.count, self.total_limit, self.premium, self.start)


def record_hash(c: CohortRecord, s: SegmentRecord) -> bytes:
    """What the book stores for segment `s` of cohort `c` (`hashRecord`)."""
    return keccak(encode([COHORT_TYPES, SEGMENT_TYPES], [c.as_tuple(), s.as_tuple()]))


def from_issued(args: Any, block_time: int) -> tuple[CohortRecord, SegmentRecord]:
    """The records of a `CohortIssued` (terms.coverStart 0: the block's time)."""
    t = args["terms"]
    start = int(t["coverStart"]) or int(block_time)
    c = CohortRecord(args["distributor"], int(args["productId"]), start, int(t["coverEnd"]), int(args["totalLimit"]))
    return c, SegmentRecord(bytes(args["root"]), int(args["count"]), int(args["totalLimit"]), int(args["premium"]),
                            start)


def from_added(args: Any) -> SegmentRecord:
    return SegmentRecord(bytes(args["root"]), int(args["count"]), int(args["totalLimit"]), int(args["premium"]),
                         int(args["start"]))


def records_from_logs(cohorts: Any, cohort_id: int, from_block: int = 0) -> tuple[CohortRecord, list[SegmentRecord]]:
    """Cohort `cohort_id`'s records from the book's events (a test's or a script's view)."""
    w3 = cohorts.w3
    issued = cohorts.events.CohortIssued().get_logs(from_block=from_block, argument_filters={"cohortId": cohort_id})
    if not issued:
        raise LookupError(f"no CohortIssued for cohort {cohort_id}")
    e = issued[0]
    c, s0 = from_issued(e["args"], w3.eth.get_block(e["blockNumber"])["timestamp"])
    added = cohorts.events.SegmentAdded().get_logs(from_block=from_block, argument_filters={"cohortId": cohort_id})
    segs = [s0] + [from_added(x["args"]) for x in sorted(added, key=lambda x: int(x["args"]["segment"]))]
    return c, segs
