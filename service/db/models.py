"""Tables. Two kinds: off-chain records the service owns (tenants, keys, assessments, quotes,
policy owners, webhooks, outbox, idempotency) and the projection of chain events (products,
policies, claims, payouts, outages, anchors, maintenance rules and windows, excluded
events), which `reindex` can drop and rebuild."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class BigUint(TypeDecorator[int]):
    """uint96/uint256 amounts as decimal text: exact on SQLite too (its NUMERIC is a float)."""

    impl = String(80)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# --- off-chain records ------------------------------------------------------------------------

class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The insurer's own (platform) tenant, created by the bootstrap admin key: the only tenant
    # whose staff keys act across tenants. Every other tenant is a client.
    insurer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # None: never
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)  # minute resolution


class AssessmentRecord(Base):
    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_hash: Mapped[str] = mapped_column(String(66), index=True)
    score_bps: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(10))
    subject_salt: Mapped[str] = mapped_column(String(66))  # secret: proves which org was assessed
    # The report's subject commitment: a renewal looks up the latest live report of a policy's subject.
    subject: Mapped[str] = mapped_column(String(66), index=True)
    anchor_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Incident(Base):
    """A reported incident (§8): against a policy, or a covered service with the policy named when
    the assessor reports. The §8 clock runs from `reported_at` to `assessment_started_at`; the
    report is an assessment record (kind incident) linked by `assessment_id`."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    policy_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    description: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_by: Mapped[str] = mapped_column(String(32))  # the API key that recorded it
    # The outage window the incident refers to (unix seconds, chain time), when named at intake.
    outage_start: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outage_end: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    log_retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # as reported
    assessment_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    assessment_started_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    assessment_id: Mapped[str | None] = mapped_column(ForeignKey("assessments.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Quote(Base):
    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    product_id: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"))
    report_hash: Mapped[str] = mapped_column(String(66))
    risk_level: Mapped[str] = mapped_column(String(10))
    decision: Mapped[str] = mapped_column(String(10))  # offer | decline
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    premium: Mapped[int | None] = mapped_column(BigUint, nullable=True)
    limit: Mapped[int | None] = mapped_column(BigUint, nullable=True)
    cover_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: quoted before 0008
    pricing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # pricing.Price.breakdown()
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # chain time; None: expired
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The role of the key that asked for the quote (service.domain.figures: a distributor key is the
    # platform's integration, decided by the engine alone; any other role is a person). None: before 0018.
    requested_role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ProductTerms(Base):
    """Off-chain pricing of an on-chain product (the chain holds the payout terms)."""

    __tablename__ = "product_terms"
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    service_name: Mapped[str] = mapped_column(String(500))
    rates: Mapped[dict[str, int]] = mapped_column(JSON)  # risk level → ppm of the limit per year
    medium_sub_limit_bps: Mapped[int] = mapped_column(Integer)
    score_adjustment_bps: Mapped[int] = mapped_column(Integer, default=0)  # service.domain.pricing
    quote_validity_seconds: Mapped[int] = mapped_column(BigInteger)
    max_report_age_seconds: Mapped[int] = mapped_column(BigInteger)  # since the report's on-chain anchoring
    # Before 0008 `rates` were flat premiums per policy: kept here, never priced (the product declines).
    flat_rates: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ClaimNote(Base):
    """The written reason behind a claim decision (only its keccak256 goes on-chain, as the
    rejection's `reason`), and who decided. Off-chain: a reindex keeps it."""

    __tablename__ = "claim_notes"
    claim_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(10))  # approve | reject
    reason: Mapped[str] = mapped_column(Text)
    reason_hash: Mapped[str] = mapped_column(String(66))
    amount: Mapped[int | None] = mapped_column(BigUint, nullable=True)  # approved amount
    decided_by: Mapped[str] = mapped_column(String(32))  # API key id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class PolicyOwner(Base):
    """Which tenant issued a policy, and the salt of its holder commitment (never on-chain)."""

    __tablename__ = "policy_owners"
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    quote_id: Mapped[str] = mapped_column(String(32))
    holder_ref: Mapped[str] = mapped_column(String(200))
    holder_salt: Mapped[str] = mapped_column(String(66))


class PolicySchedule(Base):
    """The schedule (policy wording) of an issued policy, exactly as hashed into its on-chain record
    (service.domain.wording): an off-chain record, like the owner, so `reindex` keeps it."""

    __tablename__ = "policy_schedules"
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule_hash: Mapped[str] = mapped_column(String(66), index=True)


class CancellationNote(Base):
    """Who cancelled a policy through the service, and the written reason (off-chain: a reindex
    keeps it; the chain has the refund)."""

    __tablename__ = "cancellation_notes"
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancelled_by: Mapped[str] = mapped_column(String(32))  # API key id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in progress
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class IssueBatch(Base):
    """A batch issuance request answered before its transactions are mined (`POST
    /v1/policies/batch`): its status to poll. Off-chain (the policies are on-chain)."""

    __tablename__ = "issue_batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    quote_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # sending, pending, issued, partial, failed
    total: Mapped[int] = mapped_column(Integer)
    policy_ids: Mapped[Any] = mapped_column(JSON, default=list)
    error: Mapped[Any] = mapped_column(JSON, nullable=True)  # {type, detail, not_issued_from}
    # "<tenant>/<Idempotency-Key>" of the request (the caller's tenant, as the key's reservation
    # is): a retry after the process died answers this batch, never a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(240), nullable=True, index=True)
    # The thread ended with covers whose transactions' outcome it could not learn: the reconciler finishes it.
    handed_over: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)
    # Touched as each chunk lands: a batch left `sending`/`pending` and untouched this long lost its process.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, onupdate=now)


class IssueRun(Base):
    """One issuance call's write-ahead record (service.domain.issue_intents): what every cover's
    schedule shares, and whose covers they are. Off-chain, like the owners it turns into."""

    __tablename__ = "issue_runs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    quote_id: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # "<tenant>/<Idempotency-Key>" of the request, kept after its covers are decided: a retry of a
    # request whose outcome was unknown answers what this run issued instead of issuing again.
    request_key: Mapped[str | None] = mapped_column(String(240), nullable=True, index=True)
    shared: Mapped[dict[str, Any]] = mapped_column(JSON)  # the schedule's members but holder and beneficiary
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class IssueIntent(Base):
    """A cover about to be sent, written (committed) with the transaction's nonce before that
    transaction is signed: a process that dies before the receipt leaves the holder's salt and
    reference here, and the reconciler turns it into the policy's owner once the policy is on-chain,
    or into "not issued" once the nonce went to another transaction. `outcome` is set exactly once
    (the live issuer and the reconciler both claim with a guarded UPDATE)."""

    __tablename__ = "issue_intents"
    holder: Mapped[str] = mapped_column(String(66), primary_key=True)  # the on-chain holder commitment
    run_id: Mapped[str] = mapped_column(ForeignKey("issue_runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the cover's index in its request
    holder_ref: Mapped[str] = mapped_column(String(200))
    holder_salt: Mapped[str] = mapped_column(String(66))
    beneficiary: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)  # of the operator's transaction carrying it
    written_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)  # the reconciler waits for stale ones
    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True, index=True)  # issued | not_issued
    policy_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PendingRenewal(Base):
    """A renewal written ahead of its transaction (service.domain.lifecycle.renew): the quote and
    schedule of the follow-on cover, with the operator's nonce. The follow-on keeps the old
    policy's holder, so its owner is the old owner; the reconciler records it from the chain if
    the process died before the receipt. One a policy: it can be renewed once."""

    __tablename__ = "pending_renewals"
    old_policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    quote_id: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    schedule_hash: Mapped[str] = mapped_column(String(66))
    nonce: Mapped[int] = mapped_column(BigInteger)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    # The signing secret, sealed with AES-GCM (service.webhooks.sealing): the service needs it
    # in clear to sign, so it is encrypted rather than hashed. Shown once, at creation/rotation.
    secret_sealed: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: paused (deliveries held)
    # "tenant": the tenant's own notices; "insurer": created by an insurer staff key, every
    # tenant's notices (service.notices).
    scope: Mapped[str] = mapped_column(String(16), default="tenant", server_default="tenant")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class WebhookDelivery(Base):
    """The outbox: written in the same transaction as the projection change that caused it."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Notice(Base):
    """Every notice occurrence published (service.notices.publish), whether or not a webhook
    was subscribed: a key is published once, so a replay after a reorg, a retried worker pass or
    a webhook created later never re-sends an occurrence. Off-chain: `reindex` keeps it."""

    __tablename__ = "notices"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # keccak256 of the key, hex
    key: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(40))
    queued: Mapped[int] = mapped_column(Integer)  # deliveries queued for it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ServiceLease(Base):
    """One payout worker per covered service at a time, across replicas."""

    __tablename__ = "service_leases"
    service_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PayoutRetry(Base):
    """A policy whose settle or expire transaction reverted on its own (bisected out of its
    batch): retried after `next_attempt_at`, with a backoff that doubles per failed attempt."""

    __tablename__ = "payout_retries"
    policy_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(10), primary_key=True)  # settle | expire
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # 0: deferred (stale projection)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_error: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class MaintenanceTenant(Base):
    """Which tenant (a distributor) declares the maintenance windows of a covered service. On-chain
    the maintainer is the service's own account, acting for this tenant. Off-chain: a reindex keeps it."""

    __tablename__ = "maintenance_tenants"
    service_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    set_by: Mapped[str] = mapped_column(String(32))  # API key id
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class ExcludedEventOperation(Base):
    """A `declareExcludedEvent` scheduled on the governance timelock: what executing it needs (the
    call and salt), and the reason text whose keccak256 goes on-chain. Off-chain: a reindex keeps it."""

    __tablename__ = "excluded_event_operations"
    operation: Mapped[str] = mapped_column(String(66), primary_key=True)  # the timelock operation id
    service_ids: Mapped[list[str]] = mapped_column(JSON)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    reason_hash: Mapped[str] = mapped_column(String(66), index=True)
    target: Mapped[str] = mapped_column(String(42))
    payload: Mapped[str] = mapped_column(Text)  # 0x calldata of declareExcludedEvent
    salt: Mapped[str] = mapped_column(String(66))
    ready_at: Mapped[int] = mapped_column(BigInteger)  # chain time from which it can be executed
    scheduled_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)  # None: outcome unknown
    executed_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_by: Mapped[str] = mapped_column(String(32))  # API key id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class AssessmentActivity(Base):
    """A §7.2.1 activity of an insured organisation (event monitoring, staff training) recorded
    for a policy's subject: what the due list (service.domain.due) counts as done. A security
    assessment is done by an anchored in-policy report instead. Off-chain: a reindex keeps it."""

    __tablename__ = "assessment_activities"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    subject: Mapped[str] = mapped_column(String(66), index=True)  # the insured organisation's commitment
    policy_id: Mapped[int] = mapped_column(BigInteger)  # the policy it was recorded through
    activity: Mapped[str] = mapped_column(String(30))  # event_monitoring | staff_training
    performed_at: Mapped[int] = mapped_column(BigInteger)  # unix seconds (chain time scale)
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(32))  # API key id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class Accreditation(Base):
    """An Appendix B accreditation of an assessor account: proposed by one accreditor (the scores
    and what the engine computes from them), confirmed by another, then `setAssessor(assessor,
    capability)` scheduled on the governance timelock and executed once ready. `open_for` is the
    assessor while the proposal is open (proposed or scheduled), else None: the unique constraint
    allows one open proposal per assessor. Off-chain: a reindex keeps it."""

    __tablename__ = "accreditations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    assessor: Mapped[str] = mapped_column(String(42), index=True)  # checksummed
    open_for: Mapped[str | None] = mapped_column(String(42), nullable=True, unique=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)  # the request's {dimension: {criterion: 0..10}}
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # provider_json of the scores
    capability: Mapped[int] = mapped_column(Integer)  # 0..100, what goes on-chain
    grade: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)  # proposed|scheduled|effective|rejected
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_capability: Mapped[int] = mapped_column(Integer)  # on-chain at proposal time
    proposed_by: Mapped[str] = mapped_column(String(32))  # API key ids
    confirmed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)  # never proposed_by
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    rejected_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    operation: Mapped[str | None] = mapped_column(String(66), nullable=True, unique=True)  # timelock op id
    target: Mapped[str | None] = mapped_column(String(42), nullable=True)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # 0x calldata of setAssessor
    salt: Mapped[str | None] = mapped_column(String(66), nullable=True)
    ready_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # chain time
    scheduled_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    executed_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    executed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    effective_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # block time of the execution
    cancelled_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)  # a scheduled one rejected
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class CohortFile(Base):
    """One segment of a group cover as the service built it (service.domain.cohorts): its Merkle
    tree (OpenZeppelin's StandardMerkleTree layout: 2n−1 nodes of 32 bytes, root first) and its
    terms. Written before the transaction is sent (`pending`), so a crash after sending never
    leaves money on-chain without the file its customers need; `issued` once the receipt named
    the cohort id and segment. Off-chain: a reindex keeps it (and rebuilds the rest from events)."""

    __tablename__ = "cohort_files"
    __table_args__ = (UniqueConstraint("cohort_id", "segment"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)  # None: not issued
    segment: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | issued | failed
    product_id: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[str] = mapped_column(String(32))
    root: Mapped[str] = mapped_column(String(66), index=True)
    count: Mapped[int] = mapped_column(Integer)
    total_limit: Mapped[int] = mapped_column(BigUint)
    premium: Mapped[int] = mapped_column(BigUint)
    cover_end: Mapped[int] = mapped_column(BigInteger)
    pricing: Mapped[dict[str, Any]] = mapped_column(JSON)  # the per-customer rate, as priced
    tree: Mapped[bytes] = mapped_column(LargeBinary)
    tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=now)


class CohortMember(Base):
    """A customer of a cohort segment: its leaf (index, beneficiary, limit, holder) and the salt
    and reference behind the holder commitment `keccak256(salt ‖ ref)` (never on-chain).
    Off-chain: a reindex keeps it."""

    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("file_id", "index"), UniqueConstraint("file_id", "ref"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("cohort_files.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)  # position in its segment: its bit in the bitmaps
    ref: Mapped[str] = mapped_column(String(200), index=True)
    salt: Mapped[str] = mapped_column(String(66))
    beneficiary: Mapped[str] = mapped_column(String(42))
    limit: Mapped[int] = mapped_column(BigUint)
    premium: Mapped[int] = mapped_column(BigUint)  # this customer's share of the segment premium
    holder: Mapped[str] = mapped_column(String(66))
    leaf: Mapped[str] = mapped_column(String(66))


# --- projection of chain events ---------------------------------------------------------------

class ChainCursor(Base):
    __tablename__ = "chain_cursor"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    block: Mapped[int] = mapped_column(BigInteger)
    # Hash of `block` when it was applied: if the chain no longer has it there, a reorg happened.
    hash: Mapped[str | None] = mapped_column(String(66), nullable=True)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    trigger_seconds: Mapped[int] = mapped_column(BigInteger)  # uint32: beyond PostgreSQL's INTEGER
    payout_kind: Mapped[int] = mapped_column(Integer)
    unit_seconds: Mapped[int] = mapped_column(BigInteger)  # uint32: beyond PostgreSQL's INTEGER
    waiting_seconds: Mapped[int] = mapped_column(BigInteger)  # uint32: beyond PostgreSQL's INTEGER
    grace_seconds: Mapped[int] = mapped_column(BigInteger)  # uint32: beyond PostgreSQL's INTEGER
    active: Mapped[bool] = mapped_column(Boolean)
    auto_pay_limit: Mapped[int] = mapped_column(BigUint)
    payout_amount: Mapped[int] = mapped_column(BigUint)
    policy_limit: Mapped[int] = mapped_column(BigUint)
    max_cover_seconds: Mapped[int] = mapped_column(BigInteger)
    max_start_delay: Mapped[int] = mapped_column(BigInteger)
    min_premium: Mapped[int] = mapped_column(BigUint)
    medium_limit: Mapped[int] = mapped_column(BigUint)  # 0: Medium-risk reports are declined
    min_rate_ppm: Mapped[int] = mapped_column(BigInteger)
    claim_seconds: Mapped[int] = mapped_column(BigInteger)
    exposure_cap: Mapped[int] = mapped_column(BigUint)  # 0: no cap
    event_cap: Mapped[int] = mapped_column(BigUint)  # most one episode may pay across the product; 0: no cap
    cancellation_fee: Mapped[int] = mapped_column(BigUint)  # kept from a cancellation refund
    block: Mapped[int] = mapped_column(BigInteger)


class Policy(Base):
    __tablename__ = "policies"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    issuer: Mapped[str] = mapped_column(String(42))
    cover_start: Mapped[int] = mapped_column(BigInteger)
    cover_end: Mapped[int] = mapped_column(BigInteger)
    limit: Mapped[int] = mapped_column(BigUint)
    beneficiary: Mapped[str] = mapped_column(String(42), index=True)
    holder: Mapped[str] = mapped_column(String(66))
    subject: Mapped[str] = mapped_column(String(66))  # the insured organisation's commitment
    report_hash: Mapped[str] = mapped_column(String(66))
    schedule_hash: Mapped[str] = mapped_column(String(66))  # keccak256 of the policy schedule (0: none)
    premium: Mapped[int] = mapped_column(BigUint)
    renewal_of: Mapped[int] = mapped_column(BigInteger)  # 0, or the policy this one renews
    renewed_by: Mapped[int] = mapped_column(BigInteger)  # 0, or the follow-on policy
    settled: Mapped[int] = mapped_column(BigUint)
    paid: Mapped[int] = mapped_column(BigUint)
    open_claim: Mapped[int] = mapped_column(BigInteger)
    event_settled: Mapped[int] = mapped_column(BigUint)  # part of `settled` from excluded-event episodes
    status: Mapped[int] = mapped_column(Integer, index=True)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))
    # PolicyCancelled: the refund paid to the issuer and the collateral released (None: not cancelled)
    refund: Mapped[int | None] = mapped_column(BigUint, nullable=True)
    released: Mapped[int | None] = mapped_column(BigUint, nullable=True)
    cancel_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)


class Claim(Base):
    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    policy_id: Mapped[int] = mapped_column(BigInteger, index=True)
    amount: Mapped[int] = mapped_column(BigUint)
    entitlement: Mapped[int] = mapped_column(BigUint)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open | approved | rejected | lapsed
    deadline: Mapped[int] = mapped_column(BigInteger, index=True)  # undecided after this: lapses (paid)
    approved: Mapped[int | None] = mapped_column(BigUint, nullable=True)  # paid on approval or lapse
    incident_report: Mapped[str | None] = mapped_column(String(66), nullable=True)
    reason_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)  # of a rejection
    reason: Mapped[str] = mapped_column(String(30))  # why it is in review: above_auto_pay_limit | excluded_event
    block: Mapped[int] = mapped_column(BigInteger)


class Payout(Base):
    """A PayoutSent; `status` is `credited` when the pool could not transfer it and credited it
    to the beneficiary instead (PayoutCredited in the same transaction), else `sent`."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("tx", "log_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(BigInteger, index=True)
    beneficiary: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(BigUint)
    entitlement: Mapped[int] = mapped_column(BigUint)
    status: Mapped[str] = mapped_column(String(10), default="sent")  # sent | credited
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    block_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: projected before 0018


class OutageVerification(Base):
    """Every OutageVerified as submitted (the windows table keeps only the merged result): when an
    outage was first verified on-chain, for the verified-outage-to-payout figure."""

    __tablename__ = "outage_verifications"
    __table_args__ = (UniqueConstraint("tx", "log_index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    block: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)


class Outage(Base):
    """A verified window, as OutageOracle.windowAt(service_id, index) has it: each OutageVerified
    replaces the `replaced` windows at `index` by one (0: inserts it there), so indices shift."""

    __tablename__ = "outages"
    __table_args__ = (UniqueConstraint("service_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    ongoing: Mapped[bool] = mapped_column(Boolean)
    config_version: Mapped[int] = mapped_column(Integer)
    verified_at: Mapped[int] = mapped_column(BigInteger)  # block time of the last change
    start_since: Mapped[int] = mapped_column(BigInteger)  # block time the start was last set
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every OutageVerified
    handled_version: Mapped[int] = mapped_column(Integer, default=0)  # settled by the worker up to
    block: Mapped[int] = mapped_column(BigInteger)
    # The last OutageVerified that set this window: the bitmap of the signers (indices into the
    # signer list of OracleConfig `config_version`) that backed it, and its transaction.
    # None: projected before 0015 (a `cybercover reindex` fills them in).
    signers: Mapped[int | None] = mapped_column(BigUint, nullable=True)
    tx: Mapped[str | None] = mapped_column(String(66), nullable=True)


class Anchor(Base):
    """A singly anchored report. Keyed by its anchor id, keccak256(abi.encode(assessor, reportHash)):
    several assessors may anchor the same hash, each under its own id."""

    __tablename__ = "anchors"
    anchor_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    report_hash: Mapped[str] = mapped_column(String(66), index=True)
    assessor: Mapped[str] = mapped_column(String(42))
    subject: Mapped[str] = mapped_column(String(66))  # the full subject commitment (ReportAnchored)
    score_bps: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[int] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # ReportSuperseded: the anchor id of the report that superseded this one (an in-policy
    # re-rating, or a later report naming it in `replaces`); None while it stands.
    superseded_by: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class ServiceCap(Base):
    """ServiceCapSet: the cap on the total limit of active policies on a covered service, across
    all its products (0: no cap). The exposure itself is read on-chain (serviceExposure)."""

    __tablename__ = "service_caps"
    service_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    cap: Mapped[int] = mapped_column(BigUint)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class MaintenanceRules(Base):
    """OutageOracle.maintenanceRules(service_id), from MaintenanceRulesSet."""

    __tablename__ = "maintenance_rules"
    service_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    maintainer: Mapped[str] = mapped_column(String(42))  # the zero address: no window can be declared
    min_notice: Mapped[int] = mapped_column(BigInteger)  # uint32 seconds
    max_seconds_per_period: Mapped[int] = mapped_column(BigInteger)  # uint32 seconds
    block: Mapped[int] = mapped_column(BigInteger)


class MaintenanceWindow(Base):
    """OutageOracle.maintenanceAt(service_id, index): declared before the fact, sorted, disjoint;
    a cancelled window keeps its place."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (UniqueConstraint("service_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    declared_at: Mapped[int] = mapped_column(BigInteger)  # block time of the declaration
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class ExcludedEvent(Base):
    """OutageOracle.excludedEventAt(service_id, index), from ExcludedEventDeclared."""

    __tablename__ = "excluded_events"
    __table_args__ = (UniqueConstraint("service_id", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(66), index=True)
    index: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    reason_hash: Mapped[str] = mapped_column(String(66))
    declared_at: Mapped[int] = mapped_column(BigInteger)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class OracleConfig(Base):
    """OracleConfigSet: oracle set `version` is `signers` (in order: bit i of an OutageVerified's
    `signers` bitmap is signers[i]), of which `quorum` must co-sign a submission."""

    __tablename__ = "oracle_configs"
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    quorum: Mapped[int] = mapped_column(Integer)
    signers: Mapped[list[str]] = mapped_column(JSON)  # checksummed addresses
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class Cohort(Base):
    """CohortIssued and what followed: a group cover's terms and its money (CohortBook)."""

    __tablename__ = "cohorts"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    distributor: Mapped[str] = mapped_column(String(42))
    cover_start: Mapped[int] = mapped_column(BigInteger)
    cover_end: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(66))
    report_hash: Mapped[str] = mapped_column(String(66))
    premium: Mapped[int] = mapped_column(BigUint)  # collected, all segments
    locked: Mapped[int] = mapped_column(BigUint)  # collateral still locked
    total_limit: Mapped[int] = mapped_column(BigUint)  # Σ segment total limits
    paid: Mapped[int] = mapped_column(BigUint)
    released: Mapped[int] = mapped_column(BigUint)
    refunded: Mapped[int] = mapped_column(BigUint)
    closed: Mapped[bool] = mapped_column(Boolean)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class CohortSegment(Base):
    __tablename__ = "cohort_segments"
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    segment: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(66))
    count: Mapped[int] = mapped_column(Integer)
    total_limit: Mapped[int] = mapped_column(BigUint)
    premium: Mapped[int] = mapped_column(BigUint)
    start: Mapped[int] = mapped_column(BigInteger)  # its cover began (the block time it was added)
    rounds: Mapped[int] = mapped_column(Integer)  # rounds opened
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class CohortRound(Base):
    """RoundOpened: round `round` of a segment owes each member up to `level` (E_r): a member is
    paid min(limit, E_r) − min(limit, E_{r−1}) in it (round 0 is level 0)."""

    __tablename__ = "cohort_rounds"
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    segment: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    round: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    level: Mapped[int] = mapped_column(BigUint)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


class CohortPayout(Base):
    """A member paid in a round (a batch or its own claim); `credited` when the pool could not
    transfer it and credited it to the beneficiary."""

    __tablename__ = "cohort_payouts"
    __table_args__ = (UniqueConstraint("cohort_id", "round", "segment", "index"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cohort_id: Mapped[int] = mapped_column(BigInteger, index=True)
    round: Mapped[int] = mapped_column(Integer)
    segment: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    beneficiary: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(BigUint)
    status: Mapped[str] = mapped_column(String(10), default="sent")  # sent | credited
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66), index=True)
    log_index: Mapped[int] = mapped_column(Integer)


class CohortRemoval(Base):
    """A member removed (MembersRemoved): paid in no later round."""

    __tablename__ = "cohort_removals"
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    segment: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    block: Mapped[int] = mapped_column(BigInteger)
    tx: Mapped[str] = mapped_column(String(66))


PROJECTION = (Product, Policy, Claim, Payout, Outage, Anchor, ServiceCap, MaintenanceRules, MaintenanceWindow,
              ExcludedEvent, OracleConfig, OutageVerification, Cohort, CohortSegment, CohortRound, CohortPayout,
              CohortRemoval, ChainCursor)
