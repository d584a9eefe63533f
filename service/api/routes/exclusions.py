"""Exclusions (service.domain.exclusions): a covered service's declared maintenance windows and
its excluded events, public to every person's key (auditors see a window before it starts).
Times are unix seconds (UTC), as everywhere in this API."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Hex32, Out, Strict, Uint32
from service.db import models as m
from service.domain import exclusions as ex

router = APIRouter(prefix="/v1", tags=["exclusions"])
Underwriter = Annotated[Principal, Depends(require("underwriter"))]
Maintainer = Annotated[Principal, Depends(require("distributor", "underwriter"))]
ServiceRef = Annotated[str, Path(min_length=1, max_length=66, description="The covered service's id (0x + 64 hex), "
                                 "or its plain name ([A-Za-z0-9._-], ≤ 64); a URL service is named by its id")]
# uint64 on-chain; the database's BIGINT (signed 64-bit) bounds what the projection can hold.
Unix = Annotated[int, Field(ge=0, le=2**63 - 1, description="Unix seconds (UTC)")]
Reason = Annotated[str, Field(min_length=1, max_length=5000)]


class RulesIn(Strict):
    tenant_id: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        description="The client tenant whose distributors declare this service's maintenance")
    min_notice_seconds: Uint32 = Field(description="A window starts at least this long after it is declared")
    max_seconds_per_period: Annotated[int, Field(ge=0, le=ex.MAINTENANCE_PERIOD)] = Field(
        description=f"Most seconds of uncancelled windows per {ex.MAINTENANCE_PERIOD} s period (a window counts "
                    "in the period of its start)")


class RulesOut(Out):
    service_id: str
    tenant_id: str | None = Field(description="The tenant that declares (null: set outside this service)")
    maintainer: str = Field(description="The chain account that declares on the tenant's behalf")
    min_notice_seconds: int
    max_seconds_per_period: int
    period_seconds: int = ex.MAINTENANCE_PERIOD
    max_windows_per_period: int = ex.MAX_MAINTENANCE_PER_PERIOD

    @classmethod
    def of_rules(cls, r: m.MaintenanceRules, owner: m.MaintenanceTenant | None) -> RulesOut:
        return cls.of(r, tenant_id=owner.tenant_id if owner else None, min_notice_seconds=r.min_notice,
                      max_seconds_per_period=r.max_seconds_per_period)


class WindowIn(Strict):
    """`[start, end)` in unix seconds; start at least the rules' notice after the chain's time."""

    start: Unix
    end: Unix


class WindowOut(Out):
    service_id: str
    index: int
    start: int
    end: int
    declared_at: int = Field(description="Block time of the declaration")
    cancelled: bool
    tx: str


class MaintenanceOut(Out):
    rules: RulesOut | None = Field(description="null: no window can be declared for this service")
    windows: list[WindowOut]


class EventIn(Strict):
    services: list[Annotated[str, Field(min_length=1, max_length=66)]] = Field(
        min_length=1, max_length=32, description="Service ids (0x + 64 hex) or plain names")
    start: Unix
    end: Unix
    reason: Reason = Field(description="Public statement of the event; its keccak256 goes on-chain, the text is "
                                       "kept here")


class EventOut(Out):
    service_id: str
    index: int
    start: int
    end: int
    reason: str | None = Field(description="The text, when declared through this service")
    reason_hash: str
    declared_at: int
    tx: str


OperationState = Literal["waiting", "ready", "done", "unset"]


class OperationOut(Out):
    operation: str = Field(description="The timelock operation id")
    service_ids: list[str]
    start: int
    end: int
    reason: str
    reason_hash: str
    ready_at: int = Field(description="Chain time from which POST …/execute can run it")
    state: OperationState = Field(description="waiting (in its delay), ready, done (executed), unset (cancelled "
                                              "on the timelock)")
    scheduled_tx: str | None
    executed_tx: str | None


def _operation_out(row: m.ExcludedEventOperation, state: str) -> OperationOut:
    return OperationOut.of(row, state=state)


def _window_out(row: m.MaintenanceWindow) -> WindowOut:
    return WindowOut.of(row)


@router.put("/services/{service}/maintenance-rules", response_model=RulesOut, responses=responses(400, 404, 502))
def set_rules(service: ServiceRef, body: RulesIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
              principal: Underwriter) -> RulesOut:
    """The service's account becomes the maintainer on-chain (setMaintenanceRules), acting for
    `tenant_id`; windows already declared stay."""
    sid = ex.service_of(session, service)
    rules = ex.set_rules(session, gw, indexer, sid, body.tenant_id, body.min_notice_seconds,
                         body.max_seconds_per_period, principal.key_id)
    return RulesOut.of_rules(rules, session.get(m.MaintenanceTenant, sid))


@router.get("/services/{service}/maintenance", response_model=MaintenanceOut, responses=responses(400, 404))
def list_maintenance(service: ServiceRef, session: SessionDep, _: Anyone) -> MaintenanceOut:
    sid = ex.service_of(session, service)
    rules = session.get(m.MaintenanceRules, sid)
    return MaintenanceOut(rules=RulesOut.of_rules(rules, session.get(m.MaintenanceTenant, sid)) if rules else None,
                          windows=[_window_out(w) for w in ex.windows(session, sid)])


@router.post("/services/{service}/maintenance", status_code=201, response_model=WindowOut,
             responses=responses(400, 404, 409, 502))
def declare_maintenance(service: ServiceRef, body: WindowIn, session: SessionDep, gw: GatewayDep,
                        indexer: IndexerDep, principal: Maintainer, idem: Idempotent) -> JSONResponse:
    """Declares `[start, end)` on-chain (declareMaintenance): 409 `maintenance_notice_too_short`
    (never retroactive), `maintenance_budget_exceeded`, `maintenance_out_of_order`,
    `maintenance_count_exceeded`, `maintenance_not_enabled`; 400 when end ≤ start."""
    sid = ex.service_of(session, service)
    return idem.run(body, lambda: _window_out(ex.declare(session, gw, indexer, principal, sid, body.start, body.end)),
                    status=201)


@router.delete("/services/{service}/maintenance/{index}", response_model=WindowOut,
               responses=responses(400, 404, 409, 502))
def cancel_maintenance(service: ServiceRef, index: Annotated[int, Path(ge=0, le=2**31 - 1)], session: SessionDep,
                       gw: GatewayDep, indexer: IndexerDep, principal: Maintainer) -> WindowOut:
    """Cancels a window before it starts (409 `maintenance_started` after); it keeps its place."""
    sid = ex.service_of(session, service)
    return _window_out(ex.cancel(session, gw, indexer, principal, sid, index))


@router.get("/services/{service}/excluded-events", response_model=list[EventOut], responses=responses(400, 404))
def list_events(service: ServiceRef, session: SessionDep, _: Anyone) -> list[EventOut]:
    sid = ex.service_of(session, service)
    return [EventOut.of(e, reason=text) for e, text in ex.events(session, sid)]


@router.post("/excluded-events", status_code=202, response_model=OperationOut,
             responses=responses(400, 404, 409, 502))
def schedule_event(body: EventIn, session: SessionDep, gw: GatewayDep, indexer: IndexerDep, principal: Underwriter,
                   idem: Idempotent) -> JSONResponse:
    """Schedules declareExcludedEvent on the governance timelock; it takes effect when executed
    after the delay (`POST /v1/excluded-events/{operation}/execute`)."""
    def work() -> OperationOut:
        row = ex.schedule_event(session, gw, indexer, body.services, body.start, body.end, body.reason,
                                principal.key_id)
        return _operation_out(row, ex.operation_state(gw, row))

    return idem.run(body, work, status=202)


@router.get("/excluded-events/{operation}", response_model=OperationOut, responses=responses(404, 409))
def get_operation(operation: Hex32, session: SessionDep, gw: GatewayDep, _: Anyone) -> OperationOut:
    row = ex.operation(session, operation)
    return _operation_out(row, ex.operation_state(gw, row))


@router.post("/excluded-events/{operation}/execute", response_model=OperationOut,
             responses=responses(404, 409, 502))
def execute_event(operation: Hex32, session: SessionDep, gw: GatewayDep, indexer: IndexerDep,
                  _: Underwriter) -> OperationOut:
    """Runs a ready operation (409 `operation_not_ready` before its ready time, `already_executed`)."""
    row = ex.execute_event(session, gw, indexer, operation)
    return _operation_out(row, ex.operation_state(gw, row))
