"""Projects CohortBook's events (group covers) into the `cohorts*` tables (service.chain.indexer
applies them with the others, in order, in one transaction per page).

A batch payment is one `CohortPaid` (its `indices` pack the members paid, 4 bytes each); each
member's amount is `min(limit, E_r) − min(limit, E_{r−1})` from its leaf, which comes from the
cohort file the service keeps (`cohort_members`, off-chain: a reindex keeps it). The pool's
`PayoutCredited` for a member whose transfer failed is logged after the batch's `CohortPaid`
(the book emits, then pays); the batch's handler reads them from the receipt and marks those
payouts `credited`. A file whose
issuance answer was lost (the process died after sending) is recognised by its root and marked
issued here, so no cohort is left without its file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from eth_utils import encode_hex as hx
from sqlalchemy import select
from web3.logs import DISCARD

from service.db import models as m

if TYPE_CHECKING:
    from service.chain.indexer import Ctx

log = logging.getLogger(__name__)


def indices(packed: bytes) -> list[int]:
    return [int.from_bytes(packed[i:i + 4], "big") for i in range(0, len(packed), 4)]


def owed(limit: int, level: int, previous: int) -> int:
    """What a member of `limit` is owed in a round of `level` after one of `previous`."""
    return min(limit, level) - min(limit, previous)


def _file(c: Ctx, cohort_id: int, segment: int, root: str) -> None:
    """The service's file of this segment (by its root) is issued as `cohort_id`/`segment`."""
    f = c.session.scalar(select(m.CohortFile).where(m.CohortFile.root == root))
    if f is not None and f.cohort_id is None:
        f.cohort_id, f.segment, f.status, f.tx, f.error = cohort_id, segment, "issued", c.tx, None


def _issued(c: Ctx) -> None:
    a = c.args
    t = a["terms"]
    start = t["coverStart"] or c.block_time()
    cid, root = int(a["cohortId"]), hx(a["root"])
    c.session.add(m.Cohort(id=cid, product_id=a["productId"], distributor=a["distributor"], cover_start=start,
                           cover_end=t["coverEnd"], subject=hx(t["subject"]), report_hash=hx(t["reportHash"]),
                           premium=a["premium"], locked=a["totalLimit"], total_limit=a["totalLimit"], paid=0,
                           released=0, refunded=0, closed=False, block=c.block, tx=c.tx))
    c.session.add(m.CohortSegment(cohort_id=cid, segment=0, root=root, count=a["count"], total_limit=a["totalLimit"],
                                  premium=a["premium"], start=start, rounds=0, block=c.block, tx=c.tx))
    _file(c, cid, 0, root)


def _segment_added(c: Ctx) -> None:
    a = c.args
    cid, seg, root = int(a["cohortId"]), int(a["segment"]), hx(a["root"])
    c.session.add(m.CohortSegment(cohort_id=cid, segment=seg, root=root, count=a["count"],
                                  total_limit=a["totalLimit"], premium=a["premium"], start=a["start"], rounds=0,
                                  block=c.block, tx=c.tx))
    if (cohort := c.session.get(m.Cohort, cid)) is not None:
        cohort.locked += a["totalLimit"]
        cohort.total_limit += a["totalLimit"]
        cohort.premium += a["premium"]
    _file(c, cid, seg, root)


def _round_opened(c: Ctx) -> None:
    a = c.args
    c.session.add(m.CohortRound(cohort_id=a["cohortId"], segment=a["segment"], round=a["round"], level=a["level"],
                                block=c.block, tx=c.tx))
    if (seg := c.session.get(m.CohortSegment, (a["cohortId"], a["segment"]))) is not None:
        seg.rounds = max(seg.rounds, int(a["round"]))


def _levels(c: Ctx, cohort_id: int, segment: int) -> dict[int, int]:
    rows = c.session.scalars(select(m.CohortRound).where(m.CohortRound.cohort_id == cohort_id,
                                                         m.CohortRound.segment == segment))
    return {0: 0, **{r.round: r.level for r in rows}}


def _members(c: Ctx, cohort_id: int, segment: int, wanted: list[int]) -> dict[int, m.CohortMember]:
    seg = c.session.get(m.CohortSegment, (cohort_id, segment))
    if seg is None:
        return {}
    f = c.session.scalar(select(m.CohortFile.id).where(m.CohortFile.root == seg.root))
    if f is None:
        return {}
    found: dict[int, m.CohortMember] = {}
    for i in range(0, len(wanted), 900):  # bound the IN list (SQLite's variable limit)
        part = wanted[i:i + 900]
        found.update((x.index, x) for x in c.session.scalars(select(m.CohortMember).where(
            m.CohortMember.file_id == f, m.CohortMember.index.in_(part))))
    return found


def _credits(c: Ctx) -> list[tuple[str, int]]:
    """The pool's PayoutCredited logged in this transaction after this CohortBook event and
    before the next one: the failed transfers of this batch. CohortBook emits CohortPaid and
    MembersRemoved before it calls the pool (effects before interactions), so a batch's credits
    follow its event."""
    receipt = c.gw.w3.eth.get_transaction_receipt(c.tx)  # type: ignore[arg-type]
    cohorts = c.gw.cohorts.address if c.gw.cohorts is not None else None
    following = min((lg["logIndex"] for lg in receipt["logs"]
                     if lg["address"] == cohorts and lg["logIndex"] > c.log_index), default=2**63)
    out = []
    for e in c.gw.pool.events.PayoutCredited().process_receipt(receipt, errors=DISCARD):
        if c.log_index < e["logIndex"] < following:
            out.append((e["args"]["payee"], int(e["args"]["amount"])))
    return out


def _book_payouts(c: Ctx, cohort_id: int, segment: int, paid: list[tuple[int, int]], total: int) -> None:
    """Payout rows for (index, round) pairs paid in this log; checks them against `total`."""
    levels = _levels(c, cohort_id, segment)
    members = _members(c, cohort_id, segment, sorted({i for i, _ in paid}))
    credits = _credits(c) if c.gw.cohorts is not None else []
    booked = 0
    for index, rnd in paid:
        x = members.get(index)
        if x is None:
            continue
        amount = owed(x.limit, levels.get(rnd, 0), levels.get(rnd - 1, 0))
        status = "sent"
        if (x.beneficiary, amount) in credits:
            credits.remove((x.beneficiary, amount))
            status = "credited"
        booked += amount
        c.session.add(m.CohortPayout(cohort_id=cohort_id, round=rnd, segment=segment, index=index,
                                     beneficiary=x.beneficiary, amount=amount, status=status, block=c.block,
                                     tx=c.tx, log_index=c.log_index))
    if booked != total or len(members) < len({i for i, _ in paid}):
        log.error("cohort %d segment %d: %s in %s pays %d, the cohort file accounts for %d (members on file: %d "
                  "of %d); run `cybercover reindex` after restoring the file", cohort_id, segment,
                  "payment", c.tx, total, booked, len(members), len({i for i, _ in paid}))


def _paid(c: Ctx) -> None:
    a = c.args
    cid, seg, rnd = int(a["cohortId"]), int(a["segment"]), int(a["round"])
    _book_payouts(c, cid, seg, [(i, rnd) for i in indices(bytes(a["indices"]))], int(a["amount"]))
    if (cohort := c.session.get(m.Cohort, cid)) is not None:
        cohort.paid += a["amount"]
        cohort.locked -= a["amount"]


def _removed(c: Ctx) -> None:
    """The removed members were first paid what the open rounds still owed them (`paid`)."""
    a = c.args
    cid, seg = int(a["cohortId"]), int(a["segment"])
    gone = indices(bytes(a["indices"]))
    rounds = c.session.get(m.CohortSegment, (cid, seg))
    done = {(p.index, p.round) for p in c.session.scalars(select(m.CohortPayout).where(
        m.CohortPayout.cohort_id == cid, m.CohortPayout.segment == seg, m.CohortPayout.index.in_(gone)))}
    due = [(i, r) for i in gone for r in range(1, (rounds.rounds if rounds else 0) + 1) if (i, r) not in done]
    levels = _levels(c, cid, seg)
    members = _members(c, cid, seg, gone)
    due = [(i, r) for i, r in due if i in members and owed(members[i].limit, levels[r], levels.get(r - 1, 0)) > 0]
    _book_payouts(c, cid, seg, due, int(a["paid"]))
    for i in gone:
        c.session.add(m.CohortRemoval(cohort_id=cid, segment=seg, index=i, block=c.block, tx=c.tx))
    if (cohort := c.session.get(m.Cohort, cid)) is not None:
        cohort.paid += a["paid"]
        cohort.released += a["released"]
        cohort.refunded += a["refund"]
        cohort.locked -= a["paid"] + a["released"]


def _closed(c: Ctx) -> None:
    if (cohort := c.session.get(m.Cohort, c.args["cohortId"])) is not None:
        cohort.closed = True
        cohort.released += c.args["released"]
        cohort.locked -= c.args["released"]


HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "CohortIssued": _issued,
    "SegmentAdded": _segment_added,
    "RoundOpened": _round_opened,
    "CohortPaid": _paid,
    "MembersRemoved": _removed,
    "CohortClosed": _closed,
}
