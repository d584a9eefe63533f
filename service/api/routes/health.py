"""Liveness/readiness (public) and Prometheus metrics (any valid API key, or the metrics token)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from service.api.deps import SessionDep, SettingsDep, get_principal
from service.api.errors import responses

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "Degraded: the database or the chain node does not answer"}})
def healthz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    ok = True
    try:
        with request.app.state.factory() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        ok, checks["database"] = False, f"error: {type(exc).__name__}"
    try:
        checks["chain_block"] = request.app.state.gateway.w3.eth.block_number
    except Exception as exc:
        ok, checks["chain_block"] = False, f"error: {type(exc).__name__}"
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)


def metrics_reader(request: Request, session: SessionDep, settings: SettingsDep,
                   key: Annotated[str | None, Header(alias="X-API-Key")] = None) -> None:
    token = settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}".encode()
        if hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            return
    get_principal(session, key)  # raises 401 unless the key is valid


@router.get("/metrics", response_class=Response, dependencies=[Depends(metrics_reader)], responses=responses(401))
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
