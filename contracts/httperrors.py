"""The error contract both HTTP APIs share (the service's and the oracle node's): every error
is `{"type": ..., "detail": ...}`, declared in the OpenAPI document as the `Error` schema on
every status a route can answer.

Statuses: 422 when the request does not match the published schema (`validation_error`, the
detail names each field); 400 when it matches but breaks a rule a schema cannot state (a
bound between two fields, a signature, a destination that does not resolve); 405 with the
`Allow` header naming every method the document declares for the path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

RULE = "request_rule"  # the pydantic error type of rule() failures
HTTP_TYPES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
DESCRIPTIONS = {
    400: "Well-formed, but refused: a rule the schema cannot state (a bound between two fields, a "
         "signature, a destination, a state on the chain), or a body that is not acceptable JSON",
    401: "Missing, unknown, revoked or expired credentials",
    403: "The credentials may not do this",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state; may succeed once that changes",
    413: "The body is larger than the limit",
    422: "The request does not match this schema (validation_error), or its content cannot be processed",
    502: "The chain refused or lost the transaction",
    503: "The chain node or database is unreachable; retry later",
}


class ErrorBody(BaseModel):
    """Every error answer. Clients switch on `type`; `detail` is for people."""

    model_config = ConfigDict(extra="forbid", title="Error")
    type: str = Field(examples=["not_found"])
    detail: str = Field(examples=["no policy 7"])


def error(status: int, type_: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": type_, "detail": detail}, status_code=status, headers=headers)


def rule(detail: str) -> PydanticCustomError:
    """For a request model's validator: a rule JSON Schema cannot state, answered 400."""
    return PydanticCustomError(RULE, detail)


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())) or 'request'}: {e.get('msg', 'invalid')}"
                       for e in errors) or "invalid request"
    if errors and all(e.get("type") == RULE for e in errors):
        return error(400, "bad_request", detail)
    return error(422, "validation_error", detail)


def allowed_methods(request: Request) -> str | None:
    """The methods the OpenAPI document declares for the request's path (Starlette's own 405
    names only the first route on it), a concrete path before a templated one; None for a path
    the document does not list."""
    paths = request.app.openapi()["paths"]
    matching = [t for t in paths if compile_path(t)[0].match(request.url.path)]
    if not matching:
        return None
    operations = paths[min(matching, key=lambda t: t.count("{"))]  # /v1/policies/batch before /{policy_id}
    methods = {m.upper() for m in operations} | ({"HEAD"} if "get" in operations else set())
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's and FastAPI's own errors (no route, wrong method) in the shared shape."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return error(exc.status_code, HTTP_TYPES.get(exc.status_code, "http_error"), str(exc.detail), headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` entries for error statuses, with the shared Error schema."""
    return {s: {"description": DESCRIPTIONS[s],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}


def dependants(d: Dependant) -> Iterator[Dependant]:
    """`d` and, recursively, its dependencies'."""
    yield d
    for sub in d.dependencies:
        yield from dependants(sub)


def declare(router: APIRouter, extra: Callable[[APIRoute], Iterable[int]] = lambda _: ()) -> None:
    """Declares on every route of `router` the errors its shape implies (a path parameter: 404;
    any parameter or a body: 422; a body: 400 and 413, the body limits) and `extra(route)`. A
    route's own `responses=` entries stay as they are; declaring again changes nothing. Call
    before including the router."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        implied = set(extra(route))
        if route.dependant.path_params:
            implied.add(404)
        if route.body_field is not None:
            implied |= {400, 413, 422}
        if any(d.path_params or d.query_params or d.header_params or d.cookie_params
               for d in dependants(route.dependant)):
            implied.add(422)
        route.responses = {**responses(*sorted(implied - set(route.responses))), **route.responses}


def install(app: FastAPI) -> None:
    """Validation errors and Starlette's own (`http_error`) in the shared shape, and the `Error`
    schema the declared responses refer to in the app's OpenAPI document."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached: the changes below are made once
        if "Error" not in schema.get("components", {}).get("schemas", {}):
            schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ErrorBody.model_json_schema()
            _exact_bounds(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _exact_bounds(node: Any) -> None:
    """FastAPI's OpenAPI model holds bounds as floats: 2**96 - 1 comes out as 2.0**96, which a
    client may send and be refused for. Integral bounds become integers again, and a maximum at
    a power of two past 2**53 (every such bound here is 2**k - 1: a uint's) an exclusive one."""
    if isinstance(node, list):
        for item in node:
            _exact_bounds(item)
    if not isinstance(node, dict):
        return
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = node.get(key)
        if isinstance(value, float) and value.is_integer():
            node[key] = int(value)
    big = node.get("maximum")
    if isinstance(big, int) and big > 2**53 and big & (big - 1) == 0:
        del node["maximum"]
        node["exclusiveMaximum"] = big
    for child in node.values():
        _exact_bounds(child)

