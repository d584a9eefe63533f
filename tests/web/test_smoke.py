"""The harness works: the app on a real port, Chromium loads a page with its vendored CSS and
JavaScript (no CDN), local times on hover, no console errors, a screenshot saved."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.web.conftest import Web, shot


def test_pages_index_loads_with_vendored_assets(web: Web, page: Page, tmp_path: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{web.url}/web")
    assert page.locator("h1").inner_text() == "CyberCover"
    assert page.get_by_role("link", name="Status of the covered services").is_visible()
    # The stylesheet applied (the header's background), and every request stayed on the server.
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(11, 42, 74)"
    assert page.evaluate("typeof window.cybercover.localTimes") == "function"
    assert requested and all(u.startswith(web.url) for u in requested), requested
    assert shot(page, tmp_path, "index").stat().st_size > 0


def test_static_files_are_served(web: Web, page: Page) -> None:
    for name in ("web.css", "web.js", "favicon.svg"):
        r = page.request.get(f"{web.url}/static/{name}")
        assert r.status == 200, name
