"""One error shape for every error, `{"type": ..., "detail": ...}` (contracts.httperrors), and
the statuses each route declares with it: its shape's (contracts.httperrors.declare), its
caller's (a key: 401, 403), the chain's (503 when it reads it) and the Idempotency-Key's (409
in progress, 422 reused); a route adds its own with `responses=responses(...)`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter

from contracts import httperrors
from contracts.httperrors import error, responses
from contracts.redact import describe
from service.api.deps import get_gateway, get_indexer, get_principal
from service.errors import ServiceError

__all__ = ["install", "responses"]
log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    httperrors.install(app)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return error(exc.status, exc.type, exc.detail)

    @app.exception_handler(OSError)  # requests' connection errors: the node is unreachable
    async def unavailable(_: Request, exc: OSError) -> JSONResponse:
        log.warning("dependency unreachable: %s", describe(exc))
        return error(503, "unavailable", "the chain node or database is unreachable; retry later")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error(500, "internal_error", "internal error; see the service log")


def implied(route: APIRoute) -> set[int]:
    """The statuses a route's dependencies can answer."""
    parts = list(httperrors.dependants(route.dependant))
    calls = {d.call for d in parts}
    statuses: set[int] = set()
    if get_principal in calls:
        statuses |= {401, 403}
    if calls & {get_gateway, get_indexer}:
        statuses.add(503)
    if any(p.alias.lower() == "idempotency-key" for d in parts for p in d.header_params):
        statuses |= {409, 422}
    return statuses


def declare(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    for router in routers:
        httperrors.declare(router, implied)
        app.include_router(router)
