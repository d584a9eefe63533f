"""Liveness (`/healthz`, public: 503 once the node stalls or stops) and Prometheus `/metrics`
(operators only, see access)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..access import operator_only
from ..deps import NodeDep

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "The node stalled or stopped"}})
async def healthz(node: NodeDep) -> JSONResponse:
    health = node.health()
    return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)


@router.get("/metrics", dependencies=[Depends(operator_only)])
async def metrics(node: NodeDep) -> Response:
    return Response(generate_latest(node.metrics.registry), media_type=CONTENT_TYPE_LATEST)
