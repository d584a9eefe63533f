"""FastAPI application factory. Errors render as `{"type": ..., "detail": ...}`. Request bodies
are bounded like the service's (contracts.asgilimits); operational endpoints are guarded (access)."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from contracts.asgilimits import BodyLimits

from .. import __version__
from ..errors import OracleError
from ..node import OracleNode
from .access import operator_only
from .routes import evidence, health, reports


def create_app(node: OracleNode, *, metrics_token: SecretStr | None = None) -> FastAPI:
    app = FastAPI(title="cybercover oracle node", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.node = node
    app.state.metrics_token = metrics_token
    app.add_middleware(BodyLimits)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(operator_only)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

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
