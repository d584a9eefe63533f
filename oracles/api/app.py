"""FastAPI application factory. Errors render as `{"type": ..., "detail": ...}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import __version__
from ..errors import OracleError
from ..node import OracleNode
from .routes import evidence, health, reports


def create_app(node: OracleNode) -> FastAPI:
    app = FastAPI(title="cybercover oracle node", version=__version__, docs_url=None,
                  redoc_url=None)
    app.state.node = node
    app.include_router(health.router)
    app.include_router(reports.router)
    app.include_router(evidence.router)

    @app.exception_handler(OracleError)
    async def oracle_error(_: Request, exc: OracleError) -> JSONResponse:
        return JSONResponse({"type": exc.type, "detail": str(exc)},
                            status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"type": "bad_request", "detail": detail}, status_code=400)

    return app
