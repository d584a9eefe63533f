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
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3.utils.abi import log_topic_to_bytes

from contracts.eip55 import to_checksum_address
from contracts.errors import CallRejected, ContractsError, NonceTaken, TransactionFailed
from contracts.records import PolicyTerms
from contracts.reverts import ContractRevert
from contracts.sender import Pipeline
from service.assessment import anchor_fields
from service.assessment.anchoring import report_anchor_id
from service.chain.gateway import Gateway, chain_error
from service.chain.indexer import Indexer
from service.db import models as m
from service.domain import issue_intents, rerating, wording
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
    unknown: int = 0  # covers sent whose outcome is not known yet (no receipt): the reconciler records them


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
          batch_id: str | None = None, request_key: str | None = None) -> Issued:
    """Issues `covers` on the offer `quote_id` (which the caller must see, and which has not
    expired), each with the quote's limit, premium and cover length (`cover_seconds`, if given,
    must be the quote's), in chunks of `chunk`, and records the owner and the schedule of every
    issued id (`insurer` and `assessor`: the names the schedules give). A chunk that fails after
    earlier ones were issued ends the call with what was issued and the error (raising would hide
    money that moved); a failing first chunk raises. `on_sent` is called once every transaction is
    broadcast (before their receipts); each cover's `policy.issued` notice goes out as its
    transaction's receipt is recorded (`batch_id` in it). Each chunk's covers are written ahead
    of its transaction (service.domain.issue_intents): `Issued.unknown` counts those whose outcome
    this call could not learn, which the worker's reconciler records from the chain.
    `request_key` ("<tenant>/<Idempotency-Key>"): an earlier attempt of the same request whose
    answer was lost is answered again (`issue_intents.earlier`) rather than issued twice."""
    quote = _offer(session, quote_id, may_see)
    if request_key is not None:
        before = issue_intents.earlier(session, request_key, len(covers))
        if before is not None:
            return _answer(session, indexer, before.policy_ids, None if before.missing_from is None else Unissued(
                "interrupted", "an earlier attempt of this request issued only the covers before "
                "not_issued_from (and any listed)", before.missing_from))
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
    # Written ahead of each transaction: a process that dies before its receipt loses no owner.
    wal = issue_intents.WriteAhead(session, tenant_id=quote.tenant_id, quote_id=quote.id, batch_id=batch_id,
                                   shared=schedules.shared, request_key=request_key)
    issued: list[int] = []
    error: Unissued | None = None
    failures: list[tuple[int, ServiceError]] = []
    Tag = tuple[int, list[issue_intents.Intent], list[Any], list[Any]]

    def landed(tag: Tag, receipt: Any) -> None:
        _, part, docs, hashes = tag
        ids = issued_ids(receipt, gw.book.address, topic)
        schedule = {c.position: (doc, h) for c, doc, h in zip(part, docs, hashes, strict=True)}
        claimed = wal.claim(zip(part, ids, strict=True))  # all, unless the reconciler recorded some first
        issue_intents.record(
            session, tenant_id=quote.tenant_id, quote_id=quote.id, batch_id=batch_id, product_id=quote.product_id,
            limit=int(quote.limit or 0), premium=int(quote.premium or 0),
            rows=[(pid, c, *schedule[c.position]) for c, pid in claimed],
            block=int(receipt["blockNumber"]), tx="0x" + bytes(receipt["transactionHash"]).hex())
        if batch_id is not None:
            issue_intents.touch_batch(session, batch_id, strict=False)
        session.commit()  # owners are committed per chunk: that money has moved
        issued.extend(ids)

    def refused(tag: Tag, exc: Exception) -> None:
        if not isinstance(exc, ContractsError):
            raise exc
        if _never_mined(exc):  # else (no receipt in time) it may still land: the reconciler decides
            wal.not_issued(tag[1])
        failures.append((tag[0], chain_error(exc)))

    # Pipelined: up to `in_flight` issue transactions at once (nonces assigned at broadcast), the
    # receipts awaited in order; the first refusal stops further broadcasts, what is in flight lands.
    topic = event_abi_to_log_topic(gw.book.events.PolicyIssued().abi)  # type: ignore[arg-type]
    pipe = Pipeline(gw, in_flight, landed, refused)  # type: ignore[arg-type]
    try:
        for i in range(0, len(covers), chunk):
            if failures:
                break
            part: list[issue_intents.Intent] = []
            docs, hashes, terms = [], [], []
            for k, (c, salt) in enumerate(zip(covers[i:i + chunk], salts[i:i + chunk], strict=True)):
                # per cover only the holder and beneficiary differ
                holder = keccak(salt + c.holder_ref.encode())
                beneficiary = to_checksum_address(c.beneficiary)
                part.append(issue_intents.Intent(i + k, holder, c.holder_ref, salt, beneficiary))
                doc, h = schedules.cover(holder, beneficiary)
                docs.append(doc)
                hashes.append(h)
                terms.append(PolicyTerms(quote.product_id, 0, end, quote.limit, quote.premium, c.beneficiary, holder,
                                         subject, report_id, hashes[-1]).as_tuple())
            fn = gw.book.functions.issue(terms[0]) if len(terms) == 1 else gw.book.functions.issueBatch(terms)
            try:
                pipe.submit(fn, gw.operator, (i, part, docs, hashes), before_send=wal.hook(part))
            except issue_intents.BatchClosed as exc:
                failures.append((i, exc))
            except ContractsError as exc:
                if isinstance(exc, ContractRevert | CallRejected):  # refused before the node took it
                    wal.not_issued(part)
                failures.append((i, chain_error(exc)))
        if on_sent is not None:
            on_sent()
    finally:
        pipe.drain()
    unknown = wal.close()
    if failures:
        i, exc = min(failures, key=lambda f: f[0])
        mapped = rerating.mapped_refusal(session, gw, record.report, exc, f"quote {quote.id} is not issued")
        if not issued:  # (an unknown outcome too: 502 no_receipt; the reconciler records the owner if it lands)
            if mapped is exc:
                raise exc
            raise mapped from exc
        error = Unissued(mapped.type, mapped.detail, i)
    return _answer(session, indexer, issued, error, unknown)


def _answer(session: Session, indexer: Indexer, ids: list[int], error: Unissued | None, unknown: int = 0) -> Issued:
    indexer.sync()
    rows = session.execute(select(m.Policy, m.PolicyOwner).join(m.PolicyOwner, m.PolicyOwner.policy_id == m.Policy.id)
                           .where(m.Policy.id.in_(ids)).order_by(m.Policy.id)).all()
    return Issued([(p, o) for p, o in rows], error, unknown)


def _never_mined(exc: ContractsError) -> bool:
    """Reverted on-chain, or its nonce went to another transaction: it is not, and never will be, on-chain."""
    return isinstance(exc, ContractRevert | TransactionFailed | NonceTaken)
