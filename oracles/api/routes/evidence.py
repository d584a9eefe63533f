"""`GET /v1/evidence/{episode_id}`: the episode's signed observations with Merkle proofs,
for the latest report (or the report `seq`). The body is an evidence bundle, which
`cybercover-oracle evidence verify <url>` checks as is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ..deps import NodeDep
from .reports import MAX_TIME

router = APIRouter(prefix="/v1", tags=["evidence"])


@router.get("/evidence/{episode_id}")
async def get_evidence(node: NodeDep, episode_id: str,
                       seq: int | None = Query(default=None, ge=1, le=MAX_TIME)) -> dict[str, Any]:
    return node.evidence_bundle(episode_id, seq)
