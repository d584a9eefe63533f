"""The insurer's and the distributor's console (issue 15, items 4 and 5): `GET /console`.

The page is a server-rendered shell (templates/console.html on the shared layout) whose data and
actions come from the browser calling the same `/v1` routes a script would, with the API key the
user typed in: the key lives in the tab's sessionStorage only, never in a cookie, so the server
cannot render a key-holder's data itself and no request is ever authenticated by the browser
alone (nothing to forge cross-site). static/console.js shows the insurer's view to insurer staff
keys and the distributor's to distributor and client keys; approvals, rejections and bulk
issuance send an Idempotency-Key made once per form. The reads the API lacked are in
service.api.routes.console (`/v1/me`, `/v1/pool/history`, webhook deliveries, the CSV preview)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.web import ROUTERS, render

router = APIRouter(include_in_schema=False)
# The page runs only its own script and talks only to this origin; it is never framed.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


@router.get("/console", response_class=HTMLResponse)
def console(request: Request) -> HTMLResponse:
    response = render(request, "console.html", {"nav": "console"})
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTERS.append(router)
