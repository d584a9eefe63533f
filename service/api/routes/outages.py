"""Verified outages (projection) and the relay of co-signed oracle reports to OutageOracle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from web3.logs import DISCARD

from contracts import eip712
from service.api import idempotency
from service.api.deps import Anyone, FactoryDep, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.schemas import Address, Hex32, Strict, Uint32, Uint64, hx, unhex
from service.db import models as m
from service.errors import BadRequest, ChainError

router = APIRouter(prefix="/v1", tags=["outages"])
# Relaying is permissionless on-chain (signatures carry the authority); the read-only role may not.
# `relay` is the oracle transmitter's key: this route and nothing else.
Relayer = Annotated[Principal, Depends(require("relay", "underwriter", "claims", "distributor", "assessor"))]


class SignedReport(Strict):
    start: Uint64
    end: Uint64
    ongoing: bool
    evidence_root: Hex32
    seq: Uint64
    r: Hex32
    vs: Hex32
    signer: Address


class RelayIn(Strict):
    service_id: Hex32
    config_version: Uint32
    reports: list[SignedReport] = Field(min_length=1, max_length=32)


class OutageOut(BaseModel):
    service_id: str
    index: int
    start: int
    end: int
    ongoing: bool
    config_version: int
    block: int


class RelayOut(OutageOut):
    tx_hash: str  # the submit transaction


def out(o: m.Outage) -> dict[str, Any]:
    return {"service_id": o.service_id, "index": o.index, "start": o.start, "end": o.end, "ongoing": o.ongoing,
            "config_version": o.config_version, "block": o.block}


@router.get("/outages", response_model=list[OutageOut])
def list_outages(session: SessionDep, _: Anyone, service_id: Hex32 | None = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """Verified outage windows are public on-chain data: every person's key reads them all."""
    q = select(m.Outage)
    if service_id is not None:
        q = q.where(m.Outage.service_id == service_id)
    return [out(o) for o in session.scalars(q.order_by(m.Outage.start.desc()).limit(limit))]


@router.post("/oracle/reports", response_model=RelayOut)
def relay_reports(body: RelayIn, request: Request, factory: FactoryDep, gw: GatewayDep, indexer: IndexerDep,
                  principal: Relayer,
                  idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> JSONResponse:
    sid = unhex(body.service_id)
    dom = eip712.oracle_domain(gw.w3.eth.chain_id, gw.oracle.address)
    for i, rep in enumerate(body.reports):
        msg = eip712.outage_report_message(sid, body.config_version, rep.start, rep.end, rep.ongoing,
                                           unhex(rep.evidence_root), rep.seq)
        try:
            recovered = eip712.recover(eip712.digest(dom, "OutageReport", msg), unhex(rep.r), unhex(rep.vs))
        except Exception:
            recovered = None
        if recovered != rep.signer:
            raise BadRequest(f"reports[{i}]: the signature does not recover to {rep.signer}", type="bad_signature")

    def work() -> tuple[int, Any]:
        reports = [(r.start, r.end, r.ongoing, unhex(r.evidence_root), r.seq, unhex(r.r), unhex(r.vs))
                   for r in body.reports]
        receipt = gw.send(gw.oracle.functions.submit(sid, body.config_version, reports))
        events = gw.oracle.events.OutageVerified().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise ChainError("submit mined without an OutageVerified event")
        a = events[0]["args"]
        indexer.sync()
        return 200, {"service_id": hx(a["serviceId"]), "index": a["index"], "start": a["start"], "end": a["end"],
                     "ongoing": a["ongoing"], "config_version": a["configVersion"], "block": receipt["blockNumber"],
                     "tx_hash": hx(receipt["transactionHash"])}

    return idempotency.run(factory, principal, idempotency_key, request, body, work)
