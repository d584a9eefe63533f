"""Verified outages (projection: windows and the episodes they form) and the relay of co-signed
oracle reports to OutageOracle."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from eth_utils import decode_hex, encode_hex
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy import select
from web3.logs import DISCARD

from contracts import eip712
from service.api.deps import Anyone, GatewayDep, IndexerDep, Principal, SessionDep, require
from service.api.errors import responses
from service.api.idempotency import Idempotent
from service.api.schemas import Address, Hex32, Out, Strict, Uint32, Uint64
from service.chain.episodes import Episode
from service.db import models as m
from service.domain.exclusions import service_episodes
from service.errors import BadRequest, ChainError

router = APIRouter(prefix="/v1", tags=["outages"])
# Relaying is permissionless on-chain (signatures carry the authority); the read-only role may not.
# `relay` is the oracle transmitter's key: this route and nothing else.
Relayer = Annotated[Principal, Depends(require("relay", "underwriter", "claims", "distributor", "assessor"))]


class SignedReport(Strict):
    start: Uint64
    end: Uint64
    ongoing: StrictBool
    evidence_root: Hex32
    seq: Uint64
    r: Hex32
    vs: Hex32
    signer: Address


class RelayIn(Strict):
    service_id: Hex32
    config_version: Uint32
    reports: list[SignedReport] = Field(min_length=1, max_length=32)


class _Window(Out):
    service_id: str
    index: int
    start: int
    end: int
    ongoing: bool
    config_version: int
    block: int


class WindowOut(_Window):
    """A verified window, as OutageOracle.windowAt(service_id, index) returns it."""

    verified_at: int = Field(description="Block time of the window's last change")
    start_since: int = Field(description="Block time its start was last set (moved earlier or created)")
    episode_start: int = Field(description="Start of the episode the window belongs to")


class EpisodeOut(Out):
    """Windows at most `merge_gap` apart: one outage, what a policy pays on (OutageOracle.episodesIn)."""

    service_id: str
    start: int
    end: int
    down_seconds: int = Field(description="Sum of the windows' lengths (gaps between them never count), outside "
                              "declared maintenance: what pays")
    maintenance_seconds: int = Field(description="Downtime inside declared, uncancelled maintenance windows: never "
                                     "pays")
    excluded_event: int = Field(description="0, or 1 + the index of the service's first excluded event it overlaps "
                                "(what it is owed goes to claims review)")
    ongoing: bool
    final: bool = Field(description="Its start has been unchanged for the finality delay: it pays")
    final_at: int = Field(description="When the start is (or was) final, unless it moves earlier again")
    windows: int
    first_index: int

    @classmethod
    def of_episode(cls, e: Episode, now: int) -> EpisodeOut:
        return cls.of(e, final=e.final(now), windows=len(e.windows))


class OutagesOut(BaseModel):
    episodes: list[EpisodeOut]
    windows: list[WindowOut]
    merge_gap: int
    finality_delay: int
    chain_time: int = Field(description="The latest block's time, which `final` is judged at")


class RelayOut(_Window):
    replaced: int = Field(description="Windows the new one replaced at `index` (merged); 0: inserted there")
    tx_hash: str  # the submit transaction


@router.get("/outages", response_model=OutagesOut)
def list_outages(session: SessionDep, gw: GatewayDep, _: Anyone, service_id: Hex32 | None = None,
                 limit: Annotated[int, Query(ge=1, le=500, description="episodes, newest first")] = 100,
                 ) -> OutagesOut:
    """Verified outages are public on-chain data: every person's key reads them all. Episodes
    newest first, with the windows they are made of."""
    q = select(m.Outage)
    if service_id is not None:
        q = q.where(m.Outage.service_id == service_id)
    merge_gap, finality = gw.episode_params()
    now = gw.now()
    episodes: list[Episode] = []
    for sid, windows in groupby(session.scalars(q.order_by(m.Outage.service_id, m.Outage.index)),
                                key=lambda o: o.service_id):
        episodes += service_episodes(session, sid, windows, merge_gap, finality)
    episodes.sort(key=lambda e: (e.start, e.service_id), reverse=True)
    shown = episodes[:limit]
    windows = [WindowOut.of(w, episode_start=e.start) for e in shown for w in e.windows]
    windows.sort(key=lambda w: (w.start, w.service_id), reverse=True)
    return OutagesOut(episodes=[EpisodeOut.of_episode(e, now) for e in shown], windows=windows,
                      merge_gap=merge_gap, finality_delay=finality, chain_time=now)


@router.post("/oracle/reports", response_model=RelayOut, responses=responses(400, 409, 502))
def relay_reports(body: RelayIn, gw: GatewayDep, indexer: IndexerDep, _: Relayer, idem: Idempotent) -> JSONResponse:
    sid = decode_hex(body.service_id)
    dom = eip712.oracle_domain(gw.w3.eth.chain_id, gw.oracle.address)
    for i, rep in enumerate(body.reports):
        msg = eip712.outage_report_message(sid, body.config_version, rep.start, rep.end, rep.ongoing,
                                           decode_hex(rep.evidence_root), rep.seq)
        try:
            recovered = eip712.recover(eip712.digest(dom, "OutageReport", msg), decode_hex(rep.r), decode_hex(rep.vs))
        except Exception:
            recovered = None
        if recovered != rep.signer:
            raise BadRequest(f"reports[{i}]: the signature does not recover to {rep.signer}", type="bad_signature")

    def work() -> RelayOut:
        reports = [(r.start, r.end, r.ongoing, decode_hex(r.evidence_root), r.seq, decode_hex(r.r), decode_hex(r.vs))
                   for r in body.reports]
        receipt = gw.send(gw.oracle.functions.submit(sid, body.config_version, reports))
        events = gw.oracle.events.OutageVerified().process_receipt(receipt, errors=DISCARD)
        if not events:
            raise ChainError("submit mined without an OutageVerified event")
        a = events[0]["args"]
        indexer.sync()
        return RelayOut(service_id=encode_hex(a["serviceId"]), index=a["index"], start=a["start"], end=a["end"],
                        ongoing=a["ongoing"], config_version=a["configVersion"], block=receipt["blockNumber"],
                        replaced=a["replaced"], tx_hash=encode_hex(receipt["transactionHash"]))

    return idem.run(body, work)
