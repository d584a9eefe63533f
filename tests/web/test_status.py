"""The public status pages: a verified outage appears after it is submitted, with its signers,
transaction, block and evidence links; an ongoing one shows its running duration and the page
refreshes itself; no key is needed and no policy or holder data is shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import keccak
from playwright.sync_api import Page, expect

from contracts import eip712
from service.web import status
from tests.service.helpers import Api, outage, unique_service
from tests.web.conftest import PHONE, Web, shot


def _service(api: Api) -> tuple[str, str, dict[str, str]]:
    name = unique_service()
    api.product(name)
    tenant = api.tenant()
    return name, "0x" + eip712.service_id(name).hex(), api.key(tenant, "distributor")


def test_verified_outage_appears_with_signers_tx_and_evidence(web: Web, api: Api, page: Page, tmp_path: Path) -> None:
    name = unique_service()
    tenant = api.tenant()
    relay = api.key(tenant, "distributor")
    prod = api.product(name)  # a cover on it: none of it may show
    sid = prod["service_id"]
    quote = api.quote(prod["id"], api.anchored_assessment(tenant)["id"], relay)
    policy = api.ok(api.c.post("/v1/policies", json={
        "quote_id": quote["id"], "beneficiary": "0x" + keccak(text=f"holder of {name}")[:20].hex(),
        "holder_ref": f"status-holder-{name}"}, headers=relay), 201)
    secret = [policy["holder_ref"], policy["beneficiary"].lower(), policy["cover_page"].split("ref=")[1].lower(),
              policy["tx"].lower(), f"/cover/{policy['id']}"]
    page.goto(f"{web.url}/status/{sid}")
    expect(page.locator("#state")).to_contain_text("Operational")
    expect(page.locator("#no-outages")).to_be_visible()
    assert page.locator("svg.bars rect").count() == 90
    shot(page, tmp_path, "before")

    verified = outage(api, name, 2 * 3600, relay)
    page.goto(f"{web.url}/status/{sid}")
    section = page.locator("section.outage")
    expect(section).to_have_count(1)
    expect(section.locator(".duration")).to_contain_text("2 h 00 min")
    expect(section.locator(".badge")).to_contain_text("final")
    # The signers that backed it (the bitmap, named through the oracle config), tx and block.
    signers = [web.chain.w3.to_checksum_address(r["signer"]) for r in api.chain.reports(name, 1, 2)["reports"]]
    rows = section.locator("table.signers tbody tr")
    expect(rows).to_have_count(len(signers))
    titles = [rows.nth(i).locator("code").get_attribute("title") for i in range(len(signers))]
    assert sorted(titles) == sorted(signers)  # type: ignore[type-var]
    tx = section.locator("code[title^='0x']").first.get_attribute("title")
    assert tx and len(tx) == 66
    receipt = web.chain.w3.eth.get_transaction_receipt(tx)
    assert section.locator("td.num").first.inner_text() == f"{receipt['blockNumber']:,}"
    assert verified  # the relay answered
    # Today's bar carries the downtime.
    today = page.locator("svg.bars rect").last
    assert int(today.get_attribute("data-down") or 0) >= 2 * 3600 - 120 or \
        int(page.locator("svg.bars rect").nth(88).get_attribute("data-down") or 0) > 0
    # The index lists it, without any key; no policy or holder data on either page.
    shot(page, tmp_path, "outage")
    shown = page.content().lower()
    page.goto(f"{web.url}/status")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    shown += page.content().lower()
    assert [x for x in secret if x.lower() in shown] == []
    shot(page, tmp_path, "index")


def test_ongoing_outage_shows_running_duration_and_refreshes(web: Web, api: Api, page: Page, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status, "REFRESH_SECONDS", 2)  # the app runs in this process: 2 s, not 15, to keep it quick
    name, sid, relay = _service(api)
    start = api.chain.now() + 60
    api.chain.travel(60 + 1800)
    api.ok(api.c.post("/v1/oracle/reports", json=api.chain.reports(name, start, start + 1800, ongoing=True),
                      headers=relay))
    page.set_viewport_size(PHONE)
    page.goto(f"{web.url}/status/{name}")  # by name as well as by id
    expect(page.locator("#state")).to_contain_text("Outage ongoing")
    expect(page.locator("#state")).to_contain_text("running for")
    assert page.locator("body").get_attribute("data-refresh") == "2"
    expect(page.locator("section.outage .badge").first).to_contain_text("ongoing")
    # The page fits a phone's width (no horizontal scrolling of the page itself).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # It reloads itself: a navigation happens without the test asking.
    with page.expect_navigation(timeout=10_000):
        pass
    shot(page, tmp_path, "ongoing")


def test_unknown_service_is_a_404_page(web: Web, page: Page) -> None:
    # (fetched, not navigated to: the browser logs any 404 navigation as a console error)
    r = page.request.get(f"{web.url}/status/no-such-service")
    assert r.status == 404 and "Unknown service" in r.text()
