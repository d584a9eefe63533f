"""FastAPI application factory. Errors render as `{"type": ..., "detail": ...}` and validation
errors are 422s, like the service's (contracts.httperrors). Request bodies are bounded like the
service's (contracts.asgilimits); operational endpoints are guarded (access)."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import SecretStr

from contracts import httperrors
from contracts.asgilimits import BodyLimits

from .. import __version__
from ..errors import OracleError
from ..node import OracleNode
from .access import operator_only
from .routes import evidence, health, reports, targets


def create_app(node: OracleNode, *, metrics_token: SecretStr | None = None) -> FastAPI:
    app = FastAPI(title="cybercover oracle node", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.node = node
    app.state.metrics_token = metrics_token
    app.add_middleware(BodyLimits)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(operator_only)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    for router in (health.router, reports.router, evidence.router, targets.router):
        httperrors.declare(router, _guarded)
        app.include_router(router)
    httperrors.install(app)

    @app.exception_handler(OracleError)
    async def oracle_error(_: Request, exc: OracleError) -> JSONResponse:
        return httperrors.error(exc.http_status, exc.type, str(exc))

    return app


def _guarded(route: APIRoute) -> set[int]:
    return {401, 403} if any(d.call is operator_only for d in route.dependant.dependencies) else set()
