"""One error shape for every error: `{"type": ..., "detail": ...}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.redact import describe
from service.errors import ServiceError

log = logging.getLogger(__name__)
HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


def _error(status: int, type_: str, detail: str) -> JSONResponse:
    return JSONResponse({"type": type_, "detail": detail}, status_code=status)


def _location(loc: tuple[object, ...]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status, exc.type, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{_location(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors())
        return _error(422, "validation_error", detail or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, HTTP_TYPES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(OSError)  # requests' connection errors: the node is unreachable
    async def unavailable(_: Request, exc: OSError) -> JSONResponse:
        log.warning("dependency unreachable: %s", describe(exc))
        return _error(503, "unavailable", "the chain node or database is unreachable; retry later")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, "internal_error", "internal error; see the service log")
