"""Assessor accreditation (service.domain.accreditation): Appendix B scores → a proposal; a second
accreditor confirms it → `setAssessor` scheduled on the governance timelock → executed once ready.
Insurer staff read; accreditors (and the insurer's admin) act."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field, create_model

from service.api.deps import STAFF, GatewayDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Address, Out, Page, Strict
from service.assessment.provider import APPENDIX_B
from service.db import models as m
from service.domain import accreditation as acc
from service.errors import Forbidden

router = APIRouter(prefix="/v1", tags=["accreditations"])
Accreditor = Annotated[Principal, Depends(require("accreditor"))]
_staff_roles = require(*STAFF)


def insurer_staff(principal: Annotated[Principal, Depends(_staff_roles)]) -> Principal:
    """The insurer's staff only: a client tenant's auditor or admin has no business here."""
    if not principal.insurer:
        raise Forbidden("accreditations are the insurer's staff's to read (a client tenant's key may not)")
    return principal


Staff = Annotated[Principal, Depends(insurer_staff)]
AccreditationId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
SubScore = Annotated[int, Field(ge=0, le=10)]
Status = Literal["proposed", "scheduled", "effective", "rejected"]
OperationState = Literal["waiting", "ready", "done", "unset"]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# The request schema states Appendix B exactly (built from the engine's table, so the two never
# drift): every sub-item of every dimension required, 0..10, nothing else.
AppendixBScores = create_model(  # type: ignore[call-overload]
    "AppendixBScores", __base__=Strict, __doc__="Appendix B sub-item scores, 0..10 each",
    **{d.id: (create_model(  # type: ignore[call-overload]
        f"{_camel(d.id)}Scores", __base__=Strict, __doc__=f"{d.name_en} ({d.name_zh}), weight {d.weight * 100} %",
        **{c.id: (SubScore, Field(description=f"{c.name_en} ({c.name_zh})")) for c in d.criteria}),
        Field(description=f"{d.name_en}, weight {d.weight * 100} %")) for d in APPENDIX_B})


class AccreditationIn(Strict):
    assessor: Address = Field(description="The assessor's chain account (the one that anchors its reports)")
    dimensions: AppendixBScores = Field(description="The ten Appendix B sub-item scores")  # type: ignore[valid-type]
    note: Annotated[str, Field(min_length=1, max_length=2000)] | None = Field(
        None, description="The evidence reviewed (audits, references, certificates)")


class RejectIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class AccreditationOut(Out):
    id: str
    assessor: str
    status: Status = Field(description="proposed (nothing on-chain), scheduled (setAssessor on the timelock), "
                                       "effective (executed: on-chain), rejected")
    capability: int = Field(description="Appendix B total 0..100, the engine's: what setAssessor sets")
    grade: str = Field(description="preferred (≥ 85), qualified (70–84), not_accredited (< 70)")
    accredited: bool = Field(description="capability ≥ 70 (AssessmentRegistry.MIN_ACCREDITED)")
    result: dict[str, Any] = Field(description="The engine's scoring (dimensions, weights, contributions)")
    scores: dict[str, Any]
    note: str | None
    previous_capability: int = Field(description="The assessor's on-chain capability when proposed")
    on_chain_capability: int | None = Field(description="capabilityOf(assessor) now (null: chain unreadable)")
    proposed_by: str = Field(description="API key ids")
    confirmed_by: str | None
    confirmed_at: datetime | None
    rejected_by: str | None
    rejected_at: datetime | None
    reject_reason: str | None
    operation: str | None = Field(description="The timelock operation id (once confirmed)")
    operation_state: OperationState | None = Field(description="The timelock's: waiting, ready, done, unset")
    ready_at: int | None = Field(description="Chain time from which POST …/execute can run it")
    target: str | None = Field(description="The operation's call (target, calldata, salt; no predecessor): what "
                                           "CallScheduled shows, and what a timelock executor runs directly")
    payload: str | None
    salt: str | None
    scheduled_tx: str | None
    executed_tx: str | None
    effective_at: int | None = Field(description="Block time of the execution")
    cancelled_tx: str | None = Field(description="The timelock cancellation of a rejected scheduled one")
    created_at: datetime


def _out(gw: Any, row: m.Accreditation) -> AccreditationOut:
    try:
        chain = acc.on_chain_capability(gw, row.assessor)
        state = acc.operation_state(gw, row)
    except Exception:  # noqa: BLE001 - shown for information; the record stands either way
        chain, state = None, None
    return AccreditationOut.of(row, accredited=row.capability >= 70, on_chain_capability=chain,
                               operation_state=state)


@router.post("/accreditations", status_code=201, response_model=AccreditationOut,
             responses=responses(400, 409, 422))
def propose(body: AccreditationIn, session: SessionDep, gw: GatewayDep, principal: Accreditor,
            idem: Idempotent) -> JSONResponse:
    """Scores the assessor (Appendix B: the total is the weighted sum of the dimensions' mean
    sub-item scores, here the plain sum of the ten) and records a proposal; nothing goes on-chain
    yet. 409 `accreditation_open` while the assessor has another proposed or scheduled one."""
    return idem.run(body, lambda: _out(gw, acc.propose(session, gw, principal, body.assessor,
                                                       body.dimensions.model_dump(), body.note)), status=201)


@router.get("/accreditations", response_model=Page[AccreditationOut], responses=responses(400))
def list_accreditations(session: SessionDep, gw: GatewayDep, _: Staff,
                        assessor: Annotated[Address | None, Query()] = None,
                        status: Annotated[Status | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Page[AccreditationOut]:
    """Newest first."""
    rows, total = acc.listing(session, assessor=assessor, status=status, limit=limit, offset=offset)
    return Page(items=[_out(gw, r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/accreditations/{accreditation_id}", response_model=AccreditationOut, responses=responses(404))
def get_accreditation(accreditation_id: AccreditationId, session: SessionDep, gw: GatewayDep,
                      _: Staff) -> AccreditationOut:
    return _out(gw, acc.get(session, accreditation_id))


@router.post("/accreditations/{accreditation_id}/confirm", status_code=202, response_model=AccreditationOut,
             responses=responses(404, 409, 502))
def confirm(accreditation_id: AccreditationId, session: SessionDep, gw: GatewayDep,
            principal: Accreditor) -> AccreditationOut:
    """The review by another accreditor key (409 `same_reviewer` for the proposer's): schedules
    `setAssessor(assessor, capability)` on the governance timelock (409 `no_governance`,
    `timelock_not_accreditor`)."""
    return _out(gw, acc.confirm(session, gw, principal, accreditation_id))


@router.post("/accreditations/{accreditation_id}/execute", response_model=AccreditationOut,
             responses=responses(404, 409, 502))
def execute(accreditation_id: AccreditationId, session: SessionDep, gw: GatewayDep,
            principal: Accreditor) -> AccreditationOut:
    """Runs the scheduled setAssessor once ready (409 `operation_not_ready` before): effective."""
    return _out(gw, acc.execute(session, gw, principal, accreditation_id))


@router.post("/accreditations/{accreditation_id}/reject", response_model=AccreditationOut,
             responses=responses(404, 409, 502))
def reject(accreditation_id: AccreditationId, body: RejectIn, session: SessionDep, gw: GatewayDep,
           principal: Accreditor) -> AccreditationOut:
    """Rejects a proposed accreditation, or cancels a scheduled one on the timelock (409
    `operation_done` once executed)."""
    return _out(gw, acc.reject(session, gw, principal, accreditation_id, body.reason))
