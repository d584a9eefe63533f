"""`GET /v1/reports`: the latest signed report of each episode, for transmitters and auditors.

Handlers are `async` on purpose: they run on the node's event loop, the only thread that
touches its SQLite connections.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ..deps import NodeDep

router = APIRouter(prefix="/v1", tags=["reports"])
MAX_TIME = 2**63 - 1  # SQLite's integer range; larger values used to overflow into a 500


@router.get("/reports")
async def list_reports(
    node: NodeDep,
    service_id: str | None = Query(default=None, pattern=r"^0x[0-9a-fA-F]{64}$"),
    since: int = Query(default=0, ge=0, le=MAX_TIME, description="only episodes ending at or after this"),
) -> dict[str, Any]:
    sid = bytes.fromhex(service_id[2:]) if service_id is not None else None
    reports = node.state.latest_reports(service_id=sid, since=since)
    return {"node": node.address, "reports": [r.to_json() for r in reports]}


@router.get("/episodes")
async def list_episodes(node: NodeDep, ongoing: bool | None = None,
                        since: int = Query(default=0, ge=0, le=MAX_TIME)) -> dict[str, Any]:
    episodes = node.state.episodes(ongoing=ongoing, since=since)
    return {"node": node.address, "episodes": [e.to_json() for e in episodes]}
