"""Issuing policies from an accepted quote: one, or many chunked into issueBatch transactions.
The holder goes on-chain only as a salted hash; the distributor's reference and the salt stay in
the database, with the tenant that owns the policy. Each cover gets its schedule (the policy
wording, service.domain.wording), whose hash goes into its terms and whose document is kept
with its owner row."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils import event_abi_to_log_topic, keccak
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from web3.utils.abi import log_topic_to_bytes

from contracts.eip55 import to_checksum_address
from contracts.errors import ContractsError
from contracts.records import PolicyTerms
from contracts.sender import Pipeline
from service import notices
from service.assessment import anchor_fields
from service.assessment.anchoring import report_anchor_id
from service.chain.gateway import Gateway, chain_error
from service.chain.indexer import Indexer
from service.db import models as m
from service.domain import rerating, wording
from service.domain.wording.basis import basis
from service.errors import BadRequest, Conflict, NotFound, ServiceError


class Cover(Protocol):
    beneficiary: str
    holder_ref: str  # the distributor's customer reference


@dataclass(frozen=True)
class Unissued:
    """A chunk the chain refused after earlier chunks were issued: covers from `not_issued_from` on."""

    type: str
    detail: str
    not_issued_from: int  # index in `covers` of the first cover not issued


@dataclass(frozen=True)
class Issued:
    policies: list[tuple[m.Policy, m.PolicyOwner]]
    error: Unissued | None = None


def _offer(session: Session, quote_id: str, may_see: Callable[[str | None], bool]) -> m.Quote:
    q = session.get(m.Quote, quote_id)
    if q is None or not may_see(q.tenant_id):
        raise NotFound(f"no quote {quote_id}")
    if q.decision != "offer":
        raise Conflict(f"quote {quote_id} was declined: {q.reason}", type="quote_declined")
    return q


def _cover_seconds(quote: m.Quote, cover_seconds: int | None, now: int) -> int:
    """The quote's cover length, while the quote is valid (chain time, as the quote's expiry)."""
    if quote.expires_at is None or quote.cover_seconds is None or now >= quote.expires_at:
        raise Conflict(f"quote {quote.id} expired at {quote.expires_at} (chain time now {now}): quote again",
                       type="quote_expired")
    if cover_seconds is not None and cover_seconds != quote.cover_seconds:
        raise BadRequest(f"cover_seconds {cover_seconds} differs from the {quote.cover_seconds} s the quote priced",
                         type="cover_mismatch")
    return quote.cover_seconds


def issued_ids(receipt: Any, book: str, topic: bytes) -> list[int]:
    """The policy ids of the book's PolicyIssued logs in `receipt`, in log order. The id is the
    event's first indexed topic: the record in its data (decoded by the indexer) is not needed
    here, and decoding it cost ~3 ms a cover on the request's process."""
    book = book.lower()
    return [int.from_bytes(log_topic_to_bytes(log["topics"][1]), "big") for log in receipt["logs"]
            if str(log["address"]).lower() == book and len(log["topics"]) == 4
            and log_topic_to_bytes(log["topics"][0]) == topic]


def issue(session: Session, gw: Gateway, indexer: Indexer, quote_id: str, covers: Sequence[Cover],
          cover_seconds: int | None, chunk: int, *, may_see: Callable[[str | None], bool], insurer: str,
          assessor: str, in_flight: int = 1, on_sent: Callable[[], None] | None = None,
          batch_id: str | None = None) -> Issued:
    """Issues `covers` on the offer `quote_id` (which the caller must see, and which has not
    expired), each with the quote's limit, premium and cover length (`cover_seconds`, if given,
    must be the quote's), in chunks of `chunk`, and records the owner and the schedule of every
    issued id (`insurer` and `assessor`: the names the schedules give). A chunk that fails after
    earlier ones were issued ends the call with what was issued and the error (raising would hide
    money that moved); a failing first chunk raises. `on_sent` is called once every transaction is
    broadcast (before their receipts); each cover's `policy.issued` notice goes out as its
    transaction's receipt is recorded (`batch_id` in it)."""
    quote = _offer(session, quote_id, may_see)
    now = gw.now()
    # The cover starts at the issuing block (>= now), so the chain's cover is never longer than
    # the one priced: the premium still meets its floor.
    end = now + _cover_seconds(quote, cover_seconds, now)
    record = session.get(m.AssessmentRecord, quote.assessment_id)
    assert record is not None
    rerating.refuse_superseded(session, gw, record.report, f"quote {quote.id} is not issued")
    report_id = report_anchor_id(record.report)  # the book takes the anchor id: it commits to the assessor
    subject = anchor_fields(record.report)["subject"]  # the insured the report was anchored for
    salts = [secrets.token_bytes(32) for _ in covers]
    schedules = wording.Covers(basis(session, gw, quote, report_id, subject, end, insurer=insurer, assessor=assessor))
    issued: list[int] = []
    error: Unissued | None = None
    failures: list[tuple[int, ServiceError]] = []

    def landed(tag: tuple[int, list[Any], list[Any], list[Any]], receipt: Any) -> None:
        _, part, docs, hashes = tag
        ids = issued_ids(receipt, gw.book.address, topic)
        rows = list(zip(ids, part, docs, hashes, strict=True))
        if rows:  # one multi-row INSERT a table (no ORM object a cover: the join below loads them)
            session.execute(insert(m.PolicyOwner), [
                {"policy_id": pid, "tenant_id": quote.tenant_id, "quote_id": quote.id, "holder_ref": c.holder_ref,
                 "holder_salt": "0x" + salt.hex()} for pid, (c, salt), _, _ in rows])
            session.execute(insert(m.PolicySchedule), [
                {"policy_id": pid, "document": doc, "schedule_hash": "0x" + h.hex()} for pid, _, doc, h in rows])
        tx = "0x" + bytes(receipt["transactionHash"]).hex()
        notices.publish_many(session, "policy.issued", [
            (f"policy.issued:{pid}", {"policy_id": pid, "batch_id": batch_id, "holder_ref": c.holder_ref,
                                      "beneficiary": to_checksum_address(c.beneficiary), "product_id": quote.product_id,
                                      "limit": str(quote.limit), "premium": str(quote.premium)})
            for pid, (c, _) in zip(ids, part, strict=True)], tenant_ids=[quote.tenant_id],
            block=int(receipt["blockNumber"]), tx=tx)
        session.commit()  # owners are committed per chunk: that money has moved
        issued.extend(ids)

    def refused(tag: tuple[int, list[Any], list[Any], list[Any]], exc: Exception) -> None:
        if not isinstance(exc, ContractsError):
            raise exc
        failures.append((tag[0], chain_error(exc)))

    # Pipelined: up to `in_flight` issue transactions at once (nonces assigned at broadcast), the
    # receipts awaited in order; the first refusal stops further broadcasts, what is in flight lands.
    topic = event_abi_to_log_topic(gw.book.events.PolicyIssued().abi)  # type: ignore[arg-type]
    pipe = Pipeline(gw, in_flight, landed, refused)  # type: ignore[arg-type]
    try:
        for i in range(0, len(covers), chunk):
            if failures:
                break
            part = list(zip(covers[i:i + chunk], salts[i:i + chunk], strict=True))
            docs, hashes, terms = [], [], []
            for c, salt in part:  # per cover only the holder and beneficiary differ
                holder = keccak(salt + c.holder_ref.encode())
                doc, h = schedules.cover(holder, to_checksum_address(c.beneficiary))
                docs.append(doc)
                hashes.append(h)
                terms.append(PolicyTerms(quote.product_id, 0, end, quote.limit, quote.premium, c.beneficiary, holder,
                                         subject, report_id, hashes[-1]).as_tuple())
            fn = gw.book.functions.issue(terms[0]) if len(terms) == 1 else gw.book.functions.issueBatch(terms)
            try:
                pipe.submit(fn, gw.operator, (i, part, docs, hashes))
            except ContractsError as exc:
                failures.append((i, chain_error(exc)))
        if on_sent is not None:
            on_sent()
    finally:
        pipe.drain()
    if failures:
        i, exc = min(failures, key=lambda f: f[0])
        mapped = rerating.mapped_refusal(session, gw, record.report, exc, f"quote {quote.id} is not issued")
        if not issued:
            if mapped is exc:
                raise exc
            raise mapped from exc
        error = Unissued(mapped.type, mapped.detail, i)
    indexer.sync()
    rows = session.execute(select(m.Policy, m.PolicyOwner).join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                           .where(m.Policy.id.in_(issued)).order_by(m.Policy.id)).all()
    return Issued([(p, o) for p, o in rows], error)
