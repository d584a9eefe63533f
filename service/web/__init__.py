"""Server-rendered web pages (issue 15) on the same FastAPI app as /v1.

Jinja2 templates under `templates/`, vendored CSS and a little plain JavaScript under `static/`
(no CDN: the pages work without a network), charts as inline SVG. `install(app)` mounts the
static files and includes the page routers; each package adds its routers to `ROUTERS`.

Formatting rules every page follows (the filters below): token amounts in the token's units with
thousands separators, dates in UTC with the visitor's local time on hover (static/web.js fills the
`title` of every `<time>`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

HERE = Path(__file__).parent
STATIC_PATH = "/static"
templates = Jinja2Templates(directory=str(HERE / "templates"))


def amount(value: int | str | None, decimals: int | None = None, symbol: str | None = None) -> str:
    """Minor units → '1,234.5 USD' (exact, trailing zeros dropped, thousands separators).
    Without decimals (a token without the view) the minor units themselves, separated."""
    if value is None:
        return "—"
    n = int(value)
    if decimals:  # integer arithmetic: Decimal's default context would round past 28 digits
        whole, frac = divmod(abs(n), 10**decimals)
        digits = str(frac).rjust(decimals, "0").rstrip("0")
        text = ("-" if n < 0 else "") + f"{whole:,}" + (f".{digits}" if digits else "")
    else:
        text = f"{n:,}"
    return f"{text} {symbol}" if symbol else text


def utc(ts: int | float | dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> Markup:
    """A `<time>` in UTC; web.js adds the local time as its title (hover)."""
    if ts is None:
        return Markup("—")
    when = ts if isinstance(ts, dt.datetime) else dt.datetime.fromtimestamp(int(ts), dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    iso = when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return Markup(f'<time datetime="{iso}">{escape(when.astimezone(dt.UTC).strftime(fmt))}</time>')


def duration(seconds: int | float | None) -> str:
    """1 h 05 min, 12 min, 40 s."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    mnt, sec = divmod(rem, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {mnt:02d} min"
    if mnt:
        return f"{mnt} min" + (f" {sec:02d} s" if sec else "")
    return f"{sec} s"


def short(value: str | bytes | None, keep: int = 6) -> str:
    """0x1234…abcd for hashes and addresses (the full value stays in a title)."""
    if value is None:
        return "—"
    text = "0x" + value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= 2 * keep + 3 else f"{text[:keep + 2]}…{text[-keep:]}"


templates.env.filters.update(amount=amount, utc=utc, duration=duration, short=short)
templates.env.globals.update(static=STATIC_PATH)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)


home = APIRouter(include_in_schema=False)


@home.get("/web", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The pages, linked (the API stays at /docs)."""
    return render(request, "index.html")


ROUTERS: list[APIRouter] = [home]


def install(app: FastAPI) -> None:
    """Mount /static and every page router on the app (service.api.app.create_app calls it)."""
    from service.web import pages  # noqa: F401  (registers the page routers in ROUTERS)

    app.mount(STATIC_PATH, StaticFiles(directory=str(HERE / "static")), name="static")
    for router in ROUTERS:
        app.include_router(router)
