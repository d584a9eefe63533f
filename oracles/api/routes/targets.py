"""`GET /v1/targets` (public): the covered services this node monitors and its latest facts
about each — the latest probe's time and outcome and, for TLS probes, the certificate's days
left. The service's in-policy monitoring reads it (service.domain.monitoring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import NodeDep

router = APIRouter(prefix="/v1", tags=["targets"])


@router.get("/targets")
async def list_targets(node: NodeDep) -> dict[str, Any]:
    return {"node": node.address, "targets": node.targets()}
