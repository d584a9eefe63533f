"""Claims above the auto-pay limit, listed for review with their evidence (service.domain.claim_view)
and decided (service.domain.claims), and the payouts ledger, with payouts the pool could not
transfer shown as credited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

import httpx
from eth_utils import decode_hex
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, SettingsDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Hex32, Out, Strict
from service.chain.gateway import Gateway
from service.db import models as m
from service.domain import claim_view, claims, exclusions
from service.errors import NotFound
from service.settings import Settings

router = APIRouter(prefix="/v1", tags=["claims"])
Reviewer = Annotated[Principal, Depends(require("claims"))]
Reason = Annotated[str, Field(min_length=1, max_length=5000)]
ClaimStatus = Literal["open", "approved", "rejected", "lapsed"]


class Approval(Strict):
    incident_report: Hex32 = Field(description="Anchor id of the §8 incident report, anchored for "
                                               "keccak256(abi.encode(insured subject, service id))")
    amount: Annotated[int, Field(ge=1, le=2**96 - 1)] | None = Field(
        None, description="Amount to approve and pay, at most the claim and `approval_cap.amount` (the rest is "
                          "declined); default: all of it")
    reason: Reason | None = Field(None, description="Written reason (e.g. for a partial approval); kept off-chain")


class Rejection(Strict):
    reason: Reason = Field(description="Written reason; its keccak256 goes on-chain, the text is kept here")
    incident_report: Hex32 | None = Field(None, description="Optional: an incident report the decision relies "
                                          "on; checked like an approval's when given")


class ExcludedEventRef(Out):
    service_id: str
    index: int
    start: int
    end: int
    reason: str | None = Field(description="The event's public statement (null: declared outside this service)")
    reason_hash: str
    declared_at: int


class EvidenceLink(Out):
    node: str | None = Field(description="The signer's oracle node API (settings.oracle_nodes); null: none configured")
    status: Literal["resolved", "not_resolved", "not_found", "unreachable", "no_node"] = Field(
        description="resolved: `url` is the node's evidence bundle of its episode; not_resolved: the list view "
                    "does not ask the nodes (GET /v1/claims/{id} does); not_found: the node has no report of "
                    "this signer overlapping the episode; unreachable: the node did not answer (see `error`)")
    url: str | None = Field(description="GET {node}/v1/evidence/{episode_id}?seq=…: the signed observations "
                                        "with Merkle proofs (`cybercover-oracle evidence verify <url>` checks it)")
    episode_id: str | None
    seq: int | None
    reports_url: str | None = Field(description="The node's signed reports of the service from the episode's start")
    error: str | None


class EpisodeSigner(Out):
    address: str
    windows: list[int] = Field(description="Indices of the episode's windows this signer backed")
    evidence: EvidenceLink


class EpisodeWindow(Out):
    index: int
    start: int
    end: int
    ongoing: bool
    config_version: int
    signers: list[str] | None = Field(description="The oracle signers of the OutageVerified that last set the "
                                                  "window; null: unknown (projected before 0015: reindex)")
    signers_bitmap: str | None = Field(description="OutageVerified's `signers` bitmap over the config's signer list")
    block: int
    tx: str | None


class ClaimEpisode(Out):
    service_id: str
    start: int
    end: int
    down_seconds: int = Field(description="Downtime outside declared maintenance: what pays")
    maintenance_seconds: int
    ongoing: bool
    final_at: int
    first_index: int
    excluded_event: int | None = Field(description="Index of the excluded event it overlaps (null: none)")
    entitlement: int = Field(description="What this episode is owed before the policy limit")
    windows: list[EpisodeWindow]
    signers: list[EpisodeSigner]


class IncidentVerification(Out):
    anchored: bool
    live: bool = Field(description="Anchored and not revoked (as projected; an approval asks the chain)")
    incident_kind: bool
    bound: bool = Field(description="Anchored for keccak256(abi.encode(insured subject, service id))")
    window_overlaps_claim: bool = Field(description="Its report.incident.outage window overlaps an episode")
    approvable: bool
    problems: list[str] = Field(description="not_anchored, revoked, not_an_incident_report, "
                                            "not_bound_to_policy_subject_and_service, not_on_file, outside_outage")
    detail: str | None


class IncidentOnFile(Out):
    anchor_id: str | None
    on_file: bool = Field(description="The service holds the report document (an incident assessment record)")
    assessment_id: str | None
    report_hash: str | None
    expected_subject: str = Field(description="The subject an incident report on this claim must be anchored for")
    anchored: bool
    anchor_block: int | None
    anchor_tx: str | None
    outage: dict[str, Any] | None = Field(description="report.incident.outage: {service_id, start, end}")
    quantified_loss: dict[str, Any] | None = Field(description="report.incident.losses: currency and total_minor")
    verification: IncidentVerification


class QuantifiedLoss(Out):
    currency: str = Field(description="ISO 4217, the report's")
    total_minor: int = Field(description="report.incident.losses.total_minor: minor units of the currency")
    token_units: int | None = Field(description="The same in payout token units (rounded down); null: the "
                                                "currency is not the payout token's, or that is not configured")


class ApprovalCap(Out):
    amount: int = Field(description="The most an approval may pay now: min(claim, quantified loss in token units) "
                                    "when the report is in the token's currency, else the claim")
    basis: Literal["claim", "quantified_loss"]
    claim: int
    token_currency: str | None = Field(description="settings.token_currency (CYBERCOVER_TOKEN_CURRENCY)")
    token_decimals: int | None
    quantified_loss: QuantifiedLoss | None = Field(description="Of the incident report shown in `incident`")
    detail: str = Field(description="Why the cap is what it is")


class Deadline(Out):
    decision_deadline: int = Field(description="Unix time (chain) after which an undecided claim lapses: paid in full")
    seconds_left: int | None = Field(description="Until the decision deadline, chain time; null: decided")
    passed: bool


class ClaimOut(Out):
    id: int
    policy_id: int
    amount: int
    entitlement: int
    status: ClaimStatus
    review_reason: Literal["above_auto_pay_limit", "excluded_event"] = Field(
        description="Why it is in review (on-chain): entitlement above the auto-pay limit, or from an outage "
                    "inside a declared excluded event (never auto-paid)")
    deadline: int = Field(description="Unix time after which an undecided claim lapses: paid in full")
    approved: int | None = Field(description="Paid on approval (≤ amount) or lapse")
    declined: int | None = Field(description="The part not paid: amount − approved, or all of a rejected claim")
    incident_report: str | None
    reason: str | None = Field(description="The written reason of the decision, if one was given")
    reason_hash: str | None = Field(description="keccak256 of the rejection's reason, as recorded on-chain")
    excluded_event: ExcludedEventRef | None = Field(
        description="The declared excluded event an episode of the cover overlapped (its entitlement is never "
                    "auto-paid: it is in review), with its period and reason text; null: none")
    in_review: int = Field(description="The amount awaiting a decision (the claim while open; 0 once decided)")
    auto_pay_limit: int | None = Field(description="The product's auto-pay limit (what was paid without review)")
    policy_paid: int | None = Field(description="Paid on the policy so far: auto-pay and decided claims")
    deadlines: Deadline
    approval_cap: ApprovalCap = Field(
        description="The most an approval against the incident report shown may pay (400 "
                    "`approval_above_quantified_loss` above it), with its basis")
    episodes: list[ClaimEpisode] = Field(
        description="The verified outage episodes behind the claim: those the book counts for the cover (started "
                    "in it after any waiting period, final, above the trigger), with their windows, the oracle "
                    "signers that backed them, tx and block, and per signer the node's evidence link")
    incident: IncidentOnFile | None = Field(
        description="The incident report the decision used, else the latest on file for the policy's subject and "
                    "service, with its verification and stated outage window; null: the policy is not projected")

    @classmethod
    def of_claim(cls, c: m.Claim, note: m.ClaimNote | None, event: dict[str, Any] | None = None,
                 **view: Any) -> ClaimOut:
        declined = c.amount - c.approved if c.approved is not None else c.amount if c.status == "rejected" else None
        # An open claim's note is a decision in flight: its reason is not the claim's yet.
        reason = note.reason if note is not None and c.status != "open" else None
        return cls.of(c, declined=declined, reason=reason, review_reason=c.reason, excluded_event=event, **view)


class PayoutOut(Out):
    policy_id: int
    beneficiary: str
    amount: int
    entitlement: int
    status: Literal["sent", "credited"] = Field(description="credited: the pool could not transfer it; the "
                                                "beneficiary claims it from CoverPool (claim(to))")
    block: int
    tx: str


def _owned(session: Session, principal: Principal, policy_id: int) -> bool:
    owner = session.get(m.PolicyOwner, policy_id)
    return principal.can_see(owner.tenant_id if owner else None)


def _scope(q: Any, principal: Principal, policy_col: Any) -> Any:
    """Claims and payouts belong to the tenant that issued their policy."""
    return principal.scope(q.outerjoin(m.PolicyOwner, m.PolicyOwner.policy_id == policy_col),
                           m.PolicyOwner.tenant_id)


def get_node_client(settings: SettingsDep) -> Iterator[httpx.Client]:
    """The HTTP client the claim view asks the oracle nodes with (tests override it)."""
    with httpx.Client(timeout=settings.oracle_node_timeout, follow_redirects=False) as client:
        yield client


NodeClient = Annotated[httpx.Client, Depends(get_node_client)]


@router.get("/claims", response_model=list[ClaimOut])
def list_claims(session: SessionDep, gw: GatewayDep, settings: SettingsDep, principal: Anyone,
                status: ClaimStatus | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[ClaimOut]:
    """Claims with their episodes and incident report; evidence links are not resolved here
    (`not_resolved`, with each node's reports URL): GET /v1/claims/{id} asks the nodes."""
    q = _scope(select(m.Claim, m.ClaimNote), principal, m.Claim.policy_id).outerjoin(
        m.ClaimNote, m.ClaimNote.claim_id == m.Claim.id)
    if status is not None:
        q = q.where(m.Claim.status == status)
    now = gw.now()
    signers = claim_view.Signers(session, gw)
    return [_view(session, gw, settings, c, n, None, now, signers)
            for c, n in session.execute(q.order_by(m.Claim.id).limit(limit).offset(offset))]


@router.get("/claims/{claim_id}", response_model=ClaimOut)
def get_claim(claim_id: int, session: SessionDep, gw: GatewayDep, settings: SettingsDep, client: NodeClient,
              principal: Anyone) -> ClaimOut:
    """The claim for review: the episodes behind it with their signers and each signer's evidence link
    on its oracle node, the incident report with its verification and outage window, the amount in
    review and the decision deadline."""
    c = session.get(m.Claim, claim_id) if 0 <= claim_id < 2**63 else None
    if c is None or not _owned(session, principal, c.policy_id):
        raise NotFound(f"no claim {claim_id}")
    return _view(session, gw, settings, c, session.get(m.ClaimNote, c.id), client)


def _view(session: Session, gw: Gateway, settings: Settings, claim: m.Claim, note: m.ClaimNote | None,
          client: httpx.Client | None, now: int | None = None,
          signers: claim_view.Signers | None = None) -> ClaimOut:
    now = gw.now() if now is None else now
    ctx = claim_view.context(session, gw, claim, now)
    is_open = claim.status == "open"
    view: dict[str, Any] = {
        "in_review": claim.amount if is_open else 0,
        "auto_pay_limit": ctx.product.auto_pay_limit if ctx else None,
        "policy_paid": ctx.policy.paid if ctx else None,
        "deadlines": {"decision_deadline": claim.deadline, "passed": now > claim.deadline,
                      "seconds_left": max(0, claim.deadline - now) if is_open else None},
        "episodes": [], "incident": None,
    }
    if ctx is not None:
        view["episodes"] = claim_view.episodes_view(ctx, signers or claim_view.Signers(session, gw),
                                                    settings.oracle_nodes, client)
        view["incident"] = claim_view.incident_view(session, ctx, claims.incident_binding(session, ctx.policy))
    incident = view["incident"]
    report = None
    if incident is not None and incident["assessment_id"] is not None:
        record = session.get(m.AssessmentRecord, incident["assessment_id"])
        report = record.report if record is not None else None
    view["approval_cap"] = claim_view.approval_cap(report, claim.amount, settings.token_currency,
                                                   settings.token_decimals)
    return ClaimOut.of_claim(claim, note, exclusions.claim_event(session, claim, *gw.episode_params()), **view)


def _answer(session: Session, gw: Gateway, settings: Settings, claim: m.Claim) -> ClaimOut:
    """A decision's answer: the claim as decided (evidence links not resolved)."""
    return _view(session, gw, settings, claim, session.get(m.ClaimNote, claim.id), None)


@router.post("/claims/{claim_id}/approve", response_model=ClaimOut, responses=responses(400, 409, 502))
def approve_claim(claim_id: int, body: Approval, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                  settings: SettingsDep, principal: Reviewer, idem: Idempotent) -> JSONResponse:
    """Pays `amount` (default: the whole claim) against a live incident report bound to the
    policy's insured subject and service (400 `invalid_incident_report`), whose document is on
    file (400 `incident_report_not_on_file`) and whose stated outage window overlaps an episode
    behind the claim (400 `incident_outside_outage`), for at most the report's quantified loss in token
    units when its currency is the payout token's (400 `approval_above_quantified_loss`; the claim's
    `approval_cap`); the rest of the claim is declined. A claim
    is decided once (409 `claim_not_open`), before its deadline (409 `claim_deadline_passed`)."""
    return idem.run(body, lambda: _answer(session, gw, settings, claims.approve(
        session, gw, indexer, claim_id, decode_hex(body.incident_report), body.amount, body.reason, principal.key_id,
        token_currency=settings.token_currency, token_decimals=settings.token_decimals)))


@router.post("/claims/{claim_id}/reject", response_model=ClaimOut, responses=responses(400, 409, 502))
def reject_claim(claim_id: int, body: Rejection, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                 settings: SettingsDep, principal: Reviewer, idem: Idempotent) -> JSONResponse:
    """Declines the claim with a written reason (its keccak256 is the on-chain `reason`); no
    incident report is needed."""
    report = decode_hex(body.incident_report) if body.incident_report is not None else None
    return idem.run(body, lambda: _answer(session, gw, settings, claims.reject(
        session, gw, indexer, claim_id, body.reason, report, principal.key_id)))


@router.get("/payouts", response_model=list[PayoutOut])
def list_payouts(session: SessionDep, principal: Anyone,
                 policy_id: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
                 status: Literal["sent", "credited"] | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> list[PayoutOut]:
    q = _scope(select(m.Payout), principal, m.Payout.policy_id)
    if policy_id is not None:
        q = q.where(m.Payout.policy_id == policy_id)
    if status is not None:
        q = q.where(m.Payout.status == status)
    rows = session.scalars(q.order_by(m.Payout.block, m.Payout.log_index).limit(limit).offset(offset))
    return [PayoutOut.of(p) for p in rows]
