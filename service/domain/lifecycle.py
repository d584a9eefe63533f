"""Cancelling and renewing policies.

Both are on-chain (PolicyBook.cancel / renew) and refused there by the same rules; they are
checked here first against the projection so a clear case gets a clear 409, and a race the
projection lost still gets the same 409 from the revert table (contracts/reverts.py names
`PolicyBookOutageInProgress` → `outage_in_progress`, and so on).

Cancel: an active policy before its cover end, with nothing settled, paid or under review and no
outage of its service in progress (the service's latest verified window ongoing, its start not
final yet, or ended less than the oracle's merge gap ago: the episode may still grow) and no
entitlement waiting to be settled. The chain refunds floor(premium × unexpired / cover length)
less the product's cancellation fee (not below 0) to the issuer and releases the collateral.

Renew: a fresh quote on the subject's current report (service.domain.rerating: its latest
anchored pre-underwriting or in-policy report neither revoked nor superseded), at that report's
level and score — a worse level prices higher (High declines with the reason), a better one
lower (same product unless another of the same service is named); the follow-on cover starts at the old
cover end (no gap, no overlap) and has no waiting period. The limit is the old one capped by the
new level's sub-limit; the cover length is the old one unless another is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import to_checksum_address
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from web3.logs import DISCARD

from contracts.enums import PolicyStatus, ReportKind
from contracts.records import PolicyTerms, UnderwritingStatus
from service.assessment.anchoring import report_anchor_id
from service.chain.gateway import Gateway
from service.chain.indexer import Indexer, policy_record
from service.db import models as m
from service.domain import rerating, underwriting, wording
from service.domain.anchoring import underwriting_status
from service.domain.issue_intents import OutcomePending, renewal_claimed, settle_renewal
from service.domain.wording.basis import basis
from service.errors import BadRequest, ChainError, Conflict, NotFound, ServiceError

MAX_CANDIDATES = 20  # newest reports of a subject looked at for a live one


@dataclass(frozen=True)
class Owned:
    policy: m.Policy
    owner: m.PolicyOwner | None


def find(session: Session, policy_id: int, may_see: Callable[[str | None], bool]) -> Owned:
    """The policy if the caller may see it (another tenant's is not found, as everywhere)."""
    p = session.get(m.Policy, policy_id) if 0 <= policy_id < 2**63 else None
    owner = session.get(m.PolicyOwner, policy_id) if p is not None else None
    if p is None or not may_see(owner.tenant_id if owner else None):
        raise NotFound(f"no policy {policy_id}")
    return Owned(p, owner)


def _product(session: Session, product_id: int) -> m.Product:
    # products.id is a 32-bit INTEGER column: a larger id cannot be there (PostgreSQL would refuse the query)
    product = session.get(m.Product, product_id) if 0 <= product_id < 2**31 else None
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product


def _must_be_running(p: m.Policy, now: int) -> None:
    if p.status != PolicyStatus.ACTIVE:
        raise Conflict(f"policy {p.id} is {PolicyStatus(p.status).label}", type="policy_not_active")
    if now >= p.cover_end:
        raise Conflict(f"policy {p.id}'s cover ended at {p.cover_end}", type="cover_ended")


def outage_in_progress(session: Session, gw: Gateway, service_id: str, now: int) -> str | None:
    """Why the service's latest verified window still counts as an outage in progress (None: it
    does not), as PolicyBook.cancel judges it."""
    latest = session.scalars(select(m.Outage).where(m.Outage.service_id == service_id)
                             .order_by(m.Outage.index.desc()).limit(1)).first()
    if latest is None:
        return None
    merge_gap, finality = gw.episode_params()
    if latest.ongoing:
        return f"an outage of the service is ongoing (since {latest.start})"
    if latest.start_since + finality > now:
        return (f"the start of the service's latest outage ({latest.start}) is final only at "
                f"{latest.start_since + finality}")
    if now < latest.end + merge_gap:
        return (f"the service's latest outage ended at {latest.end}: a window before {latest.end + merge_gap} "
                "would continue it")
    return None


def _check_cancellable(session: Session, gw: Gateway, p: m.Policy, now: int) -> None:
    _must_be_running(p, now)
    if p.settled or p.paid or p.open_claim:
        raise Conflict(f"policy {p.id} has had a payout or a claim (settled {p.settled}, paid {p.paid}, "
                       f"open claim {p.open_claim or 'none'}): it cannot be cancelled", type="policy_has_payout")
    product = _product(session, p.product_id)
    why = outage_in_progress(session, gw, product.service_id, now)
    if why is not None:
        raise Conflict(f"policy {p.id} cannot be cancelled now: {why}", type="outage_in_progress")
    entitled = int(gw.book.functions.entitlementOf(policy_record(p).as_tuple()).call())
    if entitled:
        raise Conflict(f"policy {p.id} is entitled to {entitled} not settled yet: it cannot be cancelled",
                       type="outage_in_progress")


def cancel(session: Session, gw: Gateway, indexer: Indexer, policy_id: int, *,
           may_see: Callable[[str | None], bool], reason: str | None, by: str) -> Owned:
    """Cancels the policy on-chain (refund to its issuer, collateral released); the written
    reason is kept off-chain, stored first so a cancellation whose outcome is unknown keeps it."""
    indexer.sync()
    found = find(session, policy_id, may_see)
    _check_cancellable(session, gw, found.policy, gw.now())
    record = policy_record(found.policy).as_tuple()
    session.merge(m.CancellationNote(policy_id=policy_id, reason=reason, cancelled_by=by))
    session.commit()
    try:
        gw.send(gw.book.functions.cancel(policy_id, record))
    except ServiceError as exc:
        if exc.status < 500:  # refused: nothing happened
            session.execute(delete(m.CancellationNote).where(m.CancellationNote.policy_id == policy_id))
            session.commit()
        raise
    indexer.sync()
    session.expire_all()
    return find(session, policy_id, may_see)


def current_report(session: Session, gw: Gateway, subject: str,
                   tenant_id: str) -> tuple[m.AssessmentRecord, UnderwritingStatus]:
    """The subject's current report (service.domain.rerating: its latest anchored pre-underwriting
    or in-policy report, neither revoked nor superseded, still live on-chain), on file for
    `tenant_id`; else why a renewal cannot be underwritten (a `_declined` reason)."""
    seen = 0
    rows = session.scalars(select(m.Anchor).where(
        m.Anchor.subject == subject.lower(), m.Anchor.kind.in_(rerating.UNDERWRITING_KINDS),
        m.Anchor.revoked.is_(False), m.Anchor.superseded_by.is_(None),
    ).order_by(m.Anchor.block.desc(), m.Anchor.anchor_id).limit(MAX_CANDIDATES))
    for anchor in rows:  # newest first; one whose assessor lost its accreditation is not live
        seen += 1
        status = underwriting_status(gw, bytes.fromhex(anchor.anchor_id[2:]), bytes.fromhex(subject[2:]))
        if not status.live:
            continue
        record = rerating.record_of(session, anchor, tenant_id)
        if record is None:
            raise _NoReport(f"the subject's current report {anchor.anchor_id} ({ReportKind(anchor.kind).label}) is "
                            "not on file for the policy's tenant: underwrite the renewal on-chain or file the report")
        return record, status
    raise _NoReport("no live pre-underwriting or in-policy report of the policy's subject: assess the organisation "
                    "again with the subject_salt of its earlier assessment, and anchor the report")


class _NoReport(Exception):
    pass


# A send that failed this way may still be mined: its write-ahead record stays for the reconciler.
_UNKNOWN_OUTCOME = ("no_receipt", "send_failed", "chain_error")


def _declined(policy_id: int, reason: str) -> Conflict:
    return Conflict(f"renewal of policy {policy_id} declined: {reason}", type="renewal_declined")


def renew(session: Session, gw: Gateway, indexer: Indexer, policy_id: int, *,
          may_see: Callable[[str | None], bool], product_id: int | None, cover_seconds: int | None,
          insurer: str, assessor: str) -> Owned:
    """Issues the follow-on cover of `policy_id` from a fresh quote, with its schedule (starting
    at the old cover end, `renewal_of` the old policy); returns the new policy."""
    indexer.sync()
    found = find(session, policy_id, may_see)
    old, owner = found.policy, found.owner
    now = gw.now()
    _must_be_running(old, now)
    if old.renewed_by:
        if settle_renewal(session, old.id):  # an earlier attempt's receipt was lost: its follow-on recorded now
            session.commit()
        raise Conflict(f"policy {old.id} was already renewed by policy {old.renewed_by}", type="already_renewed")
    if owner is None:
        raise Conflict(f"policy {old.id} was not issued through this service: renew it on-chain",
                       type="policy_not_renewable")
    current = _product(session, old.product_id)
    product = _product(session, product_id if product_id is not None else old.product_id)
    if product.service_id != current.service_id:
        raise BadRequest(f"product {product.id} covers another service than policy {old.id}'s product "
                         f"{current.id}: a renewal covers the same service", type="service_mismatch")
    opens = old.cover_end - product.max_start_delay
    if now < opens:
        raise Conflict(f"policy {old.id} can be renewed from {opens} on (cover end {old.cover_end} less the "
                       f"product's max start delay {product.max_start_delay} s)", type="renewal_not_open")
    length = cover_seconds if cover_seconds is not None else old.cover_end - old.cover_start
    try:
        assessment, status = current_report(session, gw, old.subject, owner.tenant_id)
    except _NoReport as exc:
        raise _declined(old.id, str(exc)) from None
    # The old limit, capped by the new level's sub-limit (a High level declines whatever the limit).
    limit = min(old.limit, underwriting.level_limit(status.risk_level, product))
    quote = underwriting.quote(session, gw, assessment, product.id, limit=limit, cover_seconds=length)
    if quote.decision != "offer" or quote.premium is None or quote.limit is None:
        raise _declined(old.id, quote.reason or "the quote was declined")
    holder, subject = bytes.fromhex(old.holder[2:]), bytes.fromhex(old.subject[2:])
    report_id = report_anchor_id(assessment.report)
    doc, schedule_hash = wording.Covers(basis(
        session, gw, quote, report_id, subject, old.cover_end + length, insurer=insurer, assessor=assessor,
        cover_start=old.cover_end, renewal_of=old.id)).cover(holder, to_checksum_address(old.beneficiary))
    terms = PolicyTerms(product.id, old.cover_end, old.cover_end + length, quote.limit, quote.premium,
                        old.beneficiary, holder, subject, report_id, schedule_hash)
    if session.get(m.PendingRenewal, old.id) is not None:
        raise OutcomePending(f"an earlier renewal of policy {old.id} was sent and its outcome is not known yet; "
                             "retry in a minute", type="outcome_pending")

    ours: list[int] = []  # the nonce our record carries

    def write_ahead(nonce: int) -> None:  # the follow-on's quote and schedule, before it is signed
        try:
            if not ours:  # an INSERT: a concurrent renewal of the same policy finds the row and sends nothing
                session.add(m.PendingRenewal(old_policy_id=old.id, quote_id=quote.id, document=doc,
                                             schedule_hash="0x" + schedule_hash.hex(), nonce=nonce))
            else:  # a retry with another nonce (the first was taken meanwhile)
                session.execute(update(m.PendingRenewal).where(m.PendingRenewal.old_policy_id == old.id)
                                .values(nonce=nonce, written_at=m.now()))
            session.commit()
        except IntegrityError:
            session.rollback()
            raise OutcomePending(f"another renewal of policy {old.id} is being sent", type="outcome_pending") from None
        except BaseException:
            session.rollback()
            raise
        ours[:] = [nonce]

    try:
        receipt = gw.send(gw.book.functions.renew(old.id, policy_record(old).as_tuple(), terms.as_tuple()),
                          before_send=write_ahead)
    except ServiceError as exc:  # superseded since it was read: the chain refuses, named as the quote would be
        if ours and exc.type not in _UNKNOWN_OUTCOME:  # ours, refused for good: nothing to decide later
            session.execute(delete(m.PendingRenewal).where(m.PendingRenewal.old_policy_id == old.id,
                                                           m.PendingRenewal.nonce == ours[0]))
            session.commit()
        mapped = rerating.mapped_refusal(session, gw, assessment.report, exc, f"policy {old.id} is not renewed")
        if mapped is exc:
            raise
        raise mapped from exc
    events = gw.book.events.PolicyRenewed().process_receipt(receipt, errors=DISCARD)
    if not events:
        raise ChainError("renew mined without a PolicyRenewed event")
    new_id = int(events[0]["args"]["newPolicyId"])
    if renewal_claimed(session, old.id):  # else the reconciler recorded the follow-on first
        session.add(m.PolicyOwner(policy_id=new_id, tenant_id=owner.tenant_id, quote_id=quote.id,
                                  holder_ref=owner.holder_ref, holder_salt=owner.holder_salt))
        session.add(m.PolicySchedule(policy_id=new_id, document=doc, schedule_hash="0x" + schedule_hash.hex()))
    session.commit()
    indexer.sync()
    session.expire_all()
    return find(session, new_id, may_see)
