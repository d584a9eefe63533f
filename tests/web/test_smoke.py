"""The harness works: the app on a real port, Chromium loads a page with its vendored CSS and
JavaScript (no CDN), local times on hover, no console errors, a screenshot saved."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.web.conftest import Web, shot
from tests.web.contrast import contrast


def test_pages_index_loads_with_vendored_assets(web: Web, page: Page, tmp_path: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{web.url}/web")
    assert page.locator("h1").inner_text() == "CyberCover"
    assert page.get_by_role("link", name="Status of the covered services").is_visible()
    assert page.get_by_role("link", name="The insurer's and the distributor's console").is_visible()
    assert page.locator("header.top").get_by_role("link", name="Console").get_attribute("href") == "/console"
    # The stylesheet applied (the header's background), and every request stayed on the server.
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(11, 42, 74)"
    assert page.evaluate("typeof window.cybercover.localTimes") == "function"
    assert requested and all(u.startswith(web.url) for u in requested), requested
    assert shot(page, tmp_path, "index").stat().st_size > 0


def test_static_files_are_served(web: Web, page: Page) -> None:
    for name in ("web.css", "web.js", "favicon.svg"):
        r = page.request.get(f"{web.url}/static/{name}")
        assert r.status == 200, name


def test_contrast_check_catches_low_contrast(page: Page) -> None:
    """The AA check the `page` fixture runs on every page: it finds grey-on-white and a pale
    translucent banner, passes large text at 3:1, and reads SVG text by its fill."""
    page.set_content("""<body style="background:#fff">
      <p id="ok" style="color:#4b5563">muted 7.5:1</p>
      <p style="color:#999">grey 2.8:1</p>
      <div style="background:rgba(11,42,74,.2)"><span style="color:#fff">white on a pale veil</span></div>
      <h1 style="font-size:32px;color:#949494">large 3.03:1</h1>
      <svg><text x="0" y="12" style="fill:#bbb">axis</text></svg></body>""")
    got = contrast(page)
    assert got["checked"] == 5
    assert sorted(f["text"] for f in got["fails"]) == ["axis", "grey 2.8:1", "white on a pale veil"]
