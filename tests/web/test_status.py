"""The public status pages: a verified outage appears after it is submitted, with its signers,
transaction, block and evidence links; an ongoing one shows its running duration and the page
refreshes itself; no key is needed and no policy or holder data is shown."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from eth_utils import keccak
from playwright.sync_api import Page, expect

from contracts import eip712
from service.web import status
from tests.service.helpers import Api, outage, unique_service
from tests.web.conftest import PHONE, Web, free_port, shot


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


class _Node(BaseHTTPRequestHandler):
    """An oracle node's GET /v1/reports on loopback: `reports` is what it answers."""

    reports: list[dict[str, Any]] = []
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        type(self).asked.append(self.path)
        body = json.dumps({"node": "0x" + "00" * 20, "reports": type(self).reports}).encode()
        self.send_response(200 if self.path.startswith("/v1/reports?") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_evidence_links_point_at_each_signers_node(web: Web, api: Api, page: Page, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Signer 1's node (a real loopback server) has the episode: its evidence bundle is linked;
    signer 2's node is down (a closed port): its reports URL is linked, marked unreachable."""
    name, sid, relay = _service(api)
    outage(api, name, 2 * 3600, relay)
    [verified] = web.chain.oracle.events.OutageVerified.get_logs(
        from_block=0, argument_filters={"serviceId": eip712.service_id(name)})
    start, end = verified["args"]["start"], verified["args"]["end"]
    signers = api.chain.reports(name, 1, 2)["reports"]
    first, second = (web.chain.w3.to_checksum_address(r["signer"]) for r in signers[:2])
    _Node.reports = [{"episode_id": f"{name}@{start}", "service_id": sid, "start": start, "end": end, "seq": 3,
                      "signer": first, "ongoing": False}]
    node = ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    threading.Thread(target=node.serve_forever, daemon=True).start()
    base, closed = f"http://127.0.0.1:{node.server_address[1]}", f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(web.app.state.settings, "oracle_nodes", {first: base, second: closed})
    try:
        page.goto(f"{web.url}/status/{sid}")
        rows = page.locator("section.outage table.signers tbody tr")
        good = rows.filter(has=page.locator(f"code[title='{first}']"))
        link = good.get_by_role("link", name="evidence bundle")
        assert link.get_attribute("href") == f"{base}/v1/evidence/{quote(name + '@' + str(start), safe='')}?seq=3"
        down = rows.filter(has=page.locator(f"code[title='{second}']"))
        expect(down).to_contain_text("unreachable")
        assert (down.get_by_role("link", name="node reports").get_attribute("href") or "").startswith(
            f"{closed}/v1/reports?service_id={sid}")
        assert _Node.asked and _Node.asked[-1].startswith(f"/v1/reports?service_id={sid}")
        shot(page, tmp_path, "evidence")
    finally:
        node.shutdown()
