"""What `cybercover up` and the demo print: every page URL listed answers in the browser."""

from __future__ import annotations

from playwright.sync_api import Page

from service.web.links import cover_page, pages, status_page
from tests.web.conftest import Web


def test_every_page_up_prints_answers(web: Web, page: Page) -> None:
    listed = pages(web.url)
    assert {u.removeprefix(web.url) for u, _ in listed} >= {"/status", "/verify"}
    for url, _ in listed:
        response = page.goto(url)
        assert response is not None and response.status == 200, url


def test_the_demo_links() -> None:
    assert status_page("http://h:1/", "0x" + "ab" * 32) == "http://h:1/status/0x" + "ab" * 32
    assert cover_page("http://h:1", {"cover_page": "/cover/7?ref=0x12"}) == "http://h:1/cover/7?ref=0x12"
    assert cover_page("http://h:1", {"cover_page": None}) is None
