"""Public status pages (issue 15 item 1): `/status` (every covered service) and
`/status/{service}` (by its on-chain id `0x…` or its name). No key, no policy or holder data.

The covered services' names come from the products on offer (public: a product names the
service it covers); everything about their outages comes from the chain: the verified windows
and the submissions behind them (service.web.chainview). Evidence links are looked up on the
oracle nodes (settings.oracle_nodes). While an outage is ongoing the page reloads itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from contracts import eip712
from service.db import models as m
from service.web import ROUTERS, chainview, render

router = APIRouter(include_in_schema=False)
ROUTERS.append(router)
REFRESH_SECONDS = 15
HEX_ID = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass
class Covered:
    name: str | None
    service_id: str  # 0x…

    @property
    def sid(self) -> bytes:
        return bytes.fromhex(self.service_id[2:])

    @property
    def label(self) -> str:
        return self.name or self.service_id


def covered(request: Request) -> list[Covered]:
    with request.app.state.factory() as s:
        names = sorted(set(s.scalars(select(m.ProductTerms.service_name))))
    return [Covered(n, "0x" + eip712.service_id(n).hex()) for n in names]


def find(request: Request, key: str) -> Covered | None:
    listed = covered(request)
    for c in listed:
        if key == c.name or key.lower() == c.service_id.lower():
            return c
    if HEX_ID.fullmatch(key):  # not on offer (any more): the chain may still know it
        return Covered(None, key.lower())
    return None


def summary(request: Request, c: Covered, now: int) -> dict[str, Any]:
    gw = request.app.state.gateway
    ws = chainview.windows(gw, c.sid)
    eps = chainview.episodes(gw, c.sid, ws)
    days = chainview.daily(ws, eps, now)
    ongoing = next((e for e in reversed(eps) if e.ongoing), None)
    return {"service": c, "windows": ws, "episodes": eps, "days": days, "uptime": chainview.uptime(days),
            "ongoing": ongoing, "running": (now - ongoing.start) if ongoing else None}


@router.get("/status", response_class=HTMLResponse)
def status_index(request: Request) -> HTMLResponse:
    gw = request.app.state.gateway
    now = gw.now()
    rows = [summary(request, c, now) for c in covered(request)]
    return render(request, "status_index.html", {
        "nav": "status", "rows": rows, "now": now, "chain_id": gw.w3.eth.chain_id,
        "refresh_seconds": REFRESH_SECONDS if any(r["ongoing"] for r in rows) else None})


@router.get("/status/{service:path}", response_class=HTMLResponse)
def status_service(request: Request, service: str) -> HTMLResponse:
    c = find(request, service)
    if c is None:
        return render(request, "error.html", {"heading": "Unknown service", "nav": "status",
                                              "message": f"No covered service is named {service!r}."}, 404)
    gw = request.app.state.gateway
    settings = request.app.state.settings
    now = gw.now()
    view = summary(request, c, now)
    cfgs = chainview.configs(gw)
    eps = view["episodes"]
    links = chainview.evidence_links(gw, settings.oracle_nodes, settings.oracle_node_timeout, c.service_id, eps, cfgs)
    outages = []
    for pos, e in enumerate(eps):
        signers: list[str] = []
        for w in e.windows:
            signers += [s for s in chainview.named(cfgs, w.config_version, w.signers) if s not in signers]
        outages.append({"episode": e, "final": e.final(now), "signers": [
            {"address": s, "evidence": links.get((pos, s))} for s in signers],
            "duration": (now - e.start) if e.ongoing else e.down_seconds})
    outages.reverse()  # newest first
    return render(request, "status_service.html", {
        **view, "nav": "status", "now": now, "outages": outages, "chain_id": gw.w3.eth.chain_id,
        "oracle": gw.oracle.address, "refresh_seconds": REFRESH_SECONDS if view["ongoing"] else None})
