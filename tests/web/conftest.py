"""Browser-test harness (issue 15 item 7): the in-process app served by uvicorn on a real
loopback port, driven by Playwright for Python through Debian's Chromium (`/usr/bin/chromium`,
installed by `make setup` / `make test` when missing; CYBERCOVER_CHROMIUM names another binary).
A missing browser is an error, never a skip.

Fixtures:
- `web`: the running server (`web.url`, `web.app`, `web.chain`) over one eth-tester chain and a
  SQLite database for the session; `api` is tests.service.helpers.Api over HTTP to that server, so
  the test's own setup goes through the same port and the same serialisation as the browser.
- `page`: a fresh browser context per test (desktop width; `phone_page` for 390 px); it fails the
  test on any console error or uncaught page error and saves a screenshot under the test's tmp
  folder at teardown (`page.png`, plus whatever the test saves with `shot(page, tmp_path, name)`),
  and fails it if any text of the page it was left on is below WCAG AA contrast (tests/web/contrast.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright
from pydantic import SecretStr

from service.api.app import create_app
from service.api.routes.webhooks import get_resolver
from service.db.session import make_engine
from service.settings import Settings
from tests.service.helpers import ADMIN_KEY, Api, Chain, make_chain
from tests.web.contrast import contrast

CHROMIUM = os.environ.get("CYBERCOVER_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1200, "height": 900}
PHONE = {"width": 390, "height": 844}


class Serialized:
    """eth-tester is not thread-safe: one request at a time reaches the app (static files excepted)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.lock: asyncio.Lock | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        if self.lock is None:
            self.lock = asyncio.Lock()
        async with self.lock:
            await self.app(scope, receive, send)


@dataclass
class Web:
    url: str
    app: FastAPI
    chain: Chain
    server: uvicorn.Server
    thread: threading.Thread
    extra: dict[str, Any] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"tests do not resolve {host!r}")


def serve(app: Any, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name="web-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("web")
    return Settings(data_dir=tmp, admin_key=SecretStr(ADMIN_KEY), database_url=f"sqlite:///{tmp / 'web.db'}")


@pytest.fixture(scope="session")
def web(web_settings: Settings) -> Iterator[Web]:
    chain = make_chain(token_artifact="BlacklistToken")  # an ERC-20 that can refuse a payee: credited payouts
    engine = make_engine(str(web_settings.database_url))
    app = create_app(web_settings, gateway=chain.gateway(), engine=engine)
    app.dependency_overrides[get_resolver] = lambda: no_dns
    port = free_port()
    server, thread = serve(Serialized(app), port)
    yield Web(f"http://127.0.0.1:{port}", app, chain, server, thread)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def http(web: Web) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=120) as client:
        yield client


@pytest.fixture
def api(http: httpx.Client, web: Web) -> Api:
    return Api(http, web.chain)  # type: ignore[arg-type]  (httpx.Client has TestClient's request methods)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make setup` (it installs Debian's chromium)", pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # --no-sandbox: the tests run as root on a fresh machine, where Chromium's sandbox refuses to start.
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
    yield b
    b.close()


def shot(page: Page, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _page(browser: Browser, tmp_path: Path, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text} at {msg.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    yield page
    low: list[Any] = []
    url = page.url
    try:
        shot(page, tmp_path, "page")
        if url.startswith("http"):  # a page was navigated to (not only fetched)
            measured = contrast(page)
            assert measured["checked"], f"no text measured on {url}"
            low = measured["fails"]
    finally:
        context.close()
    assert not errors, "browser console errors:\n" + "\n".join(errors)
    assert not low, f"below WCAG AA contrast on {url}: {low}"


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    yield from _page(browser, tmp_path, DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    yield from _page(browser, tmp_path, PHONE)
