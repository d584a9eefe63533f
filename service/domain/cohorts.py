"""Group covers (CohortBook): one cover for a distributor's whole customer base.

A cohort is underwritten like a quote (the assessment's anchored level and score, the product's
annual rates, service.domain.underwriting) and priced **per customer** with
service.domain.pricing: every customer's premium is `max(min_premium, ceil(limit × rate_ppm ×
cover_seconds / (10⁶ × 365 days)))`, and the cohort's premium is their sum, so it meets the book's
floor (`minPremium × count`, `minRatePpm` on the total limit, both rounded up) by construction.

The cohort file (leaves and tree, service.domain.cohort_files) is written `pending` before the
transaction is sent and marked `issued` with the cohort id from the receipt, so money never moves
without the file its customers' proofs come from; a refused transaction marks it `failed`.
Adding customers appends a segment (`addSegment`: the earlier roots never change, so no earlier
leaf can); removing one marks it removed on-chain with its proof (`removeMembers`), which
releases its limit minus what it was paid and refunds its unexpired premium share less the cancellation fee."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils import encode_hex as hx
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from contracts import merkle
from contracts.cohort_records import CohortRecord, SegmentRecord
from contracts.enums import RiskLevel as ChainLevel
from service.assessment import anchor_fields
from service.assessment.anchoring import report_anchor_id
from service.assessment.levels import RiskLevel
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.db import models as m
from service.domain import pricing, rerating, underwriting
from service.domain.anchoring import anchor_record, report_status
from service.domain.cohort_files import Customer, Leaf, leaves, pack, tree, unpack
from service.errors import BadRequest, Conflict, NotFound, ServiceError

MayBee = Callable[[str | None], bool]


@dataclass(frozen=True)
class Priced:
    """A segment priced: each customer's premium, the total, and the rate behind them."""

    product: m.Product
    record: m.AssessmentRecord
    premiums: list[int]
    premium: int
    total_limit: int
    cover_seconds: int
    rate: dict[str, Any]


def _no_cohorts(gw: Gateway) -> Any:
    if gw.cohorts is None:
        raise Conflict("this deployment has no CohortBook: group covers are unavailable", type="no_cohort_book")
    return gw.cohorts


def price(session: Session, gw: Gateway, record: m.AssessmentRecord, product_id: int, customers: Sequence[Customer],
          cover_seconds: int) -> Priced:
    """Underwrites `customers` on the assessment's anchored report for `product_id` over
    `cover_seconds`, as a quote would one cover each (the same refusals), and prices each."""
    product = session.get(m.Product, product_id)
    terms = session.get(m.ProductTerms, product_id)
    if product is None or terms is None:
        raise NotFound(f"no product {product_id} with pricing")
    if not product.active:
        raise Conflict(f"product {product.id} is not active", type="product_inactive")
    if not underwriting.MIN_COVER <= cover_seconds <= product.max_cover_seconds:
        raise BadRequest(f"cover_seconds {cover_seconds} is outside this product's {underwriting.MIN_COVER}.."
                         f"{product.max_cover_seconds} s",
                         type="cover_too_long" if cover_seconds > product.max_cover_seconds else "bad_request")
    rerating.refuse_superseded(session, gw, record.report, "no cohort is issued on it")
    status = report_status(gw, record.report)
    if not status.live or status.kind not in underwriting.UNDERWRITABLE:
        raise Conflict("the assessment report is not anchored as a live pre-underwriting or in-policy report: "
                       "anchor it first", type="report_not_underwritable")
    anchored = anchor_record(gw, record.report)
    now = gw.now()
    if now >= anchored.anchored_at + terms.max_report_age_seconds:
        raise Conflict(f"the report was anchored {now - anchored.anchored_at} s ago: older than this product's "
                       f"max_report_age_seconds ({terms.max_report_age_seconds}); assess again",
                       type="report_too_old")
    level: ChainLevel = status.risk_level
    reason = underwriting.decline_reason(level, product, terms)
    if reason is not None:
        raise Conflict(f"the cohort is declined: {reason}", type="cohort_declined")
    top = underwriting.level_limit(level, product)
    for i, c in enumerate(customers):
        if c.limit > top:
            raise BadRequest(f"customer {i} ({c.ref!r}): limit {c.limit} is above the {level.label}-risk limit "
                             f"{top}; nothing was issued", type="limit_above_risk_level")
    terms_p = underwriting.product_pricing(product, terms)
    premiums, rate = [], None
    for c in customers:
        p = pricing.price(terms_p, RiskLevel(level.label), anchored.score_bps, c.limit, cover_seconds)
        premiums.append(p.premium)
        rate = rate or {k: v for k, v in p.breakdown().items() if k not in ("premium", "limit", "raw_premium",
                                                                             "minimum_applied")}
    total, limit = sum(premiums), sum(c.limit for c in customers)
    if total > underwriting.UINT96 or limit > underwriting.UINT96:
        raise BadRequest(f"the cohort's premium {total} or total limit {limit} does not fit the chain's uint96: "
                         "split it into segments", type="premium_too_large")
    assert rate is not None
    return Priced(product, record, premiums, total, limit, cover_seconds, rate)


def _assessment(session: Session, assessment_id: str, may_see: MayBee) -> m.AssessmentRecord:
    record = session.get(m.AssessmentRecord, assessment_id)
    if record is None or not may_see(record.tenant_id):
        raise NotFound(f"no assessment {assessment_id}")
    return record


def _store(session: Session, tenant_id: str, priced: Priced, members: list[Leaf], refs: Sequence[str],
           cover_end: int, *, cohort_id: int | None = None) -> tuple[m.CohortFile, merkle.StandardTree]:
    t = tree(members)
    f = m.CohortFile(tenant_id=tenant_id, cohort_id=cohort_id, product_id=priced.product.id,
                     assessment_id=priced.record.id, root=hx(t.root), count=len(members),
                     total_limit=priced.total_limit, premium=priced.premium, cover_end=cover_end,
                     pricing=priced.rate, tree=pack(t), status="pending")
    session.add(f)
    session.flush()
    session.add_all(m.CohortMember(file_id=f.id, index=x.index, ref=ref, salt=hx(x.salt), beneficiary=x.beneficiary,
                                   limit=x.limit, premium=p, holder=hx(x.holder), leaf=hx(x.hash))
                    for x, ref, p in zip(members, refs, priced.premiums, strict=True))
    session.commit()  # the file exists before any money moves
    return f, t


def _sent(session: Session, gw: Gateway, f: m.CohortFile, fn: Any, event: str) -> dict[str, Any]:
    """Sends `fn` for the file; marks it issued (from `event` in the receipt) or failed."""
    try:
        receipt = gw.send(fn)
    except ServiceError as exc:
        f.status, f.error = "failed", f"{exc.type}: {exc.detail}"
        session.commit()
        raise
    found = [dict(e["args"]) for e in getattr(gw.cohorts.events, event)().process_receipt(receipt, errors=DISCARD)]
    args = found[0]
    f.cohort_id, f.segment = int(args["cohortId"]), int(args.get("segment", 0))
    f.status, f.tx = "issued", hx(receipt["transactionHash"])
    session.commit()
    return args


def issue(session: Session, gw: Gateway, indexer: Indexer, assessment_id: str, product_id: int,
          customers: Sequence[Customer], cover_seconds: int, *, may_see: MayBee) -> m.CohortFile:
    """Issues a cohort of `customers` (segment 0) for the assessment's tenant; returns its file."""
    book = _no_cohorts(gw)
    record = _assessment(session, assessment_id, may_see)
    priced = price(session, gw, record, product_id, customers, cover_seconds)
    end = gw.now() + cover_seconds  # the cover starts at the issuing block (>= now): never longer than priced
    members = leaves(customers)
    f, t = _store(session, record.tenant_id, priced, members, [c.ref for c in customers], end)
    subject = anchor_fields(record.report)["subject"]
    terms = (product_id, 0, end, subject, report_anchor_id(record.report))
    fn = book.functions.issueCohort(terms, t.root, len(members), priced.total_limit, priced.premium)
    try:
        _sent(session, gw, f, fn, "CohortIssued")
    except ServiceError as exc:
        raise rerating.mapped_refusal(session, gw, record.report, exc, "the cohort is not issued") from exc
    indexer.sync()
    return f


def records(session: Session, cohort_id: int) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The cohort's record and its segments' records, in order, as CohortBook takes them back:
    rebuilt from the projection (CohortIssued, SegmentAdded), which is all the book hashed."""
    c = session.get(m.Cohort, cohort_id)
    if c is None:
        raise NotFound(f"cohort {cohort_id} is not projected yet: retry shortly")
    segs = list(session.scalars(select(m.CohortSegment).where(m.CohortSegment.cohort_id == cohort_id)
                                .order_by(m.CohortSegment.segment)))
    rec = CohortRecord(c.distributor, c.product_id, c.cover_start, c.cover_end, segs[0].total_limit)
    return rec.as_tuple(), [SegmentRecord(bytes.fromhex(s.root[2:]), s.count, s.total_limit, s.premium,
                                          s.start).as_tuple() for s in segs]


def files(session: Session, cohort_id: int, may_see: MayBee) -> list[m.CohortFile]:
    """The cohort's issued segment files, in segment order (404 when the caller may not see it)."""
    rows = list(session.scalars(select(m.CohortFile).where(m.CohortFile.cohort_id == cohort_id,
                                                           m.CohortFile.status == "issued")
                                .order_by(m.CohortFile.segment)))
    if not rows or not may_see(rows[0].tenant_id):
        raise NotFound(f"no cohort {cohort_id}")
    return rows


def _live(session: Session, gw: Gateway, indexer: Indexer, cohort_id: int) -> m.Cohort:
    indexer.sync()
    cohort = session.get(m.Cohort, cohort_id)
    if cohort is None:
        raise NotFound(f"cohort {cohort_id} is not projected yet: retry shortly")
    if cohort.closed:
        raise Conflict(f"cohort {cohort_id} is closed", type="cohort_closed")
    if gw.now() >= cohort.cover_end:
        raise Conflict(f"cohort {cohort_id}'s cover ended at {cohort.cover_end}", type="cover_ended")
    return cohort


def add(session: Session, gw: Gateway, indexer: Indexer, cohort_id: int, customers: Sequence[Customer], *,
        may_see: MayBee) -> m.CohortFile:
    """Appends `customers` as a new segment, priced on the cohort's assessment for the rest of
    its cover (from now to its cover end); refs already in the cohort are refused."""
    book = _no_cohorts(gw)
    first = files(session, cohort_id, may_see)[0]
    cohort = _live(session, gw, indexer, cohort_id)
    refs = [c.ref for c in customers]
    taken = set(session.scalars(select(m.CohortMember.ref).join(m.CohortFile, m.CohortFile.id == m.CohortMember.file_id)
                                .where(m.CohortFile.cohort_id == cohort_id, m.CohortMember.ref.in_(refs))))
    if taken:
        raise Conflict(f"already in cohort {cohort_id}: {', '.join(sorted(taken)[:5])}; nothing was added",
                       type="member_exists")
    record = _assessment(session, first.assessment_id, may_see)
    remaining = cohort.cover_end - gw.now()
    priced = price(session, gw, record, cohort.product_id, customers, max(remaining, underwriting.MIN_COVER))
    members = leaves(customers)
    f, t = _store(session, first.tenant_id, priced, members, refs, cohort.cover_end, cohort_id=None)
    rec, segs = records(session, cohort_id)
    fn = book.functions.addSegment(cohort_id, rec, segs[0], t.root, len(members), priced.total_limit, priced.premium)
    _sent(session, gw, f, fn, "SegmentAdded")
    indexer.sync()
    return f


@dataclass(frozen=True)
class Found:
    file: m.CohortFile
    member: m.CohortMember


def member(session: Session, cohort_id: int, ref: str, may_see: MayBee) -> Found:
    files(session, cohort_id, may_see)
    row = session.execute(select(m.CohortFile, m.CohortMember).join(m.CohortMember,
                                                                    m.CohortMember.file_id == m.CohortFile.id)
                          .where(m.CohortFile.cohort_id == cohort_id, m.CohortFile.status == "issued",
                                 m.CohortMember.ref == ref)).first()
    if row is None:
        raise NotFound(f"no customer {ref!r} in cohort {cohort_id}")
    return Found(*row)


def leaf_of(x: m.CohortMember) -> tuple[int, str, int, bytes]:
    return (x.index, x.beneficiary, x.limit, bytes.fromhex(x.holder[2:]))


def proof(f: m.CohortFile, x: m.CohortMember) -> list[bytes]:
    return unpack(f.tree).proof(x.index)


def multiproof(f: m.CohortFile, indices: Sequence[int]) -> merkle.MultiProof:
    return unpack(f.tree).multiproof(list(indices))


def remove(session: Session, gw: Gateway, indexer: Indexer, cohort_id: int, ref: str, *, may_see: MayBee) -> Found:
    """Removes the customer `ref` on-chain (with its proof): not paid in later rounds; its limit
    minus what it was paid is released and its unexpired premium share, less the cancellation fee, refunded."""
    book = _no_cohorts(gw)
    found = member(session, cohort_id, ref, may_see)
    _live(session, gw, indexer, cohort_id)
    if session.get(m.CohortRemoval, (cohort_id, found.file.segment, found.member.index)) is not None:
        raise Conflict(f"customer {ref!r} was removed from cohort {cohort_id} already", type="member_removed")
    mp = multiproof(found.file, [found.member.index])
    rec, segs = records(session, cohort_id)
    gw.send(book.functions.removeMembers(cohort_id, found.file.segment, rec, segs, [leaf_of(found.member)],
                                         mp.proof, mp.flags))
    indexer.sync()
    return found


def payouts_of(session: Session, cohort_id: int, segment: int, index: int) -> list[m.CohortPayout]:
    return list(session.scalars(select(m.CohortPayout).where(
        m.CohortPayout.cohort_id == cohort_id, m.CohortPayout.segment == segment, m.CohortPayout.index == index)
        .order_by(m.CohortPayout.round)))


def member_count(session: Session, cohort_id: int) -> tuple[int, int]:
    """(members, removed) of the cohort."""
    members = session.scalar(select(func.coalesce(func.sum(m.CohortSegment.count), 0))
                             .where(m.CohortSegment.cohort_id == cohort_id)) or 0
    removed = session.scalar(select(func.count()).select_from(m.CohortRemoval)
                             .where(m.CohortRemoval.cohort_id == cohort_id)) or 0
    return int(members), int(removed)
